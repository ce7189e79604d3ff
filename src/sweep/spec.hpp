#pragma once
/// Sweep specifications (`ecramsim sweep SPEC.toml`): what to run, over which axes, combined
/// how, and which metrics to collect. Parsing and every check that needs no command line are
/// here; errors are InputErrors naming the spec file and line ("spec.toml:12: axis 'model.p_upp':
/// unknown parameter ...").
///
/// Format (TOML):
///   [sweep]
///   command = "device gate-iv --points 61"   # subcommand path, then fixed arguments
///   args    = ["--v-max", "6"]               # more fixed arguments (optional)
///   mode    = "grid"                         # grid (default) | zip | random
///   samples = 32                             # random: number of points
///   seed    = 1                              # random: seed of the draws
///   metrics = ["rate_ratio_v2"]              # default: every metric of the point files
///   [[axis]]
///   name   = "model.v0"                      # model.<key> | param.<name> | option.<flag>
///   values = [0.1, 0.2]                      # or linspace/logspace = [start, stop, count]
///   # random mode also: uniform/loguniform = [lo, hi], normal = [mean, sigma],
///   # integers = [lo, hi] (inclusive); lists are then sampled uniformly
///   unit   = "V"                             # recorded in the index (model.*: the table's)
///   group  = "a"                             # grid: axes of one group advance together

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecramsim::sweep {

/// How an axis reaches the subcommand's command line.
enum class AxisKind {
  Model,   ///< model.<key>  -> --set key=value (key checked against the ecram parameter table)
  Param,   ///< param.<name> -> --param name=value (netlist .param)
  Option,  ///< option.<flag> -> --flag value (booleans: --flag present or absent)
};

/// How an axis's values arise.
enum class Distribution { List, Uniform, LogUniform, Normal, Integers };

/// How the axes combine into points.
enum class Mode {
  Grid,    ///< Cartesian product, first axis slowest; axes sharing a group advance together
  Zip,     ///< the i-th values of every axis together; all axes of equal length
  Random,  ///< `samples` points, each axis drawn independently from a seeded Rng
};

/// One value of an axis: the text put on the command line, and its number when it has one.
struct AxisValue {
  std::string text;
  std::optional<double> number;  ///< TOML numbers, booleans (1/0) and SPICE numbers ("100ms")
  bool flag = false;             ///< a boolean value of an option axis
  bool operator==(const AxisValue&) const = default;
};

struct Axis {
  std::string name;  ///< as written: "model.v0"
  AxisKind kind = AxisKind::Option;
  std::string key;   ///< the part after the dot: card key (lower case), param name or flag
  Distribution distribution = Distribution::List;
  std::vector<AxisValue> values;  ///< the list (Distribution::List)
  double a = 0.0, b = 0.0;        ///< distribution bounds, or mean and sigma (Normal)
  std::string unit;               ///< unit for the index ("" unknown)
  std::string group;              ///< grid only: zip group ("" none)
  int line = 0;                   ///< line of the [[axis]] header
  int valuesLine = 0;             ///< line of the values/distribution key
};

struct Spec {
  std::string file;                  ///< the spec's path as given (used in messages)
  std::string text;                  ///< the spec as read
  std::vector<std::string> command;  ///< subcommand path, e.g. {"device", "gate-iv"}
  std::vector<std::string> args;     ///< fixed arguments after the path, for every point
  int commandLine = 0;               ///< line of `command`
  int argsLine = 0;                  ///< line of `args` (or of `command` when absent)
  Mode mode = Mode::Grid;
  int modeLine = 0;
  std::size_t samples = 0;  ///< random mode: number of points
  std::uint64_t seed = 1;   ///< random mode: seed of the draws
  std::vector<std::string> metrics;  ///< metric names to collect; empty: every metric found
  int metricsLine = 0;
  std::vector<Axis> axes;
  int sweepLine = 0;  ///< line of the [sweep] header

  /// "file:line" location for errors.
  [[nodiscard]] std::string at(int line) const;
};

/// Largest number of points a spec may describe.
inline constexpr std::size_t kMaxPoints = 10'000'000;

/// Parses and checks a spec. `name` is used in messages. Throws InputError (file:line) for
/// malformed TOML, unknown keys, an unknown model parameter, an out-of-range model value, an
/// empty axis, zip axes of unequal length, a distribution outside random mode, and so on.
[[nodiscard]] Spec parseSpecText(std::string_view text, const std::string& name);
/// Reads and parses a spec file; throws InputError if it cannot be read.
[[nodiscard]] Spec parseSpecFile(const std::filesystem::path& path);

/// The option flags a sweep sets itself; an axis or fixed argument may not use them.
[[nodiscard]] bool isReservedFlag(std::string_view flag);

/// A number as the shortest text that reads back to the same double ("0.1", "1e-06", "41").
[[nodiscard]] std::string formatShortest(double value);

}  // namespace ecramsim::sweep

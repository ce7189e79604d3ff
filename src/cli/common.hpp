#pragma once
/// Shared pieces of the command-line layer: the only place that prints.

#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "array/geometry.hpp"
#include "array/write_solver.hpp"
#include "control/backend.hpp"
#include "core/progress.hpp"
#include "core/result.hpp"
#include "io/hdf5.hpp"

namespace ecramsim::cli {

/// Flags every subcommand has.
struct CommonFlags {
  bool json = false;   ///< print one JSON object on stdout
  bool quiet = false;  ///< no progress on stderr
};

/// Process-wide context filled by main.
struct Context {
  std::string commandLine;
};
Context& context();

/// Adds --json and --quiet.
void addCommonFlags(CLI::App& cmd, CommonFlags& flags);

/// Adds an option holding a physical quantity in SPICE syntax ("100ms", "5", "2.5u") with its
/// unit named in the help text.
CLI::Option* addQuantity(CLI::App& cmd, const std::string& name, double& target,
                         const std::string& unit, const std::string& help);
/// The same for a comma-separated list of quantities.
CLI::Option* addQuantityList(CLI::App& cmd, const std::string& name, std::vector<double>& target,
                             const std::string& unit, const std::string& help);

/// A whole number of at least `min`, in words ("must be at least 1 (got 0)") rather than
/// CLI11's range up to the largest double.
[[nodiscard]] CLI::Validator wholeNumberAtLeast(long long min);

/// The options of every subcommand that runs an array (program, vmm, train).
struct ArrayOptions {
  std::string engine = "nodal";
  double r_seg = 0.0;        ///< Ohm, segment of every line
  double r_drv = 0.0;        ///< Ohm, driver output resistance
  bool ideal_lines = false;  ///< zero line, driver and sense resistance
  std::string bias = "v2", unselected = "grounded";
  std::string write_solver = "fast";  ///< --write-solver: fast or exact (array/write_solver.hpp)
  std::string wiring = "source-rows";  ///< --wiring (control/backend.hpp Wiring)
  int threads = 0;  ///< --threads of the fast write solver (core/parallel.hpp); 0: every core
};

/// Adds --engine, --r-seg (alias --r-line), --r-drv, --ideal-lines and --wiring, defaults from
/// `defaults` (its row segment and driver); with `bias` also --bias, --unselected and
/// --write-solver, and with `threads` --threads.
void addArrayOptions(CLI::App& cmd, ArrayOptions& o, const CrossbarGeometry& defaults, bool bias,
                     bool threads = false);

/// Puts the options into `geo` (every line's segment r_seg, driver r_drv; --ideal-lines zeroes
/// lines, drivers and sense; the wiring). Throws InputError for a negative resistance.
void applyArrayOptions(const ArrayOptions& o, CrossbarGeometry& geo);

/// The write bias scheme of --bias, --unselected and --wiring.
[[nodiscard]] BiasScheme biasScheme(const ArrayOptions& o);

/// The write network solver of --write-solver.
[[nodiscard]] WriteSolverKind writeSolverKind(const ArrayOptions& o);

/// Progress on stderr: a line per update, at most a few per second, with the elapsed time and
/// the estimated time left in the stage; nothing when quiet.
class StderrProgress final : public Progress {
 public:
  explicit StderrProgress(bool quiet) : quiet_(quiet) {}
  void update(std::string_view stage, std::size_t done, std::size_t total) override;
  void note(std::string_view message) override;

 private:
  bool quiet_;
  double lastPrint_ = -1.0;
  std::string stage_;        ///< the stage last reported
  double stageStart_ = 0.0;  ///< s since the first report, when stage_ began
};

/// Writes a result file with this process's run information.
void writeResult(const ResultTree& tree, const std::filesystem::path& path, std::uint64_t seed);

/// Prints {"file": path, "metrics": {...}} on stdout.
void printJsonSummary(const std::filesystem::path& path, const ResultTree& tree);

/// Prints the metrics as aligned "name = value unit" lines on stdout.
void printMetrics(const ResultTree& tree);

/// Registration of each subcommand (one file each).
void addDeviceCommand(CLI::App& app);
void addModelCommand(CLI::App& app);
void addInspectCommand(CLI::App& app);
void addResultExportCommand(CLI::App& app);
void addPaperCommand(CLI::App& app);
void addProgramCommand(CLI::App& app);
void addSweepCommand(CLI::App& app);
void addRunCommand(CLI::App& app);
void addNetlistCommand(CLI::App& app);
void addTrainCommand(CLI::App& app);
void addVmmCommand(CLI::App& app);
void addFitCommand(CLI::App& app);

}  // namespace ecramsim::cli

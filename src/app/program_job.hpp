#pragma once
/// `ecramsim program`: write a target map into an array and report how well it landed.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "array/geometry.hpp"
#include "array/write_solver.hpp"
#include "control/program.hpp"
#include "core/progress.hpp"
#include "core/result.hpp"
#include "modelcard/modelcard.hpp"

namespace ecramsim::app {

/// Line and driver resistances of the shipped 10x10 array (assumed: W lines of a ~10 um pitch
/// passive array; the paper gives no values): 2 Ohm per segment, 20 Ohm drivers, ideal sense.
[[nodiscard]] CrossbarGeometry defaultGeometry(Eigen::Index rows, Eigen::Index cols);

struct ProgramJob {
  std::filesystem::path target;  ///< .pgm or .csv, normalized to [0, 1]
  ModelCard card;
  CrossbarGeometry geometry;     ///< rows/cols 0: taken from the target
  ProgramConfig config;
  double g_low = 0.0;            ///< S, window; 0 and 0: the card's [gmin, gmax]
  double g_high = 0.0;
  std::string engine = "nodal";  ///< "nodal" (array/NodalBackend) or "spice" (SpiceBackend)
  WriteSolverKind write_solver = WriteSolverKind::Fast;  ///< of the nodal engine
  int threads = 1;  ///< of the nodal engine's fast write solver (0: every core; core/parallel.hpp)
  /// pwm width compensation: "none", "lines" (widths planned on the ladder line model,
  /// control/compensation.hpp) or "nodal" (widths scaled on a nominal nodal model of the array).
  std::string compensate = "none";
  std::uint64_t seed = 1;
};

/// Runs the job: /maps (target, before, after, read, error, disturb, pulses), /pulses (log),
/// /metrics, /config. Throws InputError for bad targets or settings.
[[nodiscard]] ResultTree runProgramJob(const ProgramJob& job, Progress& progress);

/// The five shipped target patterns of Fig. 1d-e (data/patterns/<name>.pgm).
[[nodiscard]] const std::vector<std::string>& shippedPatterns();

/// A programming scheme of the paper's pattern runs, with its name and pulse order.
struct NamedScheme {
  const char* name;
  ProgramScheme scheme;
  PulseOrder order;
};
/// pwm (serial), count (row-parallel) and verify (serial), the pattern runs of the paper.
[[nodiscard]] const std::vector<NamedScheme>& patternSchemes();

/// The accuracy metrics of a programmed map, % of the window g_high - g_low.
void programMetrics(const ProgramResult& r, double g_low, double g_high, ResultTree& out);

}  // namespace ecramsim::app

#pragma once
/// The wirings of a passive three-terminal array side by side (control/backend.hpp Wiring), on
/// the shipped 10x10 array and default card: what `ecramsim paper` reports as wirings.h5 and
/// "wirings/" metrics.

#include <cstdint>
#include <string>

#include "core/progress.hpp"
#include "core/result.hpp"

namespace ecramsim::app {

struct WiringComparisonConfig {
  std::uint64_t seed = 1;
  std::string engine = "nodal";  ///< array engine: "nodal" or "spice"
};

/// For each wiring (source-rows, source-cols), unselected lines held:
///  - under V/2 and V/3, one 5 V / 100 ms pulse on cell (5, 5) of the 10x10 array with the
///    shipped lines (defaultGeometry), every cell of the nominal card (no variation) at x = 0.5:
///    the selected cell's step, the largest |step| of any other cell (half-select disturb), both
///    in % of the window, their ratio, and the energy the drivers delivered;
///  - the five shipped patterns programmed open loop under V/2 with the card's variation and the
///    shipped lines, as programPatterns in paper.cpp (pwm serial, count row-parallel): RMSE per
///    pattern, mean and largest over the five, % of the window;
///  - the paper's VMM job (10x10, 1000 random vectors): RMS error, % of full scale, or
///    vmm_refused = 1 when the wiring cannot read (its InputError text in /config).
/// Metrics "<wiring>/<name>"; no datasets beyond /config.
[[nodiscard]] ResultTree compareWirings(const WiringComparisonConfig& cfg, Progress& progress);

}  // namespace ecramsim::app

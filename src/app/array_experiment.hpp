#pragma once
/// The paper's array experiment, co-simulated with ngspice: one programming pulse on one cell of
/// the shipped 10x10 array (netlists/xbar10_program_v2.cir, _v3.cir) under the V/2 and the V/3
/// scheme, with the selected and half-selected cells' gate-channel voltages and states over
/// time, every cell's conductance change (disturb) and the channel (sneak) currents.

#include <cstdint>
#include <filesystem>

#include "core/progress.hpp"
#include "core/result.hpp"

namespace ecramsim::app {

struct ArrayExperimentConfig {
  std::uint64_t seed = 1;           ///< device-to-device variation of the 100 cells
  double state_reltol = 1e-3;       ///< co-simulation step bound
  std::filesystem::path netlistDir;  ///< empty: netlists/ under projectRoot()
  int row = 5;                      ///< the selected cell of the shipped netlists (0-based)
  int col = 5;
};

/// Runs both schemes. Groups /v2 and /v3 hold, per scheme: `time_s`; `traces/<which>/` with
/// `v_gs_v`, `v_gd_v`, `x`, `g_s` for which = selected, row (the same-row cell with the largest
/// |dG|), col (same column, largest |dG|), other (largest |dG| elsewhere); R x C maps `dg_s`,
/// `dx`, `i_ds_mid_a` (channel currents at mid-pulse: the sneak currents), `v_gs_mid_v`,
/// `v_gd_mid_v`; and the full cell waveforms `cell_i_ds_a` (points x cells, row-major cells).
/// Metrics per scheme: dg_selected_s, dg_row_max_s, dg_col_max_s, dg_other_max_s,
/// dg_half_max_s, selectivity, disturb_max_rel, sneak_current_max_a, points.
[[nodiscard]] ResultTree runArrayExperiment(const ArrayExperimentConfig& cfg, Progress& progress);

}  // namespace ecramsim::app

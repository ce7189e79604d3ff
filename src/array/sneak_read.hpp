#pragma once
/// Reading one cell of a passive array with a single selected source line and drain line: the
/// sneak-path read. Same network as CrossbarEngine (array/crossbar_engine.hpp: line, driver and
/// sense resistances, gates left out), with the unselected lines either held (driven at 0 V,
/// sensed at 0 V, what CrossbarEngine does) or floating (no driver). Solved by CrossbarEngine with
/// the unselected lines floating (ReadLines), on the fast line solver or the exact sparse
/// factorization, so any array size the memory allows.

#include <Eigen/Core>

#include "array/crossbar_engine.hpp"
#include "array/geometry.hpp"

namespace ecramsim {

/// Outcome of reading one cell.
struct [[nodiscard]] SneakRead {
  double current_a = 0.0;   ///< A, current into the selected drain line's sense node
  double g_read_s = 0.0;    ///< S, current_a / v_read
};

/// Reads cell (row, col) of an array of conductances `g_s` (S, R x C, finite and >= 0) with
/// `v_read` (V) on the selected source line. floating = false: every other source line is
/// driven at 0 V and every other drain line sensed at 0 V; floating = true: they have no
/// driver. Throws InputError for bad conductances, a cell outside the array or a wiring that
/// cannot read (naming --wiring),
/// SimulationError for a singular network.
[[nodiscard]] SneakRead readCellSneak(const CrossbarGeometry& geo, const Eigen::MatrixXd& g_s,
                                      Eigen::Index row, Eigen::Index col, double v_read,
                                      bool floating,
                                      ReadSolverKind solver = ReadSolverKind::Fast);

}  // namespace ecramsim

#pragma once
/// Terminal voltages of every cell in a write phase from the channel conductances alone, by
/// ladder sums along the lines (no solve of the nonlinear write network): the line part of the
/// reduced write model (array/reduced_write.hpp) and the controller's line model of
/// `--compensate lines` (control/compensation.hpp).
///
/// Grounded unselected lines, every line driven. Gate currents (nanoamperes against the
/// channels' microamperes) are left out, so gate lines sit at their driver levels; each
/// channel carries G (vd - vs) from drain to source.
///  - Wiring::SourceRows: the potentials of every source and drain node follow from the driver
///    levels (control/backend.hpp biasLevels) by explicit ladder sums of the channel currents
///    along each line (a line driven at one end: a node's potential is the driver's plus r_drv
///    times the line's total current plus, per segment, r_seg times the current beyond it),
///    iterated to a fixed point (each pass shrinks the error by about G R_line, under 0.1 at
///    128 x 128; stop when no node moves by more than kLinePotentialTol). O(R C) per pass.
///  - Wiring::SourceCols: each column's drain and source lines are driven to one potential, so
///    no channel carries current and every node sits at its driver level.

#include <Eigen/Core>
#include <memory>
#include <vector>

#include "array/geometry.hpp"
#include "control/backend.hpp"
#include "control/line_model.hpp"

namespace ecramsim {

/// V, the ladder sums stop when no node moved by more than this in a pass.
inline constexpr double kLinePotentialTol = 1e-6;

/// V, R x C: the drain and source node potentials of a grounded network whose drain line c is
/// driven at drain(c) (at row R - 1) and source line r at source(r) (at column 0), the lines
/// loaded by the channels of conductance g (S) alone: the ladder sums above, iterated to
/// `tol` (V) from vd and vs as given (when R x C; else from the driver levels).
/// SimulationError if they do not settle.
void settleLines(const CrossbarGeometry& geo, const Eigen::MatrixXd& g,
                 const Eigen::RowVectorXd& drain, const Eigen::VectorXd& source,
                 Eigen::MatrixXd& vd, Eigen::MatrixXd& vs, double tol = kLinePotentialTol);

/// Fills `t` (R x C each) with the terminals of a phase on `row` at `amplitude_v` under
/// `scheme`, the columns with active[c] driven as selected, channels at conductances `g` (S,
/// R x C); potentials already in `t` (R x C) are the starting point. InputError for floating
/// unselected lines or sizes that do not match `geo`; SimulationError if the sums do not settle.
void ladderPotentials(const CrossbarGeometry& geo, const Eigen::MatrixXd& g, Eigen::Index row,
                      double amplitude_v, const std::vector<bool>& active,
                      const BiasScheme& scheme, PhaseTerminals& t);

/// The controller's line model (control/line_model.hpp) of an array with geometry `geo`:
/// ladderPotentials. InputError on a bad geometry.
[[nodiscard]] std::unique_ptr<WriteLineModel> makeLadderLineModel(const CrossbarGeometry& geo);

}  // namespace ecramsim

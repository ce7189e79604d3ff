#pragma once
/// The reduced write model of a tile: row-parallel write phases without a solve of the nonlinear
/// write network (array/write_solver.hpp), for training on large tiles.
///
/// What the full circuit does in a grounded write phase (NodalBackend): every line is driven,
/// each cell's channel (linear, c3 = 0) carries G(x) (vd - vs) from drain to source, and the
/// gate branches carry nanoamperes (the ionic current of a selected cell, 24 nA at 5 V on the
/// default card) against microamperes in the channels. The line IR drop is therefore set by the
/// channels alone, and it is what moves a cell's rate away from its single-cell response: a
/// selected cell's gate current rises about exp(dv / v0) with its gate-to-drain voltage (v0 =
/// 0.25 V), and the drop on a 128-row drain line reaches about 0.1 V under V/2.
///
/// The reduced model keeps exactly that part of the network and drops the rest:
///  - Factors taken at refresh(): every cell's channel conductance G(x) at the states of the
///    refresh (the network's element values); between refreshes the line drops use them.
///  - Per phase (row r, active columns A, one width): the potentials of every source and drain
///    node from the driver levels (control/backend.hpp biasLevels) by explicit ladder sums of
///    the channel currents G (vd - vs) along each line (a line driven at one end: a node's
///    potential is the driver's plus r_drv times the line's total current plus, per segment,
///    r_seg times the current beyond it), iterated to a fixed point (each pass shrinks the error
///    by about G R_line, under 0.1 at 128 x 128; stop at 1 uV). O(R C) per pass, no matrix
///    (array/line_potentials.hpp, ladderPotentials).
///    Gate lines sit at their driver levels (their current is nA: < 1 mV of drop at 128).
///  - Each selected cell then advances by advanceHeld at those terminals with its own
///    (device-to-device) parameters and its state, and its change gets the card's
///    cycle-to-cycle noise (cycleNoise, one draw per pulsed cell in request order, as
///    CellArrayBackend closes a phase). Its effective pulse factor, the change relative to the
///    same cell's single-cell pulse at the ideal bias levels, is what the line drop sets; the
///    factor depends on the phase's active columns (they load the selected row's source line)
///    and on the states of the cell's column, so it is evaluated per phase, not frozen.
///  - Every other cell is disturbed by one explicit step of its rate at its terminals
///    (physics::stateRate), as the fast path of NodalBackend advances cells that move by less
///    than 1e-6 per segment; its gate current drops the electrolyte's series-resistance drop
///    when that is below 1e-6 v0 (a relative error of the same order), which spares the
///    implicit solve at each quadrature node.
///    Cells off the selected row and the active columns are left alone when the scheme holds
///    them at 0 V gate-to-channel (V/2) and the card has no retention (tau_ret = 0): they see
///    millivolts of line drop and move by less than 1e-11 per phase at 128 x 128
///    (tools/bench/reduced_write.sh), 1e-9 of a pulse's change.
///    Under V/3 they sit at -V/3 and are disturbed like the others.
/// What it leaves out: gate-line drops, the gate currents' share of the line currents, and the
/// change of the conductances within a phase and since the last refresh (the refresh interval
/// is the knob). Floating unselected lines need the transient of the double layers (see
/// nodal_backend.hpp) and are not reduced: InputError.
///
/// tests/train/test_reduced_write.cpp holds it to the full circuit on 32 x 32 every run, and
/// tools/bench/reduced_write.sh on 128 x 128: selected cells within 2 % of the circuit's state
/// change, disturbed cells within 10 %.

#include <Eigen/Core>
#include <memory>
#include <span>
#include <vector>

#include "array/geometry.hpp"
#include "control/backend.hpp"
#include "control/line_model.hpp"
#include "control/tile_write.hpp"
#include "core/checkpoint.hpp"
#include "core/rng.hpp"
#include "device/params.hpp"

namespace ecramsim {

/// InputError for a tile the reduced write models cannot take: a bad geometry, source lines
/// along the columns, not one parameter set per cell (row-major), or a nonlinear channel.
void checkReducedTile(const std::vector<CellParams>& cells, const CrossbarGeometry& geo);

/// InputError naming --write-model for floating unselected lines (the reduced models need the
/// lines driven).
void requireGroundedLines(const BiasScheme& scheme);

/// Outcome of ReducedWriteModel::apply.
struct ReducedWriteResult {
  double duration_s = 0.0;  ///< s, sum of the phases' longest widths
  double energy_j = 0.0;    ///< J, dissipated in channels, lines and drivers (= drawn by them)
  long long phases = 0;
};

class ReducedWriteModel {
 public:
  /// `cells`: the tile's cell parameters, row-major (R C of them, CellArrayBackend's); `geo`:
  /// its lines; `c2c`: the card's cycle-to-cycle sigma. Throws InputError on a bad geometry, a
  /// size mismatch or a nonlinear channel (c3 != 0).
  ReducedWriteModel(std::vector<CellParams> cells, const CrossbarGeometry& geo, double c2c);

  /// Takes the factors (channel conductances) at states `x` (R x C).
  void refresh(const Eigen::MatrixXd& x);
  [[nodiscard]] bool refreshed() const { return g_.size() > 0; }
  /// The factors (`prefix` + "g", empty before the first refresh), and back: InputError naming
  /// the key if the saved factors are not this tile's size.
  void save(Checkpoint& cp, const std::string& prefix) const { cp.put(prefix + "g", g_); }
  void restore(const Checkpoint& cp, const std::string& prefix);

  /// Applies `pulses` row-parallel (groupIntoPhases) under `scheme` to states `x` (R x C, in
  /// place), drawing the cycle-to-cycle noise from `rng`. InputError for a bad request, for
  /// floating unselected lines, or before the first refresh.
  ReducedWriteResult apply(std::span<const PulseRequest> pulses, const BiasScheme& scheme,
                           Eigen::MatrixXd& x, Rng& rng) const;

  /// The terminals (R x C each, V) of one phase: row `row` at amplitude `amplitude_v`, the
  /// columns with active(c) true driven as selected. For diagnostics and tests.
  using Potentials = PhaseTerminals;
  [[nodiscard]] Potentials phasePotentials(Eigen::Index row, double amplitude_v,
                                           const std::vector<bool>& active,
                                           const BiasScheme& scheme) const;

 private:
  [[nodiscard]] const CellParams& cell(Eigen::Index r, Eigen::Index c) const {
    return cells_[static_cast<std::size_t>(r * geo_.cols + c)];
  }

  std::vector<CellParams> cells_;
  std::vector<CellParams> cellsNoRs_;  ///< the same with rs = 0 (disturbIonicCurrent)
  CrossbarGeometry geo_;
  double c2c_;
  Eigen::MatrixXd g_;  ///< S, R x C, channel conductances at the last refresh
};

/// The reduced write model of a CellArrayBackend tile (its cells, lines and c2c sigma) as the
/// training loop uses it, drawing the cycle-to-cycle noise from `rng`. InputError if `tile` is
/// not a CellArrayBackend.
[[nodiscard]] std::unique_ptr<TileWriteModel> makeReducedTileWrites(const ArrayBackend& tile,
                                                                    Rng& rng);

}  // namespace ecramsim

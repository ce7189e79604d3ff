#pragma once
/// The pulse-factor write model of a tile (`--write-model factors`): row-parallel write phases
/// at the cost of the pulses themselves, for training networks whose tiles take tens of
/// thousands of write phases per batch (VGG-8, issue 14). It is the reduced write model
/// (array/reduced_write.hpp: line IR drop from the channels alone, gate lines at their driver
/// levels, grounded unselected lines) with its two per-phase costs taken out:
///  - Line potentials. The line network is linear in the driver levels, and in a phase only the
///    drain drivers of the active columns leave their unselected level (by dd = drain_selected -
///    drain_unselected; every source line sits at one level under V/2 and V/3). At refresh():
///    each column's own response to its drain drive (unit drive, the column alone: its drain
///    ladder and each cell's current through its row's source path), U and S (V per V). At
///    apply(), per amplitude: every column's activity phi_c (its share of the pulse time), and
///    one settle of the network driven at phi (the mean field: by linearity the average of the
///    phases' potentials). A cell's terminals in a phase are then the mean field plus its own
///    column's share (1 - phi_c or -phi_c times U and S), except on the phase's selected row,
///    whose source line is summed exactly over the phase's active columns (O(C) per phase).
///  - Gate currents. At refresh(), for each cell, amplitude and role (selected; half-selected
///    on an active column; half-selected on the selected row; idle, only where the idle cells
///    move: V/3 or retention), the gate ionic current at the role's reference terminals (the
///    column alone active, no other drop) and at +10 mV on either channel end: the current is
///    then modelled as exp-linear in the terminal shifts (linear where it changes sign, as the
///    V/3 half-selected cells' nearly cancelling currents do). The state enters through the
///    open-circuit potential, k_oc (x - x_ref), a shift of both ends, and through the window.
///  - State change. With the current so fixed over a pulse, dx/dt = I / q_c w(x) integrates in
///    closed form for the soft-bound window (x and 1 - x to the power p_dn, p_up), retention
///    added to first order. Selected cells advance pulse by pulse with their phase's source
///    drop and draw the card's cycle-to-cycle noise per phase (cycleNoise, request order, as
///    the reduced model); the selected row's other cells are disturbed per phase; the
///    half-selected cells of the active columns and the idle cells are disturbed once per
///    amplitude for their total time in that role, at the mean-field terminals. Disturbed
///    cells take one explicit step with their window at the refresh state (their change is a
///    thousandth of a pulse's, and their window moves by q dx / x between refreshes).
/// Energy: per phase, each active column's dissipation when it is driven alone (channels, drain
/// line and driver, its currents' source paths), from the conductances at refresh; the source
/// lines' cross terms between columns are left out (below 1 % of a dense phase at 128 x 128).
/// What else it leaves out beyond the reduced model: the spread of the source drops among the
/// phases (the half-selected cells see the mean), and the current's curvature beyond the
/// exp-linear model. tests/train/test_reduced_write.cpp holds it to the full circuit (per phase
/// and per whole update) on 32 x 32 every run, tools/bench/reduced_write.sh on 128 x 128.

#include <Eigen/Core>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "array/geometry.hpp"
#include "array/reduced_write.hpp"
#include "control/backend.hpp"
#include "control/tile_write.hpp"
#include "core/checkpoint.hpp"
#include "core/rng.hpp"
#include "device/params.hpp"

namespace ecramsim {

class FactorWriteModel {
 public:
  /// As ReducedWriteModel: the tile's cells (row-major), its lines, the c2c sigma. InputError on
  /// a bad geometry, a size mismatch or a nonlinear channel. `share`: false fits every cell's
  /// currents at its own reference (the slower reference path of the shared factors).
  FactorWriteModel(std::vector<CellParams> cells, const CrossbarGeometry& geo, double c2c,
                   bool share = true);

  /// Takes the factors at states `x` (R x C): conductances and the columns' responses now, the
  /// gate-current factors of an amplitude at its first apply() after this.
  void refresh(const Eigen::MatrixXd& x);
  [[nodiscard]] bool refreshed() const { return g_.size() > 0; }
  /// What the model holds: the states of the last refresh (`prefix` + "x_refresh", empty before
  /// the first) and each amplitude's last mean field, the warm start of its next settle
  /// (`prefix` + "warm_start": amplitude, then drain and source potentials, R C each, per
  /// amplitude). restore() refreshes at the saved states and hands each amplitude its warm start
  /// when its factors are next built: the next apply() gives the bits it would have given.
  /// InputError naming the key if the saved state is not this tile's.
  void save(Checkpoint& cp, const std::string& prefix) const;
  void restore(const Checkpoint& cp, const std::string& prefix);

  /// Applies `pulses` row-parallel under `scheme` to the states `x` (R x C, in place), drawing
  /// the cycle-to-cycle noise from `rng`. InputError for a bad request, floating unselected
  /// lines, or before the first refresh.
  ReducedWriteResult apply(std::span<const PulseRequest> pulses, const BiasScheme& scheme,
                           Eigen::MatrixXd& x, Rng& rng);

  /// A gate ionic current around reference terminals: i0 exp(ks dus + kd dud) (exp-linear) or
  /// i0 + ks dus + kd dud (linear), dus and dud the shifts of the gate-to-channel voltages at the
  /// source and drain ends (V).
  struct Current {
    double i0 = 0.0, ks = 0.0, kd = 0.0;
    bool exponential = false;
    [[nodiscard]] double at(double dus, double dud) const;
  };
 private:
  /// The roles a cell plays in an amplitude's phases.
  enum Role { kSelected = 0, kColumn, kRow, kIdle, kRoles };
  /// The factors of one amplitude, per role. Shared (the usual case: the cells' gate parameters
  /// differ in i0 alone, as the card's d2d spreads do, and the role's current keeps its sign
  /// near the reference): one current at a common reference (the mean column response, the mean
  /// refresh state), scaled by each cell's i0 and shifted by its own offsets from that
  /// reference. Otherwise (a nearly cancelling current, as the V/3 half-selected cells carry, or
  /// cells that differ in more than i0) one current per cell at its own reference (row-major).
  struct Factors {
    double amplitude_v = 0.0;
    BiasLevels lv;
    bool idle_moves = false;  ///< idle cells move (V/3 or retention)
    bool shared[kRoles] = {false, false, false, false};
    double unit_vd = 1.0, unit_vs = 0.0, x = 0.5;  ///< the shared reference
    std::vector<Current> current[kRoles];
    Eigen::VectorXd column_power;  ///< W per V^2 of drain drive, each column driven alone
    Eigen::MatrixXd mean_vd, mean_vs;  ///< V: the last update's mean field (a warm start)
  };
  /// A, the gate ionic current of cell (r, c) in `role` at state x, its terminals shifted by
  /// dvd and dvs (V) from the role's reference with its column alone driven.
  [[nodiscard]] double ionic(const Factors& f, Role role, Eigen::Index r, Eigen::Index c,
                             double dvd, double dvs, double x) const;
  Factors& factors(double amplitude_v, const BiasScheme& scheme);
  [[nodiscard]] const CellParams& cell(Eigen::Index r, Eigen::Index c) const {
    return cells_[static_cast<std::size_t>(r * geo_.cols + c)];
  }
  [[nodiscard]] double pathResistance(Eigen::Index c) const {
    return geo_.r_drv + double(c) * geo_.r_row_seg;
  }

  std::vector<CellParams> cells_;
  CrossbarGeometry geo_;
  double c2c_;
  bool share_;
  Eigen::MatrixXd xref_;  ///< states at the last refresh
  Eigen::MatrixXd g_;     ///< S, conductances at the last refresh
  Eigen::MatrixXd unitVd_, unitVs_;  ///< V/V: U and S, each column driven alone
  Eigen::MatrixXd unitJ_;            ///< A/V: the channel current of that drive
  Eigen::MatrixXd windowUp_, windowDown_;  ///< 1: soft-bound windows at the refresh states
  Eigen::MatrixXd i0Scale_, kOc_, invQc_;  ///< per cell: i0 / the first cell's, k_oc, 1 / q_c
  bool retention_ = false;                 ///< any cell with tau_ret > 0
  std::vector<Factors> factors_;
  /// Restored mean fields (amplitude, drain, source) not yet handed to their amplitude's factors.
  std::vector<std::tuple<double, Eigen::MatrixXd, Eigen::MatrixXd>> warmStarts_;
};

/// The pulse-factor write model of a CellArrayBackend tile, as the training loop uses it.
/// InputError if `tile` is not a CellArrayBackend.
[[nodiscard]] std::unique_ptr<TileWriteModel> makeFactorTileWrites(const ArrayBackend& tile,
                                                                   Rng& rng);

}  // namespace ecramsim

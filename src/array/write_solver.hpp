#pragma once
/// The crossbar write network: gate, source and drain lines with their segment and driver
/// resistances, and per cell three nonlinear branches taken from device/physics.hpp:
///  - the channel, drain to source: physics::channelCurrent (cubic term included);
///  - the gate, a three-terminal element (gateBranchCurrents): the distributed gate's Faradaic
///    current physics::gateCurrent, returned to the source and the drain end as it splits along
///    the channel, plus half of the leakage physics::leakageCurrent at each end's own
///    gate-to-channel voltage; its total is gateIonicCurrent + leakageCurrent of the cell
///    exactly as the single-cell engines see it. Its Jacobian is symmetric (the split is the
///    gradient of one potential), so it stamps as three conductances: gate-source, gate-drain
///    and drain-source.
/// The DC operating point is solved by Newton on all unknown line potentials; branch
/// derivatives come from evaluating the same templated physics with a first-order dual number
/// (boost::math::differentiation), not from a second hand-written formula.
///
/// Quasi-static: the double-layer capacitance c_dl (pF) charged through line and driver
/// resistance (kOhm at most) settles in nanoseconds to microseconds, far below 100 ms pulses, so
/// each pulse is one DC operating point held for its width. Floating lines: a line without a
/// driver is connected to the rest only through cell branches; every cell has a finite leakage
/// resistance (r_leak, validated finite) and a channel conductance >= gmin > 0, so the matrix
/// stays non-singular and no artificial conductance to ground is added. The DC potential of a
/// floating gate line is set by the leakage balance; because leakage and double layer are both
/// split equally between the channel ends, it equals the capacitive-divider potential right
/// after the pulse edge for identical cells (ionic currents aside). Not aside when the
/// Faradaic currents are comparable to the leakage and c_dl r_leak is much longer than a pulse
/// (the default card: 2.5 s against 100 ms): the line then stays near its capacitive-divider
/// potential through the pulse, and the DC balance misplaces it. A DoubleLayerStep therefore
/// turns the double layers into backward-Euler companions, and NodalBackend steps floating
/// writes through time with it (nodal_backend.hpp); tools/bench/floating_transient.sh compares
/// both engines.

#include <Eigen/Core>
#include <memory>
#include <span>
#include <vector>

#include "array/geometry.hpp"
#include "device/params.hpp"
#include "device/physics.hpp"

namespace ecramsim {

/// Driver potentials of every line during one write segment. Source lines are always driven;
/// gate and drain lines may float (driven = false: their potential entries are ignored).
struct LineDrive {
  Eigen::VectorXd gate_v;          ///< R, V
  Eigen::VectorXd source_v;        ///< geo.sourceLines() (R or C), V
  Eigen::VectorXd drain_v;         ///< C, V
  std::vector<bool> gate_driven;   ///< R
  std::vector<bool> drain_driven;  ///< C
};

/// One backward-Euler step of the double layers: each cell's two halves c_dl/2 (gate to source
/// end, gate to drain end) become a conductance c_dl/(2 h) with the history of the previous
/// step's voltages. With it, solve() gives the network h seconds after that step instead of
/// its DC operating point; a floating gate line then holds its charge (see the header).
struct DoubleLayerStep {
  double h_s = 0.0;          ///< s, step length (> 0)
  Eigen::MatrixXd vgs_prev;  ///< R x C, V, gate minus source of every cell at the previous step
  Eigen::MatrixXd vgd_prev;  ///< R x C, V, gate minus drain
};

/// How WriteSolver solves a network (both reach the same operating point; see WriteSolver).
enum class WriteSolverKind { Exact, Fast };

/// The DC operating point of the write network.
struct [[nodiscard]] WriteOperatingPoint {
  Eigen::MatrixXd vg, vd, vs;      ///< R x C, V: every cell's terminal potentials
  Eigen::MatrixXd ionic_a;         ///< R x C, A: every cell's ionic (Faradaic) gate current,
                                   ///< physics::gateCurrentAt(...).total() at its terminals
  Eigen::MatrixXd ionic_dx_a;      ///< R x C, A per unit state: d ionic_a / dx at the held
                                   ///< terminals (fast solver's relaxation; else empty)
  Eigen::MatrixXd cell_power_w;    ///< R x C, W: dissipated in each cell's branches (the
                                   ///< double layers of a DoubleLayerStep not counted)
  double driver_power_w = 0.0;     ///< W, delivered by all drivers (lines included)
  int newton_iterations = 0;        ///< residual evaluations
  int jacobian_factorizations = 0;  ///< of which with a fresh Jacobian
};

/// A, the gate leakage of a cell with leakage resistance `r_leak`, half into each channel end.
template <typename T>
physics::GateSplit<T> gateLeakage(double r_leak, const T& vgs, const T& vgd) {
  const T zero = 0.0 * vgs;
  return {0.5 * physics::leakageCurrent(r_leak, vgs, zero, zero),
          0.5 * physics::leakageCurrent(r_leak, vgd, zero, zero)};
}
template <typename T>
physics::GateSplit<T> gateLeakage(const CellParams& p, const T& vgs, const T& vgd) {
  return gateLeakage(p.r_leak, vgs, vgd);
}

/// A, currents from the gate into the source end and into the drain end of a cell with
/// gate-to-source voltage `vgs` and gate-to-drain voltage `vgd` (see the header comment).
template <typename T>
physics::GateSplit<T> gateBranchCurrents(const CellParams& p, const T& vgs, const T& vgd,
                                         const T& x) {
  physics::GateSplit<T> out = physics::gateCurrentAt(p, vgs, vgd, x);
  const physics::GateSplit<T> leak = gateLeakage(p, vgs, vgd);
  out.source += leak.source;
  out.drain += leak.drain;
  return out;
}

/// W, dissipated in a cell's gate (Faradaic and leakage) at vgs, vgd and state x.
inline double gatePower(const CellParams& p, double vgs, double vgd, double x) {
  const physics::GateSplit<double> i = gateBranchCurrents(p, vgs, vgd, x);
  return i.source * vgs + i.drain * vgd;
}

/// Exact: every solve starts from 0 V and runs Newton on fresh Jacobians with every branch
/// evaluated at every iterate, to a step of 1e-13 of the largest potential; the reference.
/// Fast: what the physics allows when consecutive solves differ a little (the segments and
/// phases of a write). A solve starts from the previous solution and stops at a step of 1e-8 of
/// the largest potential (tens of nanovolts). In the relaxation below, the start is moved by
/// the last measured response of each driver that changed (a segment releases a drain line;
/// the same line was released in the previous phase): fewer sweeps, the same tolerance
/// (tests/program/test_write_solver.cpp counts them). When every line is driven, every line node is
/// its own unknown on a chain of segments (no ideal wires), the channels are linear (c3 = 0)
/// and no double-layer step is given, the network is solved by relaxation:
///  - the gate currents (nanoamperes at most) are orders of magnitude below the channel
///    currents, so they enter as injections taken from the latest potentials, and the network
///    left is linear: source lines, drain lines and gate lines, each a chain (tridiagonal)
///    coupled to the others only through the microsiemens channels. Block Gauss-Seidel over the
///    three families (drain lines first, where a segment's new drive is), each chain solved
///    exactly (Thomas; four chains of a family interleaved), contracts by about
///    (N G_channel R_line)^2 per sweep (1e-2 at N = 128 on the shipped lines); it stops when a
///    sweep's change, or the next one's by the contraction of the last two, is within the
///    tolerance: about 2 sweeps per segment. A chain's factorization is kept across solves until
///    a channel on it moves by 1e-3 of its node's diagonal (the difference rides on the
///    right-hand side) or its driver switches. A gate line carries no channel, only gate
///    currents: a sweep solves it again only when its injections have moved, since its last
///    solve, by a sum that could move one of its potentials by a tenth of the tolerance (most
///    gate lines of a phase are then not solved; the predictor leaves their potentials alone).
///  - lazy gates: each cell's gate split is kept linearized about its last evaluation (with its
///    exact partials, from the same quadrature) and
///    evaluated again only when the move since then could make the linearization err by more
///    than a tolerance, from a bound of the sinh's curvature (write_solver.cpp lazyGate): in the
///    sweeps by so little that no potential moves by a tenth of the tolerance; in the operating
///    point returned (ionic_a) by 1e-9 q_c / hold_s, so a state held for hold_s errs by at most
///    1e-9. Most cells of a phase (the half-selected ones) are then not evaluated at all.
/// The relaxation's loops over cells and chains, and the operating point's pass over the
/// cells, run on several threads on large arrays (the constructor's `threads`;
/// core/parallel.hpp): a cell's gate, a chain's solve and the maxima that stop the sweeps are
/// the same whatever the threads, so the operating point is too.
/// Otherwise the factorized Jacobian is kept across solves and refreshed only when a chord step
/// shrinks by less than half, every gate element evaluated at every iterate; a network with a
/// floating line (held by gigaohm branches alone, and stepped through double-layer steps of very
/// different conductance) takes the exact path under Fast too.
class WriteSolver {
 public:
  /// Throws InputError for a bad geometry. `threads`: of the fast solver's loops on arrays of
  /// kMinParallelCells and more (core/parallel.hpp; 0: every core); the results do not depend
  /// on it.
  explicit WriteSolver(const CrossbarGeometry& geo, WriteSolverKind kind = WriteSolverKind::Exact,
                       int threads = 1);
  ~WriteSolver();
  WriteSolver(WriteSolver&&) noexcept;
  WriteSolver& operator=(WriteSolver&&) noexcept;
  WriteSolver(const WriteSolver&) = delete;
  WriteSolver& operator=(const WriteSolver&) = delete;

  /// Operating point for cells `cells` (R C, row-major) at states `x` (R x C) under `drive`;
  /// with `step`, the network at the end of that backward-Euler step of the double layers.
  /// Throws SimulationError if Newton does not converge.
  /// `hold_s` (s, > 0; 0 = unknown, taken as 1 s): how long the operating point is held, which
  /// sets the fast solver's gate-current tolerance (see the class comment).
  [[nodiscard]] WriteOperatingPoint solve(std::span<const CellParams> cells,
                                          const Eigen::MatrixXd& x, const LineDrive& drive,
                                          const DoubleLayerStep* step = nullptr,
                                          double hold_s = 0.0);

 private:
  struct Prepared;
  CrossbarGeometry geo_;
  WriteSolverKind kind_;
  int threads_;
  std::unique_ptr<Prepared> prepared_;  ///< network of the last floating pattern, reused
};

}  // namespace ecramsim

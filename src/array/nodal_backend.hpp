#pragma once
/// ArrayBackend on the nodal engine: reads and VMMs through CrossbarEngine (linear read
/// network), writes through WriteSolver (nonlinear write network) followed by the single-cell
/// state integration advanceHeld for every cell of the array, so half-selected disturb is
/// computed, not assumed. The array's wiring (geometry.hpp, control/backend.hpp Wiring) sets
/// which line each cell's source sits on; an array that cannot be read (Wiring::SourceCols)
/// refuses reads and VMMs with an InputError naming --wiring.
///
/// A write phase is one pulse (serial) or all pulses of one row with one amplitude (row
/// parallel; a cell at most once per phase, further pulses open a new phase). Within a phase
/// every column is released at the end of its own width, so the phase is split at each width
/// into segments; each segment is one DC operating point (quasi-static, see write_solver.hpp)
/// held while every cell advances with advanceHeld. Cycle-to-cycle noise closes the phase
/// (array/cell_array.hpp).
///
/// With floating lines a segment is not one operating point: a floating gate line holds its
/// charge through the double layers (c_dl r_leak = 2.5 s on the default card, against 100 ms
/// pulses), so each segment starts from rest (every driver at 0 V), passes the driver edge
/// (NodalOptions::edge_s, states frozen) and then runs backward-Euler steps of the double
/// layers (write_solver.hpp DoubleLayerStep) from kFirstStep, growing by kGrowth, to its end;
/// the cells advance over each step at its voltages. This is what the ngspice transient of
/// SpiceBackend does (every run starts from its operating point at 0 V), and the two agree
/// (tests/spicebackend, tools/bench/floating_transient.sh). The energy of such a segment is the
/// drivers' power over the steps (the double layers' charging included).
///
/// Energy: per cell, branch power at the operating point times the segment duration plus the
/// double-layer charging c_dl (u - u_prev) u when positive (u = gate minus mean channel
/// potential, starting from 0 at each phase), as in device/bench.cpp; the batch total is the
/// power delivered by all drivers (lines included) plus the charging of every cell.
/// Time: a phase lasts its longest width; each read input vector costs NodalOptions::read_time_s.
/// Idle time between pulses (retention) is not simulated.

#include <Eigen/Core>
#include <optional>
#include <vector>

#include "array/cell_array.hpp"
#include "array/crossbar_engine.hpp"
#include "array/geometry.hpp"
#include "array/write_solver.hpp"
#include "control/backend.hpp"
#include "core/rng.hpp"
#include "device/integrate.hpp"
#include "device/params.hpp"

namespace ecramsim {

struct NodalOptions {
  Tolerances tol;             ///< state integration tolerances (advanceHeld)
  double read_time_s = 1e-6;  ///< s, array time per read input vector (an assumption)
  double edge_s = 1e-6;       ///< s, driver edge of a write with floating lines (as SpiceOptions)
  /// Write network solver (write_solver.hpp). Fast also advances a cell whose state moves by at
  /// most kSmallStep over a segment by one explicit step of its rate at the operating point, one
  /// that moves further by a second-order Taylor step when that is within kTaylorTol, instead
  /// of the adaptive integration advanceHeld (the exact path for every cell), and integrates
  /// the others with advanceHeld at kFastTol.
  WriteSolverKind write_solver = WriteSolverKind::Fast;
  /// Read network solver (array/crossbar_engine.hpp).
  ReadSolverKind read_solver = ReadSolverKind::Fast;
  /// Threads of the fast write solver's loops and of the cells' advance on arrays of
  /// kMinParallelCells and more (core/parallel.hpp; 0: every core). 1 by default: callers that
  /// run their own threads (training tiles) stay serial inside. The results do not depend on it.
  int threads = 1;
};

class NodalBackend final : public CellArrayBackend {
 public:
  /// Cells and variation as array/cell_array.hpp says. Throws InputError for a bad geometry or
  /// when p.c3 != 0 (the read network is linear).
  NodalBackend(const EcramParams& p, const CrossbarGeometry& geo, Rng& rng,
               const NodalOptions& options = {});

  [[nodiscard]] Eigen::MatrixXd readConductances(double read_v) override;
  [[nodiscard]] Eigen::MatrixXd vmm(const Eigen::MatrixXd& inputs_v) override;
  PulseBatchResult applyPulses(std::span<const PulseRequest> pulses, const BiasScheme& scheme,
                               PulseOrder order) override;

  /// The last write operating point solved (empty before the first pulse), for diagnostics.
  [[nodiscard]] const WriteOperatingPoint& lastOperatingPoint() const { return lastOp_; }

 private:
  /// Reads K vectors through the array, charging time and energy.
  ReadResult read(const Eigen::MatrixXd& inputs_v);
  void statesChanged() override { engineStale_ = true; }
  /// One write segment with floating lines, `duration_s` long: from rest through the edge and
  /// backward-Euler steps of the double layers, so a floating gate line keeps its charge (see
  /// the file comment). `first`: log the selected cells' voltages after the first step.
  void floatingSegment(const LineDrive& drive, double duration_s, bool first,
                       std::vector<PulseLog>& logs, PulseBatchResult& out);
  static void logVoltages(const WriteOperatingPoint& op, std::vector<PulseLog>& logs);
  /// Advances cell (r, c), row-major index k, over `dt_s` at the terminals of `op` (see
  /// NodalOptions::write_solver).
  void advanceCell(const WriteOperatingPoint& op, Eigen::Index k, Eigen::Index r, Eigen::Index c,
                   double dt_s);
  /// 1, the window of cell k at state x (physics::window), in the fast path's small steps: from
  /// the cell's last evaluation, moved along its slope, while x is within kWindowBand of that
  /// state relative to the nearer bound, else evaluated there again. The linear step errs by
  /// about p (1 - p) kWindowBand^2 / 2 of the window (4.5e-10 at p = 0.1), 1e-15 of a small
  /// step: nothing next to the step's own error (kSmallStep); most cells then skip a pow().
  double smallStepWindow(Eigen::Index k, const CellParams& p, double x, bool potentiating);

  /// 1, largest state change of one explicit step in the fast path: its error, about
  /// kSmallStep^2 times the relative slope of the rate in x (< 1 on the shipped card), is
  /// below 1e-12 per segment.
  static constexpr double kSmallStep = 1e-6;
  /// 1, largest error of a second-order Taylor step in the fast path (with the ionic current's
  /// x derivative of the fast solver): a cell that moves more, or whose rate changes by more
  /// than a tenth over the segment, is integrated with advanceHeld.
  static constexpr double kTaylorTol = 1e-9;
  /// 1, the state step of the rate's difference quotient.
  static constexpr double kRateStep = 1e-7;
  /// 1, see smallStepWindow().
  static constexpr double kWindowBand = 1e-4;
  /// Tolerances of advanceHeld in the fast path: 1e-6 of a segment's state change, well below
  /// the 2e-4 (0.02 % of the window) the fast path is held to against the exact one; the first
  /// trial step is the whole segment (the rate is smooth and moves little within one).
  static constexpr Tolerances kFastTol{1e-10, 1e-6, 1.0};

  static constexpr double kFirstStep = 1e-5;  ///< s, first step after the edge
  static constexpr double kGrowth = 3.0;      ///< step growth factor

  NodalOptions options_;
  std::optional<CrossbarEngine> engine_;  ///< the read network; none when the wiring cannot read
  WriteSolver writer_;
  bool engineStale_ = true;
  WriteOperatingPoint lastOp_;
  /// Per cell (row-major): the state, direction, window and slope of its last window
  /// evaluation (smallStepWindow); x < 0: none yet.
  struct WindowMemo {
    double x = -1.0, w = 0.0, slope = 0.0;
    bool potentiating = false;
  };
  std::vector<WindowMemo> windows_;
};

}  // namespace ecramsim

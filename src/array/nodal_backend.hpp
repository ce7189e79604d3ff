#pragma once
/// ArrayBackend on the nodal engine: reads and VMMs through CrossbarEngine (linear read
/// network), writes through WriteSolver (nonlinear write network) followed by the single-cell
/// state integration advanceHeld for every cell of the array, so half-selected disturb is
/// computed, not assumed.
///
/// A write phase is one pulse (serial) or all pulses of one row with one amplitude (row
/// parallel; a cell at most once per phase, further pulses open a new phase). Within a phase
/// every column is released at the end of its own width, so the phase is split at each width
/// into segments; each segment is one DC operating point (quasi-static, see write_solver.hpp)
/// held while every cell advances with advanceHeld. Cycle-to-cycle noise closes the phase
/// (array/cell_array.hpp).
///
/// Energy: per cell, branch power at the operating point times the segment duration plus the
/// double-layer charging c_dl (u - u_prev) u when positive (u = gate minus mean channel
/// potential, starting from 0 at each phase), as in device/bench.cpp; the batch total is the
/// power delivered by all drivers (lines included) plus the charging of every cell.
/// Time: a phase lasts its longest width; each read input vector costs NodalOptions::read_time_s.
/// Idle time between pulses (retention) is not simulated.

#include <Eigen/Core>
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

  NodalOptions options_;
  CrossbarEngine engine_;
  WriteSolver writer_;
  bool engineStale_ = true;
  WriteOperatingPoint lastOp_;
};

}  // namespace ecramsim

#pragma once
/// What NodalBackend and SpiceBackend share: the array's cells and their bookkeeping. Every
/// cell draws its device-to-device variation from the Rng in the constructor (drawVariation,
/// row-major order), so the same seed gives the same devices on either engine; the Rng then
/// supplies the cycle-to-cycle noise and must outlive the backend. States start at p.x0.
///
/// A write phase closes the same way on both engines: each pulsed cell's state change is
/// multiplied by (1 + dg_c2c N(0,1)) and clamped to [0, 1], one normal draw per pulsed cell in
/// request order and none when dg_c2c = 0 (cycleNoise, as device/bench.cpp does for one cell);
/// unselected cells get no cycle-to-cycle noise, their change is the disturb. A phase lasts its
/// longest width.

#include <Eigen/Core>
#include <span>
#include <vector>

#include "array/geometry.hpp"
#include "control/backend.hpp"
#include "core/rng.hpp"
#include "device/params.hpp"

namespace ecramsim {

class CellArrayBackend : public ArrayBackend {
 public:
  [[nodiscard]] Eigen::Index rows() const final { return geo_.rows; }
  [[nodiscard]] Eigen::Index cols() const final { return geo_.cols; }
  [[nodiscard]] Eigen::MatrixXd probeConductances() const final;
  [[nodiscard]] Eigen::MatrixXd states() const final { return x_; }
  void setStates(const Eigen::MatrixXd& x) final;
  [[nodiscard]] BackendCounters counters() const final { return counters_; }

  /// The parameters of cell (r, c) after its variation.
  [[nodiscard]] const CellParams& cell(Eigen::Index r, Eigen::Index c) const;
  /// The cells' parameters, row-major.
  [[nodiscard]] const std::vector<CellParams>& cellParameters() const { return cells_; }
  [[nodiscard]] const CrossbarGeometry& geometry() const { return geo_; }
  /// 1, the card's cycle-to-cycle sigma of a pulse's state change (closePhase applies it).
  [[nodiscard]] double cycleToCycleSigma() const { return c2c_; }

 protected:
  /// `geo` as the engine accepted it (checked by the caller); draws the cells from `rng`.
  CellArrayBackend(const EcramParams& p, const CrossbarGeometry& geo, Rng& rng);

  /// The states changed (setStates or a write): caches built on them are stale.
  virtual void statesChanged() = 0;

  /// Checks a batch of pulses (validatePulses) and the scheme (written for this array's
  /// wiring; InputError naming --wiring otherwise) and starts its result: cell energies at zero.
  [[nodiscard]] PulseBatchResult beginBatch(std::span<const PulseRequest> pulses,
                                            const BiasScheme& scheme) const;
  /// V, the level of every source line (geo_.sourceLines()) in a segment of a phase on `row`
  /// whose driven columns are `active`: the selected source line is the row's (SourceRows) or
  /// an active column's (SourceCols).
  [[nodiscard]] Eigen::VectorXd sourceLevels(const BiasLevels& lv, Eigen::Index row,
                                             const std::vector<bool>& active) const;
  /// s, the distinct widths of phase `ph`, ascending: where its columns are released.
  [[nodiscard]] static std::vector<double> phaseWidths(std::span<const PulseRequest> pulses,
                                                       const WritePhase& ph);
  /// The log entries of phase `ph` before it runs: start time, state before, and in energy_j
  /// the cell's energy so far in `out` (closePhase turns it into the phase's share).
  [[nodiscard]] std::vector<PulseLog> openPhase(std::span<const PulseRequest> pulses,
                                                const WritePhase& ph,
                                                const PulseBatchResult& out) const;
  /// After phase `ph` ran from states `x0`: cycle-to-cycle noise on the pulsed cells, their
  /// states after and energies in the logs, `duration_s` charged to the counters and `out`.
  void closePhase(std::vector<PulseLog>& logs, const Eigen::MatrixXd& x0, double duration_s,
                  PulseBatchResult& out);
  /// After the batch that started from `xStart`: pulse and energy counters, delta_x.
  void closeBatch(std::size_t pulses, const Eigen::MatrixXd& xStart, PulseBatchResult& out);

  CrossbarGeometry geo_;
  double c2c_;
  Rng& rng_;
  std::vector<CellParams> cells_;  ///< row-major
  Eigen::MatrixXd x_;
  BackendCounters counters_;
};

}  // namespace ecramsim

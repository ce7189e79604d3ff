#include "array/cell_array.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "device/physics.hpp"

namespace ecramsim {

using Index = Eigen::Index;

CellArrayBackend::CellArrayBackend(const EcramParams& p, const CrossbarGeometry& geo, Rng& rng)
    : geo_(geo), c2c_(p.dg_c2c), rng_(rng), x_(Eigen::MatrixXd::Constant(geo.rows, geo.cols, p.x0)) {
  cells_.reserve(static_cast<std::size_t>(geo_.cells()));
  for (Index k = 0; k < geo_.cells(); ++k) cells_.push_back(cellParams(p, drawVariation(p, rng_)));
}

const CellParams& CellArrayBackend::cell(Index r, Index c) const {
  return cells_[static_cast<std::size_t>(r * geo_.cols + c)];
}

Eigen::MatrixXd CellArrayBackend::probeConductances() const {
  Eigen::MatrixXd g(geo_.rows, geo_.cols);
  for (Index r = 0; r < geo_.rows; ++r) {
    for (Index c = 0; c < geo_.cols; ++c) g(r, c) = physics::conductance(cell(r, c), x_(r, c));
  }
  return g;
}

void CellArrayBackend::setStates(const Eigen::MatrixXd& x) {
  validateStates(x, geo_.rows, geo_.cols);
  x_ = x;
  statesChanged();
}

PulseBatchResult CellArrayBackend::beginBatch(std::span<const PulseRequest> pulses,
                                              const BiasScheme& scheme) const {
  validatePulses(pulses, geo_.rows, geo_.cols);
  if (scheme.wiring != geo_.wiring) {
    throw InputError({}, "--wiring",
                     "the write scheme is for a " + wiringName(scheme.wiring) +
                         " array, the array is wired " + wiringName(geo_.wiring));
  }
  PulseBatchResult out;
  out.cell_energy_j = Eigen::MatrixXd::Zero(geo_.rows, geo_.cols);
  return out;
}

Eigen::VectorXd CellArrayBackend::sourceLevels(const BiasLevels& lv, Eigen::Index row,
                                               const std::vector<bool>& active) const {
  Eigen::VectorXd v(geo_.sourceLines());
  for (Eigen::Index k = 0; k < v.size(); ++k) {
    const bool selected =
        geo_.wiring == Wiring::SourceRows ? k == row : bool(active[std::size_t(k)]);
    v(k) = selected ? lv.source_selected_v : lv.source_unselected_v;
  }
  return v;
}

std::vector<double> CellArrayBackend::phaseWidths(std::span<const PulseRequest> pulses,
                                                  const WritePhase& ph) {
  std::vector<double> w;
  for (std::size_t k : ph.pulses) w.push_back(pulses[k].width_s);
  std::sort(w.begin(), w.end());
  w.erase(std::unique(w.begin(), w.end()), w.end());
  return w;
}

std::vector<PulseLog> CellArrayBackend::openPhase(std::span<const PulseRequest> pulses,
                                                  const WritePhase& ph,
                                                  const PulseBatchResult& out) const {
  std::vector<PulseLog> logs;
  for (std::size_t k : ph.pulses) {
    const PulseRequest& p = pulses[k];
    logs.push_back({p.row, p.col, p.amplitude_v, p.width_s, counters_.elapsed_s, x_(p.row, p.col),
                    0.0, 0.0, 0.0, out.cell_energy_j(p.row, p.col)});
  }
  return logs;
}

void CellArrayBackend::closePhase(std::vector<PulseLog>& logs, const Eigen::MatrixXd& x0,
                                  double duration_s, PulseBatchResult& out) {
  for (PulseLog& log : logs) {
    const Index r = log.row, c = log.col;
    x_(r, c) = std::clamp(x0(r, c) + cycleNoise(x_(r, c) - x0(r, c), c2c_, rng_), 0.0, 1.0);
    log.x_after = x_(r, c);
    log.energy_j = out.cell_energy_j(r, c) - log.energy_j;
  }
  counters_.elapsed_s += duration_s;
  out.duration_s += duration_s;
  out.pulses.insert(out.pulses.end(), logs.begin(), logs.end());
}

void CellArrayBackend::closeBatch(std::size_t pulses, const Eigen::MatrixXd& xStart,
                                  PulseBatchResult& out) {
  counters_.pulses += static_cast<long long>(pulses);
  counters_.energy_j += out.energy_j;
  out.delta_x = x_ - xStart;
  if (pulses > 0) statesChanged();
}

}  // namespace ecramsim

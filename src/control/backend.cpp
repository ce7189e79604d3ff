#include "control/backend.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"

namespace ecramsim {

BiasLevels biasLevels(const BiasScheme& scheme, double amplitude_v) {
  const double v = amplitude_v;
  BiasLevels l;
  if (scheme.fraction == BiasFraction::Half) {
    l.gate_selected_v = v / 2.0;
    l.gate_unselected_v = 0.0;
    l.drain_selected_v = -v / 2.0;
    l.drain_unselected_v = 0.0;
    l.source_v = 0.0;
  } else {
    l.gate_selected_v = 2.0 * v / 3.0;
    l.gate_unselected_v = 0.0;
    l.drain_selected_v = -v / 3.0;
    l.drain_unselected_v = v / 3.0;
    l.source_v = v / 3.0;
  }
  return l;
}

std::vector<WritePhase> groupIntoPhases(std::span<const PulseRequest> requests, PulseOrder order) {
  std::vector<WritePhase> phases;
  for (std::size_t k = 0; k < requests.size(); ++k) {
    const PulseRequest& p = requests[k];
    WritePhase* target = nullptr;
    if (order == PulseOrder::RowParallel) {
      for (WritePhase& ph : phases) {
        if (ph.row != p.row || ph.amplitude_v != p.amplitude_v) continue;
        const bool hasCol = std::any_of(ph.pulses.begin(), ph.pulses.end(),
                                        [&](std::size_t j) { return requests[j].col == p.col; });
        if (!hasCol) {
          target = &ph;
          break;
        }
      }
    }
    if (target == nullptr) {
      phases.push_back({p.row, p.amplitude_v, {}});
      target = &phases.back();
    }
    target->pulses.push_back(k);
  }
  return phases;
}

void validatePulses(std::span<const PulseRequest> requests, Eigen::Index rows, Eigen::Index cols) {
  for (std::size_t k = 0; k < requests.size(); ++k) {
    const PulseRequest& p = requests[k];
    const std::string which = "pulse " + std::to_string(k);
    if (p.row < 0 || p.row >= rows || p.col < 0 || p.col >= cols) {
      throw InputError({}, which, "cell (" + std::to_string(p.row) + ", " +
                                      std::to_string(p.col) + ") is outside the " +
                                      std::to_string(rows) + " x " + std::to_string(cols) + " array");
    }
    if (!std::isfinite(p.amplitude_v)) throw InputError({}, which, "amplitude must be finite");
    if (!std::isfinite(p.width_s) || p.width_s <= 0.0) {
      throw InputError({}, which, "width must be finite and > 0 s");
    }
  }
}

void validateStates(const Eigen::MatrixXd& x, Eigen::Index rows, Eigen::Index cols) {
  if (x.rows() != rows || x.cols() != cols) {
    throw InputError({}, "states", "expected " + std::to_string(rows) + " x " +
                                       std::to_string(cols) + " states");
  }
  if (!x.allFinite() || x.minCoeff() < 0.0 || x.maxCoeff() > 1.0) {
    throw InputError({}, "states", "every state must lie in [0, 1]");
  }
}

}  // namespace ecramsim

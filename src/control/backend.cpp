#include "control/backend.hpp"

#include <algorithm>

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

}  // namespace ecramsim

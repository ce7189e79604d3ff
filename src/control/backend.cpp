#include "control/backend.hpp"

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

}  // namespace ecramsim

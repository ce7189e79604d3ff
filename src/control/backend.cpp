#include "control/backend.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"

namespace ecramsim {

Wiring parseWiring(const std::string& name) {
  if (name == "source-rows") return Wiring::SourceRows;
  if (name == "source-cols") return Wiring::SourceCols;
  throw InputError({}, "--wiring",
                   "unknown wiring '" + echoToken(name) + "' (source-rows or source-cols)");
}

std::string wiringName(Wiring w) { return w == Wiring::SourceRows ? "source-rows" : "source-cols"; }

void requireReadableWiring(Wiring w, const std::string& what) {
  if (w == Wiring::SourceRows) return;
  throw InputError({}, "--wiring",
                   wiringName(w) + " cannot do " + what +
                       ": both channel lines of a cell run along its column, so no input can be "
                       "applied to one row and a column senses all its cells at once (use "
                       "--wiring source-rows)");
}

BiasLevels biasLevels(const BiasScheme& scheme, double amplitude_v) {
  const double v = amplitude_v;
  BiasLevels l;
  l.wiring = scheme.wiring;
  const bool half = scheme.fraction == BiasFraction::Half;
  l.gate_selected_v = half ? v / 2.0 : 2.0 * v / 3.0;
  l.gate_unselected_v = 0.0;
  l.drain_selected_v = half ? -v / 2.0 : -v / 3.0;
  l.drain_unselected_v = half ? 0.0 : v / 3.0;
  if (scheme.wiring == Wiring::SourceRows) {
    l.source_selected_v = l.source_unselected_v = half ? 0.0 : v / 3.0;
  } else {  // each column's source line at its drain line's level
    l.source_selected_v = l.drain_selected_v;
    l.source_unselected_v = l.drain_unselected_v;
  }
  return l;
}

Terminals BiasLevels::cell(bool selected_row, bool selected_col) const {
  const bool sourceSelected = wiring == Wiring::SourceRows ? selected_row : selected_col;
  return {selected_row ? gate_selected_v : gate_unselected_v,
          selected_col ? drain_selected_v : drain_unselected_v,
          sourceSelected ? source_selected_v : source_unselected_v};
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

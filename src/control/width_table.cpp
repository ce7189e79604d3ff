#include "control/width_table.hpp"

#include <algorithm>
#include <cmath>

#include "control/program.hpp"
#include "device/physics.hpp"

namespace ecramsim {

NominalWidthTable::NominalWidthTable(const EcramParams& nominal, const BiasScheme& bias,
                                     double amplitude_v)
    : nominal_(nominal),
      bias_(bias),
      amplitude_v_(amplitude_v),
      cell_(cellParams(nominal)),
      terminals_(biasLevels(bias, amplitude_v).cell(true, true)),
      dir_(amplitude_v >= 0.0 ? 1.0 : -1.0),
      cumulative_(std::size_t(kIntervals) + 1, 0.0),
      usable_(std::size_t(kIntervals), false) {
  constexpr double h = 1.0 / kIntervals;
  // F from the state 0; the interval at the end the window closes is never tabulated.
  const int skipped = dir_ > 0.0 ? kIntervals - 1 : 0;
  for (int k = 0; k < kIntervals; ++k) {
    const double piece = k == skipped ? NAN : partial(k * h, (k + 1) * h);
    usable_[std::size_t(k)] = std::isfinite(piece);
    cumulative_[std::size_t(k + 1)] =
        cumulative_[std::size_t(k)] + (std::isfinite(piece) ? piece : 0.0);
  }
}

double NominalWidthTable::partial(double a, double b) const {
  const Terminals& t = terminals_;
  const physics::GaussRule& rule = physics::gaussRule(kOrder);
  double sum = 0.0;
  for (std::size_t k = 0; k < rule.node.size(); ++k) {
    const double x = a + (b - a) * rule.node[k];
    const double rate = dir_ * physics::stateRate(cell_, t.vg, t.vd, t.vs, x);
    if (!(rate > 0.0)) return NAN;
    sum += rule.weight[k] / rate;
  }
  return (b - a) * sum;
}

double NominalWidthTable::width(double x_from, double x_to, double max_width_s) const {
  const double lo = std::min(x_from, x_to), hi = std::max(x_from, x_to);
  auto exact = [&] {
    return nominalWidth(nominal_, bias_, amplitude_v_, x_from, x_to, max_width_s);
  };
  if (hi - lo <= 0.0) return 0.0;
  if ((x_to >= x_from ? 1.0 : -1.0) != dir_) return exact();
  constexpr double h = 1.0 / kIntervals;
  if (!(lo >= 0.0 && hi <= 1.0)) return exact();
  const int ka = std::min(int(lo * kIntervals), kIntervals - 1);
  const int kb = std::min(int(hi * kIntervals), kIntervals - 1);
  for (int k = ka; k <= kb; ++k) {
    if (!usable_[std::size_t(k)]) return exact();
  }
  const double w = ka == kb ? partial(lo, hi)
                            : partial(lo, (ka + 1) * h) + cumulative_[std::size_t(kb)] -
                                  cumulative_[std::size_t(ka + 1)] + partial(kb * h, hi);
  if (!std::isfinite(w)) return exact();
  ++tabulated_;
  return w < max_width_s ? w : max_width_s;
}

}  // namespace ecramsim

#include "core/rng.hpp"

#include <cmath>
#include <numbers>

namespace ecramsim {

double Rng::normal() {
  if (hasSpare_) {
    hasSpare_ = false;
    return spare_;
  }
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double phi = 2.0 * std::numbers::pi * u2;
  spare_ = r * std::sin(phi);
  hasSpare_ = true;
  return r * std::cos(phi);
}

}  // namespace ecramsim

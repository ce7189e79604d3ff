#include "core/rng.hpp"

#include <bit>
#include <cmath>
#include <numbers>
#include <sstream>
#include <stdexcept>

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

std::string Rng::state() const {
  std::ostringstream out;
  out << engine_ << ' ' << seed_ << ' ' << (hasSpare_ ? 1 : 0) << ' '
      << std::bit_cast<std::uint64_t>(spare_);
  return out.str();
}

void Rng::setState(const std::string& text) {
  std::istringstream in(text);
  std::mt19937_64 engine;
  std::uint64_t seed = 0, spareBits = 0;
  int hasSpare = -1;
  in >> engine >> seed >> hasSpare >> spareBits;
  if (in.fail() || (hasSpare != 0 && hasSpare != 1) || !(in >> std::ws).eof()) {
    throw std::invalid_argument("not the state of a random stream");
  }
  engine_ = engine;
  seed_ = seed;
  hasSpare_ = hasSpare == 1;
  spare_ = std::bit_cast<double>(spareBits);
}

}  // namespace ecramsim

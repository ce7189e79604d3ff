#pragma once
/// The one source of randomness. Every random draw in ecramsim goes through an Rng that the
/// caller seeds and owns; the seed is written into every result file. The normal deviate is
/// our own (Box-Muller on mt19937_64 bits), so the same seed gives the same bits on every
/// standard library, not only on libstdc++.

#include <cstdint>
#include <random>
#include <string>

namespace ecramsim {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed), seed_(seed) {}

  [[nodiscard]] std::uint64_t seed() const { return seed_; }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  /// Standard normal deviate.
  double normal();
  /// Normal with mean and standard deviation.
  double normal(double mean, double sigma) { return mean + sigma * normal(); }
  /// A new independent stream, for handing to a sub-task with its own seed.
  Rng split() { return Rng(engine_()); }
  std::uint64_t next() { return engine_(); }

  /// The stream's whole state as text (the engine's standard text form, then the Box-Muller
  /// spare): setState() of it continues the stream exactly.
  [[nodiscard]] std::string state() const;
  /// Continues from a state() text; std::invalid_argument if the text is not one.
  void setState(const std::string& text);

 private:
  std::mt19937_64 engine_;
  std::uint64_t seed_;
  double spare_ = 0.0;
  bool hasSpare_ = false;
};

}  // namespace ecramsim

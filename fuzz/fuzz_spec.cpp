// libFuzzer harness: sweep specs (sweep/spec.cpp), and the points of specs small enough to list.
#include <algorithm>

#include "fuzz/support.hpp"
#include "sweep/points.hpp"
#include "sweep/spec.hpp"

namespace {

/// An upper bound on the points a spec describes (grid groups only lower it).
std::size_t pointBound(const ecramsim::sweep::Spec& spec) {
  using ecramsim::sweep::Mode;
  if (spec.mode == Mode::Random) return spec.samples;
  std::size_t bound = 1;
  for (const auto& axis : spec.axes) {
    const std::size_t n = std::max<std::size_t>(axis.values.size(), 1);
    if (spec.mode == Mode::Zip) {
      bound = std::max(bound, n);
    } else if (bound > (std::size_t{1} << 20) / n) {
      return std::size_t{1} << 20;
    } else {
      bound *= n;
    }
  }
  return bound;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ecramsim;
  return fuzz::expectOnlyErrors([&] {
    const sweep::Spec spec = sweep::parseSpecText(fuzz::asText(data, size), "fuzz.toml");
    if (pointBound(spec) > 4096) return;  // listing millions of points is slow, not a defect
    const auto points = sweep::generatePoints(spec);
    for (const auto& point : points) (void)sweep::pointArguments(spec, point);
    (void)sweep::specHash(spec, points);
  });
}

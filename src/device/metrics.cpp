#include "device/metrics.hpp"

#include <algorithm>
#include <cmath>

#include "core/stats.hpp"

namespace ecramsim::metrics {

BranchStats analyzeBranch(std::span<const double> g) {
  BranchStats s;
  if (g.size() < 2) return s;
  const std::size_t n = g.size() - 1;
  s.meanStep = (g.back() - g.front()) / static_cast<double>(n);
  const double span = std::fabs(g.back() - g.front());
  double worst = 0.0;
  for (std::size_t i = 0; i <= n; ++i) {
    const double chord = g.front() + s.meanStep * static_cast<double>(i);
    worst = std::max(worst, std::fabs(g[i] - chord));
  }
  s.nonlinearityPct = span > 0.0 ? 100.0 * worst / span : 0.0;
  return s;
}

double c2cSigmaRel(const std::vector<std::vector<double>>& branches, double gLow, double gHigh) {
  const double lo = gLow + 0.05 * (gHigh - gLow);
  const double hi = gHigh - 0.05 * (gHigh - gLow);
  std::vector<double> ratios;
  for (const bool up : {true, false}) {
    std::vector<double> before;
    std::vector<double> step;
    for (const auto& g : branches) {
      for (std::size_t i = 1; i < g.size(); ++i) {
        const double d = g[i] - g[i - 1];
        const bool inside = std::min(g[i - 1], g[i]) >= lo && std::max(g[i - 1], g[i]) <= hi;
        const bool branchUp = g.back() >= g.front();
        if (!inside || branchUp != up) continue;
        before.push_back(g[i - 1]);
        step.push_back(d);
      }
    }
    if (step.size() < 8) continue;
    const auto fit = stats::fitPolynomial(before, step, 5);
    for (std::size_t k = 0; k < step.size(); ++k) {
      const double expected = stats::evalPolynomial(fit, before[k]);
      if (std::fabs(expected) > 0.0) ratios.push_back(step[k] / expected - 1.0);
    }
  }
  return stats::stddev(ratios);
}

double asymmetry(double meanStepUp, double meanStepDown) {
  const double up = std::fabs(meanStepUp);
  const double dn = std::fabs(meanStepDown);
  return (up + dn) > 0.0 ? (up - dn) / (0.5 * (up + dn)) : 0.0;
}

}  // namespace ecramsim::metrics

#include "core/stats.hpp"

#include <cassert>
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

namespace ecramsim::stats {

double mean(std::span<const double> v) {
  if (v.empty()) return 0.0;
  double s = 0.0;
  for (double a : v) s += a;
  return s / static_cast<double>(v.size());
}

double stddev(std::span<const double> v) {
  if (v.size() < 2) return 0.0;
  const double m = mean(v);
  double s = 0.0;
  for (double a : v) s += (a - m) * (a - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

LineFit fitLine(std::span<const double> x, std::span<const double> y) {
  assert(x.size() == y.size());
  LineFit f;
  const std::size_t n = x.size();
  if (n < 2) return f;
  const double mx = mean(x);
  const double my = mean(y);
  double sxx = 0.0;
  double sxy = 0.0;
  double syy = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
    syy += (y[i] - my) * (y[i] - my);
  }
  f.slope = sxx > 0.0 ? sxy / sxx : 0.0;
  f.intercept = my - f.slope * mx;
  double ssRes = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double r = y[i] - (f.slope * x[i] + f.intercept);
    ssRes += r * r;
  }
  f.r2 = syy > 0.0 ? 1.0 - ssRes / syy : (ssRes == 0.0 ? 1.0 : 0.0);
  return f;
}

PolyFit fitPolynomial(std::span<const double> x, std::span<const double> y, int degree) {
  assert(x.size() == y.size());
  PolyFit f;
  const auto n = static_cast<Eigen::Index>(x.size());
  const int d = std::max(0, std::min<int>(degree, static_cast<int>(n) - 1));
  if (n == 0) return f;
  const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
  f.center = 0.5 * (*lo + *hi);
  f.scale = (*hi > *lo) ? 0.5 * (*hi - *lo) : 1.0;
  Eigen::MatrixXd a(n, d + 1);
  Eigen::VectorXd b(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double t = (x[static_cast<std::size_t>(i)] - f.center) / f.scale;
    double pw = 1.0;
    for (int k = 0; k <= d; ++k, pw *= t) a(i, k) = pw;
    b(i) = y[static_cast<std::size_t>(i)];
  }
  const Eigen::VectorXd c = a.colPivHouseholderQr().solve(b);
  f.coef.assign(c.data(), c.data() + c.size());
  return f;
}

double evalPolynomial(const PolyFit& f, double x) {
  const double t = (x - f.center) / f.scale;
  double v = 0.0;
  for (auto it = f.coef.rbegin(); it != f.coef.rend(); ++it) v = v * t + *it;
  return v;
}

double pearson(std::span<const double> x, std::span<const double> y) {
  assert(x.size() == y.size());
  const double mx = mean(x);
  const double my = mean(y);
  double sxy = 0.0;
  double sxx = 0.0;
  double syy = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return (sxx > 0.0 && syy > 0.0) ? sxy / std::sqrt(sxx * syy) : 0.0;
}

}  // namespace ecramsim::stats

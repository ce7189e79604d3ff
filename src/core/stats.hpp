#pragma once
/// Small statistics used by metrics across modules.

#include <span>
#include <vector>

namespace ecramsim::stats {

[[nodiscard]] double mean(std::span<const double> v);
/// Sample standard deviation (n - 1); 0 for fewer than two values.
[[nodiscard]] double stddev(std::span<const double> v);

/// Least-squares line y = slope x + intercept, with the coefficient of determination.
struct LineFit {
  double slope = 0.0;
  double intercept = 0.0;
  double r2 = 0.0;  ///< 1 - SS_res / SS_tot; 1 when SS_tot = 0 and the fit is exact
};
[[nodiscard]] LineFit fitLine(std::span<const double> x, std::span<const double> y);

/// Least-squares polynomial of `degree` (coefficients c0 + c1 x + ...); x is centred and
/// scaled internally, so the returned function must be evaluated through evalPolynomial.
struct PolyFit {
  std::vector<double> coef;
  double center = 0.0;
  double scale = 1.0;
};
[[nodiscard]] PolyFit fitPolynomial(std::span<const double> x, std::span<const double> y, int degree);
[[nodiscard]] double evalPolynomial(const PolyFit& f, double x);

/// Pearson correlation coefficient.
[[nodiscard]] double pearson(std::span<const double> x, std::span<const double> y);

}  // namespace ecramsim::stats

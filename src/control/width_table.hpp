#pragma once
/// The controller's pwm widths (control/program.hpp nominalWidth) from a table, for the many
/// cells of an open-loop run that share one bias and amplitude.
///
/// With the selected cell's terminals held (ideal lines), dx/dt = f(x) is autonomous, so the
/// width from a to b is |F(b) - F(a)| with F(x) the integral of 1 / f from 0 to x. The table
/// holds F at the states k / kIntervals; a query adds the two partial intervals at its ends by
/// Gauss-Legendre of order kOrder (the integrand is smooth there: f has no zero inside an
/// interval the table accepted, and none of them is the one where the window closes).
/// Everything else is handed to nominalWidth itself, and so gives its answer exactly: the
/// other direction, a state within the interval at the end where the window of the direction
/// closes ((1 - x)^p_up at x = 1, x^p_dn at x = 0: the integrand can be singular there), and a
/// range across an interval where the rate does not point the way (the cap). The table's widths agree with nominalWidth's adaptive
/// quadrature to about 1e-12 relative (tests/program/test_program.cpp).

#include <vector>

#include "control/backend.hpp"
#include "device/params.hpp"

namespace ecramsim {

class NominalWidthTable {
 public:
  /// The table of the nominal card `nominal` driven at `amplitude_v` (its sign is the direction
  /// the table serves: > 0 potentiates) under `bias`; about kIntervals kOrder rate evaluations.
  NominalWidthTable(const EcramParams& nominal, const BiasScheme& bias, double amplitude_v);

  /// s, nominalWidth(nominal, bias, amplitude_v, x_from, x_to, max_width_s).
  [[nodiscard]] double width(double x_from, double x_to, double max_width_s) const;

  /// Queries answered from the table (not handed to nominalWidth), for tests.
  [[nodiscard]] long long tabulated() const { return tabulated_; }

  static constexpr int kIntervals = 128;
  static constexpr int kOrder = 8;

 private:
  /// s, integral of 1 / |f| over [a, b] within one interval (Gauss-Legendre of kOrder); NaN
  /// when the rate does not point the table's way at a node.
  [[nodiscard]] double partial(double a, double b) const;

  EcramParams nominal_;
  BiasScheme bias_;
  double amplitude_v_;
  CellParams cell_;            ///< the nominal cell
  Terminals terminals_;        ///< V, the selected cell's with ideal lines
  double dir_;                 ///< +1: the table serves x_to > x_from; -1: x_to < x_from
  std::vector<double> cumulative_;  ///< s, F at k / kIntervals, k = 0 .. kIntervals
  std::vector<bool> usable_;        ///< per interval: the rate points the way at every node
  mutable long long tabulated_ = 0;
};

}  // namespace ecramsim

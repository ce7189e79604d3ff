#pragma once
/// ECRAM physics as pure functions, templated on the scalar so that every engine (single cell,
/// ngspice co-simulation, nodal matrix) and automatic differentiation use the same equations.
/// DESIGN.md section 3. Terminals: gate g, drain d, source s; voltages in V, currents in A
/// (positive into the gate for the gate branch, drain to source for the channel).

#include <cmath>
#include <stdexcept>
#include <vector>

#include "device/params.hpp"

namespace ecramsim::physics {

/// S. G(x) = gmin + (gmax - gmin) x.
template <typename T>
T conductance(const CellParams& p, const T& x) {
  return p.gmin + (p.gmax - p.gmin) * x;
}

/// A, drain-to-source channel current: G(x) vds (1 + c3 vds^2).
template <typename T>
T channelCurrent(const CellParams& p, const T& x, const T& vds) {
  return conductance(p, x) * vds * (1.0 + p.c3 * vds * vds);
}

/// V, open-circuit potential of the gate stack, U_oc = k_oc (x - x_eq).
template <typename T>
T openCircuitPotential(double k_oc, double x_eq, const T& x) {
  return k_oc * (x - x_eq);
}
template <typename T>
T openCircuitPotential(const CellParams& p, const T& x) {
  return openCircuitPotential(p.k_oc, p.x_eq, x);
}

/// A, Faradaic current of one gate segment with gate-to-channel voltage vgc: the solution of
/// I = i0 sinh((vgc - U_oc - I rs) / v0). Written as g(u) = v0 u + rs i0 sinh(u) - (vgc - U_oc) = 0
/// for u = asinh(I / i0); g is odd-monotone and convex on the side of the root, so Newton from
/// the smaller of the two one-sided bounds (all drop on the sinh, or all on rs) converges
/// monotonically without overshoot.
template <typename T>
T faradaicCurrent(const CellParams& p, const T& vgc, const T& x) {
  using std::abs;
  using std::asinh;
  using std::cosh;
  using std::sinh;
  const T drive = vgc - openCircuitPotential(p, x);
  if (p.rs <= 0.0) return p.i0 * sinh(drive / p.v0);
  const T uKinetic = drive / p.v0;
  const T uOhmic = asinh(drive / (p.rs * p.i0));
  T u = abs(uKinetic) < abs(uOhmic) ? uKinetic : uOhmic;
  const double rsI0 = p.rs * p.i0;
  for (int it = 0; it < 60; ++it) {
    const T g = p.v0 * u + rsI0 * sinh(u) - drive;
    const T dg = p.v0 + rsI0 * cosh(u);
    const T step = g / dg;
    u -= step;
    if (abs(step) <= 1e-14 * (1.0 + abs(u))) break;
  }
  return p.i0 * sinh(u);
}

/// A, ionic current into the gate under the two-point gate (GateModel::TwoPoint): the average
/// of the Faradaic current at the source end and at the drain end. Exact when the channel is
/// equipotential (vd = vs, the bench); coarse when vd and vs differ by several v0.
template <typename T>
T ionicCurrent(const CellParams& p, const T& vg, const T& vd, const T& vs, const T& x) {
  return 0.5 * (faradaicCurrent(p, T(vg - vs), x) + faradaicCurrent(p, T(vg - vd), x));
}

/// Gauss-Legendre rule of order n on [0, 1]: ascending nodes, weights summing to 1 (to
/// rounding). Exact for polynomials of degree 2n - 1.
struct GaussRule {
  std::vector<double> node;
  std::vector<double> weight;
};

/// Highest order gaussRule() provides (the card parameter gate_points is validated to it).
inline constexpr int kMaxGatePoints = 64;

/// The rule of order n in [1, kMaxGatePoints], built once (Newton on the Legendre polynomial,
/// converged to rounding); std::out_of_range otherwise (cards validate gate_points first).
inline const GaussRule& gaussRule(int n) {
  static const std::vector<GaussRule> rules = [] {
    std::vector<GaussRule> all(kMaxGatePoints + 1);
    for (int order = 1; order <= kMaxGatePoints; ++order) {
      GaussRule& r = all[std::size_t(order)];
      r.node.resize(std::size_t(order));
      r.weight.resize(std::size_t(order));
      for (int k = 0; k < order; ++k) {
        // Root k of P_n on [-1, 1], descending from the Chebyshev-like first guess.
        double t = std::cos(M_PI * (k + 0.75) / (order + 0.5));
        double dp = 1.0;
        for (int it = 0; it < 100; ++it) {
          double p0 = 1.0, p1 = t;
          for (int j = 2; j <= order; ++j) {
            const double p2 = ((2.0 * j - 1.0) * t * p1 - (j - 1.0) * p0) / j;
            p0 = p1;
            p1 = p2;
          }
          dp = order * (t * p1 - p0) / (t * t - 1.0);  // P_n'(t)
          const double step = p1 / dp;
          t -= step;
          if (std::abs(step) <= 1e-15) break;
        }
        // Mapped to [0, 1] in ascending order: node (1 - t) / 2, weight halved.
        r.node[std::size_t(k)] = 0.5 * (1.0 - t);
        r.weight[std::size_t(k)] = 1.0 / ((1.0 - t * t) * dp * dp);
      }
    }
    return all;
  }();
  if (n < 1 || n > kMaxGatePoints) throw std::out_of_range("Gauss-Legendre order out of range");
  return rules[std::size_t(n)];
}

/// A, the gate's Faradaic current delivered to the two channel ends: a current entering the
/// channel at the fraction xi of its length from the source returns (1 - xi) through the source
/// and xi through the drain (the divider of a uniform resistive channel). total() is the ionic
/// current into the gate.
template <typename T>
struct GateSplit {
  T source;
  T drain;
  [[nodiscard]] T total() const { return source + drain; }
};

/// 1, sinh(h) / h, smooth through h = 0.
template <typename T>
T sinhc(const T& h) {
  using std::abs;
  using std::sinh;
  if (abs(h) < 1e-3) return 1.0 + h * h * (1.0 / 6.0 + h * h / 120.0);
  return sinh(h) / h;
}

/// 1, (h cosh h - sinh h) / (2 h^2) = integral of eta sinh(2 h eta) over eta in [-1/2, 1/2];
/// by its series where the closed form cancels (|h| < 0.5), to < 1e-17 relative.
template <typename T>
T gateMoment(const T& h) {
  using std::abs;
  using std::cosh;
  using std::sinh;
  if (abs(h) < 0.5) {
    // sum over k >= 1 of k h^(2k-1) / (2k+1)!
    T sum = 0.0 * h;
    T power = h;            // h^(2k-1)
    double factorial = 6.0;  // (2k+1)!
    for (int k = 1; k <= 8; ++k) {
      sum += double(k) * power / factorial;
      power *= h * h;
      factorial *= (2.0 * k + 2.0) * (2.0 * k + 3.0);
    }
    return sum;
  }
  return (h * cosh(h) - sinh(h)) / (2.0 * h * h);
}

/// A, the distributed gate with rs = 0 in closed form, at gate-to-source voltage us and
/// gate-to-drain voltage ud: with the channel potential linear between its ends, i0 sinh over
/// the channel integrates to
///   total = i0 sinh(m) sinhc(h),  drain - total / 2 = -i0 cosh(m) gateMoment(h),
/// m = ((us + ud) / 2 - U_oc) / v0, h = (us - ud) / (2 v0) = (vd - vs) / (2 v0). rs is ignored.
template <typename T>
GateSplit<T> gateClosedForm(const CellParams& p, const T& us, const T& ud, const T& x) {
  using std::cosh;
  using std::sinh;
  const T m = (0.5 * (us + ud) - openCircuitPotential(p, x)) / p.v0;
  const T h = (us - ud) / (2.0 * p.v0);
  const T half = 0.5 * p.i0 * sinh(m) * sinhc(h);
  const T moment = p.i0 * cosh(m) * gateMoment(h);
  return {half + moment, half - moment};
}

/// A, the distributed gate by Gauss-Legendre quadrature of order n at gate-to-source voltage us
/// and gate-to-drain voltage ud: the sum over the nodes xi_k (fraction of the channel from the
/// source) of w_k faradaicCurrent(us + xi_k (ud - us)), returned (1 - xi_k) at the source and
/// xi_k at the drain. Each node is a gate segment of area w_k with series resistance rs / w_k,
/// so the implicit rs drop is solved per segment.
template <typename T>
GateSplit<T> gateQuadrature(const CellParams& p, const T& us, const T& ud, const T& x, int n) {
  const GaussRule& rule = gaussRule(n);
  GateSplit<T> out{0.0 * us, 0.0 * us};
  for (std::size_t k = 0; k < rule.node.size(); ++k) {
    const double xi = rule.node[k];
    const T i = rule.weight[k] * faradaicCurrent(p, T(us + xi * (ud - us)), x);
    out.source += (1.0 - xi) * i;
    out.drain += xi * i;
  }
  return out;
}

/// A, the gate's Faradaic current as every engine uses it, at gate-to-source voltage us and
/// gate-to-drain voltage ud (p.gate selects the model):
///  - us = ud (the bench): faradaicCurrent(us), half to each end, exactly as the two-point gate;
///  - Distributed, rs = 0: gateClosedForm; rs > 0: gateQuadrature of order p.gate_points;
///  - TwoPoint: half of faradaicCurrent at each end's own gate-to-channel voltage.
template <typename T>
GateSplit<T> gateCurrentAt(const CellParams& p, const T& us, const T& ud, const T& x) {
  if (p.gate == GateModel::TwoPoint || us == ud) {
    return {0.5 * faradaicCurrent(p, us, x), 0.5 * faradaicCurrent(p, ud, x)};
  }
  if (p.rs <= 0.0) return gateClosedForm(p, us, ud, x);
  return gateQuadrature(p, us, ud, x, p.gate_points);
}

/// A, gateCurrentAt with the terminal potentials vg, vd, vs.
template <typename T>
GateSplit<T> gateCurrent(const CellParams& p, const T& vg, const T& vd, const T& vs,
                         const T& x) {
  return gateCurrentAt(p, T(vg - vs), T(vg - vd), x);
}

/// A, ionic current into the gate: gateCurrent(...).total().
template <typename T>
T gateIonicCurrent(const CellParams& p, const T& vg, const T& vd, const T& vs, const T& x) {
  return gateCurrent(p, vg, vd, vs, x).total();
}

/// A, electronic leakage into the gate: linear in the channel potential, so the two-point
/// average is also its exact integral over a linear channel.
template <typename T>
T leakageCurrent(double r_leak, const T& vg, const T& vd, const T& vs) {
  return (vg - 0.5 * (vd + vs)) / r_leak;
}
template <typename T>
T leakageCurrent(const CellParams& p, const T& vg, const T& vd, const T& vs) {
  return leakageCurrent(p.r_leak, vg, vd, vs);
}

/// 1, soft-bound window: (1 - x)^p_up when potentiating (i_ion > 0), x^p_dn when depressing.
/// Zero outside [0, 1] in the direction of travel, so the state cannot leave its range.
template <typename T>
T window(const CellParams& p, const T& x, bool potentiating) {
  using std::pow;
  if (potentiating) {
    if (x >= 1.0) return T(0.0);
    if (p.p_up == 0.0) return T(1.0);
    return pow(T(1.0 - x), p.p_up);
  }
  if (x <= 0.0) return T(0.0);
  if (p.p_dn == 0.0) return T(1.0);
  return pow(x, p.p_dn);
}

/// 1/x, window()'s slope in x: -p_up w / (1 - x) potentiating, p_dn w / x depressing (0
/// where the window is constant: a zero exponent, or outside [0, 1] in the direction of travel).
inline double windowSlope(const CellParams& p, double x, bool potentiating) {
  const double w = window(p, x, potentiating);
  if (potentiating) return p.p_up == 0.0 || x >= 1.0 ? 0.0 : -p.p_up * w / (1.0 - x);
  return p.p_dn == 0.0 || x <= 0.0 ? 0.0 : p.p_dn * w / x;
}

/// 1/s, dx/dt for ionic current iIon with the window w given: (iIon / q_c) w - (x - x_eq) /
/// tau_ret.
template <typename T>
T stateRate(const CellParams& p, const T& x, const T& iIon, const T& w) {
  T rate = iIon / p.q_c * w;
  if (p.tau_ret > 0.0) rate -= (x - p.x_eq) / p.tau_ret;
  return rate;
}

/// 1/s, dx/dt for ionic current iIon: (iIon / q_c) w(x, sign iIon) - (x - x_eq) / tau_ret.
template <typename T>
T stateRate(const CellParams& p, const T& x, const T& iIon) {
  return stateRate(p, x, iIon, T(window(p, x, iIon > 0.0)));
}

/// 1/s, dx/dt with the channel ends at vd and vs and the gate at vg.
template <typename T>
T stateRate(const CellParams& p, const T& vg, const T& vd, const T& vs, const T& x) {
  return stateRate(p, x, gateIonicCurrent(p, vg, vd, vs, x));
}

}  // namespace ecramsim::physics

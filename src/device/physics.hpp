#pragma once
/// ECRAM physics as pure functions, templated on the scalar so that every engine (single cell,
/// ngspice co-simulation, nodal matrix) and automatic differentiation use the same equations.
/// DESIGN.md section 3. Terminals: gate g, drain d, source s; voltages in V, currents in A
/// (positive into the gate for the gate branch, drain to source for the channel).

#include <cmath>

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
T openCircuitPotential(const CellParams& p, const T& x) {
  return p.k_oc * (x - p.x_eq);
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

/// A, ionic current into the gate. The channel is not equipotential: the gate is split into
/// a source-end and a drain-end segment, each carrying half of the Faradaic current density.
template <typename T>
T ionicCurrent(const CellParams& p, const T& vg, const T& vd, const T& vs, const T& x) {
  return 0.5 * (faradaicCurrent(p, T(vg - vs), x) + faradaicCurrent(p, T(vg - vd), x));
}

/// A, electronic leakage into the gate, split like the ionic current.
template <typename T>
T leakageCurrent(const CellParams& p, const T& vg, const T& vd, const T& vs) {
  return (vg - 0.5 * (vd + vs)) / p.r_leak;
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

/// 1/s, dx/dt for ionic current iIon: (iIon / q_c) w(x, sign iIon) - (x - x_eq) / tau_ret.
template <typename T>
T stateRate(const CellParams& p, const T& x, const T& iIon) {
  T rate = iIon / p.q_c * window(p, x, iIon > 0.0);
  if (p.tau_ret > 0.0) rate -= (x - p.x_eq) / p.tau_ret;
  return rate;
}

/// 1/s, dx/dt with the channel ends at vd and vs and the gate at vg.
template <typename T>
T stateRate(const CellParams& p, const T& vg, const T& vd, const T& vs, const T& x) {
  return stateRate(p, x, ionicCurrent(p, vg, vd, vs, x));
}

}  // namespace ecramsim::physics

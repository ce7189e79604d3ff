#include "device/params.hpp"

#include <algorithm>

namespace ecramsim {

namespace {
double factor(double sigma, Rng& rng) {
  if (sigma <= 0.0) return 1.0;
  return std::clamp(1.0 + sigma * rng.normal(), 0.2, 5.0);
}
}  // namespace

DeviceVariation drawVariation(const EcramParams& p, Rng& rng) {
  DeviceVariation v;
  // The draw order is part of the seed contract: changing it changes every seeded result.
  v.gmin = factor(p.gmin_d2d, rng);
  v.gmax = factor(p.gmax_d2d, rng);
  for (int tries = 0; tries < 100 && p.gmax * v.gmax <= p.gmin * v.gmin; ++tries) {
    v.gmax = factor(p.gmax_d2d, rng);
  }
  v.i0 = factor(p.i0_d2d, rng);
  v.q_c = factor(p.qc_d2d, rng);
  return v;
}

CellParams cellParams(const EcramParams& p, const DeviceVariation& v) {
  CellParams c{};
  c.gmin = p.gmin * v.gmin;
  c.gmax = std::max(p.gmax * v.gmax, c.gmin * (1.0 + 1e-9));
  c.c3 = p.c3;
  c.i0 = p.i0 * v.i0;
  c.v0 = p.v0;
  c.rs = p.rs;
  c.r_leak = p.r_leak;
  c.c_dl = p.c_dl;
  c.q_c = p.q_c * v.q_c;
  c.k_oc = p.k_oc;
  c.x_eq = p.x_eq;
  c.p_up = p.p_up;
  c.p_dn = p.p_dn;
  c.tau_ret = p.tau_ret;
  c.gate_points = static_cast<int>(p.gate_points);
  return c;
}

}  // namespace ecramsim

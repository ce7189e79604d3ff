#include <doctest/doctest.h>

#include <cmath>

#include "device/integrate.hpp"
#include "device/physics.hpp"
#include "modelcard/ecram_table.hpp"

using namespace ecramsim;

TEST_CASE("implicit sinh with series resistance solves its own equation") {
  const CellParams c = cellParams(defaultEcramParams());
  for (double v : {-6.0, -5.0, -2.5, -0.3, 0.0, 0.01, 1.0, 2.5, 5.0, 8.0}) {
    const double x = 0.3;
    const double i = physics::faradaicCurrent(c, v, x);
    const double u = (v - physics::openCircuitPotential(c, x) - i * c.rs) / c.v0;
    CAPTURE(v);
    CHECK(i == doctest::Approx(c.i0 * std::sinh(u)).epsilon(1e-12));
  }
  // A large rs makes the branch ohmic: I -> V / rs.
  CellParams ohmic = c;
  ohmic.rs = 1e3;
  ohmic.i0 = 1e-3;
  ohmic.k_oc = 0.0;
  CHECK(physics::faradaicCurrent(ohmic, 5.0, 0.0) == doctest::Approx(5.0 / 1e3).epsilon(0.01));
}

TEST_CASE("two-segment gate: each channel end carries half the ionic current") {
  const CellParams c = cellParams(defaultEcramParams());
  const double x = 0.5;
  const double both = physics::ionicCurrent(c, 5.0, 0.0, 0.0, x);
  const double split = physics::ionicCurrent(c, 5.0, 2.5, 0.0, x);
  CHECK(split == doctest::Approx(0.5 * (physics::faradaicCurrent(c, 5.0, x) +
                                        physics::faradaicCurrent(c, 2.5, x)))
                     .epsilon(1e-14));
  CHECK(split < both);
}

TEST_CASE("soft-bound window stops the state at its bounds") {
  const CellParams c = cellParams(defaultEcramParams());
  CHECK(physics::window(c, 1.0, true) == 0.0);
  CHECK(physics::window(c, 0.0, false) == 0.0);
  CHECK(physics::window(c, 0.5, true) == doctest::Approx(std::pow(0.5, c.p_up)));
  const Advance a = advanceHeld(c, 0.999, {5.0, 0.0, 0.0}, 10.0);
  CHECK(a.x <= 1.0);
  CHECK(a.x > 0.999);
}

TEST_CASE("ideal linear device integrates exactly: constant rate") {
  EcramParams p = defaultEcramParams();
  p.p_up = p.p_dn = 0.0;
  p.k_oc = 0.0;
  const CellParams c = cellParams(p);
  const double rate = physics::faradaicCurrent(c, 5.0, 0.0) / c.q_c;
  const Advance a = advanceHeld(c, 0.1, {5.0, 0.0, 0.0}, 0.25);
  CHECK(a.x == doctest::Approx(0.1 + rate * 0.25).epsilon(1e-12));
  CHECK(a.charge == doctest::Approx(physics::faradaicCurrent(c, 5.0, 0.0) * 0.25).epsilon(1e-10));
  // A linear ramp from 0 to 5 V equals the integral of the rate over the ramp (Simpson on a
  // fine grid as the reference).
  const Advance ramp = advanceLinear(c, 0.1, {0.0, 0.0, 0.0}, {5.0, 0.0, 0.0}, 1.0);
  double ref = 0.0;
  const int n = 20000;
  for (int k = 0; k <= n; ++k) {
    const double w = (k == 0 || k == n) ? 1.0 : (k % 2 ? 4.0 : 2.0);
    ref += w * physics::faradaicCurrent(c, 5.0 * k / n, 0.0) / c.q_c;
  }
  ref *= 1.0 / (3.0 * n);
  CHECK(ramp.x - 0.1 == doctest::Approx(ref).epsilon(1e-7));
}

TEST_CASE("floating gate relaxes towards the open-circuit potential") {
  EcramParams p = defaultEcramParams();
  p.i0 = 1e-12;  // fast exchange, so the double layer settles within the test's time
  const CellParams c = cellParams(p);
  const double x = 0.9;
  const Advance a = advanceFloatingGate(c, x, 0.0, {}, 100.0);
  // Steady state: the ionic branch (small-signal conductance i0 / v0 about U_oc) balances the
  // leakage 1 / r_leak, a divider: vg = U_oc gi / (gi + gl).
  const double gi = c.i0 / c.v0;
  const double gl = 1.0 / c.r_leak;
  CHECK(a.vg == doctest::Approx(physics::openCircuitPotential(c, x) * gi / (gi + gl)).epsilon(1e-3));
  CHECK(a.x < x);  // self-discharge through the leakage
}

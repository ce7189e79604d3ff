#include <doctest/doctest.h>

#include <cmath>

#include "device/physics.hpp"
#include "modelcard/ecram_table.hpp"

using namespace ecramsim;

namespace {

double relErr(double a, double b) { return std::abs(a - b) / std::abs(b); }

/// The distributed gate by composite Simpson over the channel, independent of the Gauss rules:
/// {total, drain share} of faradaicCurrent along the linear channel potential.
std::pair<double, double> simpson(const CellParams& p, double us, double ud, double x, int n) {
  double total = 0.0, drain = 0.0;
  for (int k = 0; k <= n; ++k) {
    const double xi = double(k) / n;
    const double w = (k == 0 || k == n) ? 1.0 : (k % 2 == 1 ? 4.0 : 2.0);
    const double i = physics::faradaicCurrent(p, us + xi * (ud - us), x);
    total += w * i;
    drain += w * xi * i;
  }
  return {total / (3.0 * n), drain / (3.0 * n)};
}

CellParams noSeries() {
  CellParams c = cellParams(defaultEcramParams());
  c.rs = 0.0;
  return c;
}

/// Gate-to-source and gate-to-drain voltages of the selected cell under V/2 and V/3 at 5 V.
constexpr double kHalfUs = 2.5, kThirdUs = 5.0 / 3.0, kUd = 5.0;

}  // namespace

TEST_CASE("gate: Gauss-Legendre rules sum to one and integrate degree 2n-1 exactly") {
  for (int n : {1, 2, 5, 16, 64}) {
    const physics::GaussRule& r = physics::gaussRule(n);
    double sum = 0.0, moment = 0.0;
    for (std::size_t k = 0; k < r.node.size(); ++k) {
      sum += r.weight[k];
      moment += r.weight[k] * std::pow(r.node[k], 2 * n - 1);
    }
    CAPTURE(n);
    CHECK(std::abs(sum - 1.0) <= 1e-14);
    CHECK(relErr(moment, 1.0 / (2.0 * n)) <= 1e-12);
  }
  CHECK_THROWS_AS((void)physics::gaussRule(0), std::out_of_range);
  CHECK_THROWS_AS((void)physics::gaussRule(physics::kMaxGatePoints + 1), std::out_of_range);
}

TEST_CASE("gate: rs = 0 closed form equals an independent Simpson integral to 1e-12") {
  const CellParams c = noSeries();
  for (double x : {0.0, 0.5, 1.0}) {
    for (const auto& [us, ud] : {std::pair{kHalfUs, kUd}, std::pair{kThirdUs, kUd},
                                 std::pair{5.0, 2.5}, std::pair{-2.5, -5.0},
                                 std::pair{0.3, -0.2}, std::pair{2.0, 2.0 + 1e-6}}) {
      const auto closed = physics::gateClosedForm(c, us, ud, x);
      const auto [total, drain] = simpson(c, us, ud, x, 20000);
      CAPTURE(x);
      CAPTURE(us);
      CAPTURE(ud);
      CHECK(relErr(closed.total(), total) <= 1e-12);
      CHECK(relErr(closed.drain, drain) <= 1e-12);
      // the engines' entry point takes the closed form when rs = 0
      const auto used = physics::gateCurrentAt(c, us, ud, x);
      CHECK(used.source == closed.source);
      CHECK(used.drain == closed.drain);
    }
  }
}

TEST_CASE("gate: the quadrature converges to the closed form over orders 2 to 20") {
  const CellParams c = noSeries();
  for (const auto& [us, ud] : {std::pair{kHalfUs, kUd}, std::pair{kThirdUs, kUd}}) {
    const auto closed = physics::gateClosedForm(c, us, ud, 0.5);
    double last = 10.0;  // order 2 may be off by tens of percent
    for (int n : {2, 4, 6, 8, 12, 16, 20}) {
      const auto q = physics::gateQuadrature(c, us, ud, 0.5, n);
      const double err = std::max(relErr(q.total(), closed.total()), relErr(q.drain, closed.drain));
      CAPTURE(us);
      CAPTURE(n);
      CAPTURE(err);
      CHECK((err < 0.1 * last || err <= 1e-13));  // each step gains a decade until rounding
      last = err;
    }
    CHECK(last <= 1e-13);
  }
}

TEST_CASE("gate: with vd = vs it is today's bench current, bit for bit") {
  for (double rs : {0.0, 1e5}) {
    CellParams c = cellParams(defaultEcramParams());
    c.rs = rs;
    for (double vg : {-5.0, -0.2, 0.0, 2.5, 5.0}) {
      for (double v : {0.0, 1.0 / 3.0}) {
        const double x = 0.3;
        const double want = physics::faradaicCurrent(c, vg - v, x);
        CHECK(physics::gateIonicCurrent(c, vg, v, v, x) == want);
        CHECK(physics::gateIonicCurrent(c, vg, v, v, x) == physics::ionicCurrent(c, vg, v, v, x));
        CHECK(physics::stateRate(c, vg, v, v, x) == physics::stateRate(c, x, want));
      }
    }
  }
}

TEST_CASE("gate: the default gate_points is the smallest order within 0.1% at the V/2 write") {
  // Measured on the default card: the selected cell of a 5 V V/2 write (gate-source 2.5 V,
  // gate-drain 5 V), at x = 0 and x = 0.5, against order 64.
  const CellParams c = cellParams(defaultEcramParams());
  REQUIRE(c.rs > 0.0);
  int smallest = 0;
  for (int n = 1; n <= physics::kMaxGatePoints && smallest == 0; ++n) {
    bool within = true;
    for (double x : {0.0, 0.5}) {
      const double ref = physics::gateQuadrature(c, kHalfUs, kUd, x, 64).total();
      const double got = physics::gateQuadrature(c, kHalfUs, kUd, x, n).total();
      within = within && relErr(got, ref) <= 1e-3;
    }
    if (within) smallest = n;
  }
  CHECK(smallest == 5);
  CHECK(c.gate_points == smallest);
  CHECK(defaultEcramParams().gate_points == double(smallest));
  // The distributed gate carries about a tenth of the bench current under V/2, the two-point
  // gate half of it.
  const double bench = physics::faradaicCurrent(c, kUd, 0.0);
  const double distributed = physics::gateCurrentAt(c, kHalfUs, kUd, 0.0).total() / bench;
  CellParams two = c;
  two.gate = GateModel::TwoPoint;
  const double twoPoint = physics::gateCurrentAt(two, kHalfUs, kUd, 0.0).total() / bench;
  MESSAGE("V/2 selected cell, x = 0: distributed/bench ", distributed, ", two-point/bench ",
          twoPoint);
  CHECK(distributed == doctest::Approx(0.1005).epsilon(2e-3));
  CHECK(twoPoint == doctest::Approx(0.5).epsilon(1e-3));
  CHECK(twoPoint == doctest::Approx(physics::ionicCurrent(c, kHalfUs, -kHalfUs, 0.0, 0.0) / bench)
                        .epsilon(1e-15));
}

TEST_CASE("gate: an integer gate_points in [1, 64] is the only card value accepted") {
  const ParamSpec* spec = findParam("gate_points");
  REQUIRE(spec != nullptr);
  CHECK(inRange(*spec, 1.0));
  CHECK(inRange(*spec, 64.0));
  CHECK_FALSE(inRange(*spec, 0.0));
  CHECK_FALSE(inRange(*spec, 65.0));
  CHECK_FALSE(inRange(*spec, 4.5));
  CHECK(rangeText(*spec) == "[1, 64] integer");
}

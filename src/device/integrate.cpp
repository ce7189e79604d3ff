#include "device/integrate.hpp"

#include <algorithm>
#include <array>
#include <boost/numeric/odeint.hpp>

#include "device/physics.hpp"

namespace ecramsim {

namespace {

namespace odeint = boost::numeric::odeint;

template <std::size_t N, typename Rhs>
std::array<double, N> integrate(Rhs&& rhs, std::array<double, N> y, double duration,
                                const Tolerances& tol) {
  if (duration <= 0.0) return y;
  using State = std::array<double, N>;
  auto stepper = odeint::make_controlled(tol.abs, tol.rel, odeint::runge_kutta_dopri5<State>());
  odeint::integrate_adaptive(stepper, rhs, y, 0.0, duration, duration * tol.first_step);
  return y;
}

}  // namespace

Advance advanceHeld(const CellParams& p, double x, const Terminals& t, double duration_s,
                    const Tolerances& tol) {
  auto rhs = [&](const std::array<double, 2>& y, std::array<double, 2>& dy, double) {
    const double xi = std::clamp(y[0], 0.0, 1.0);
    const double iIon = physics::gateIonicCurrent(p, t.vg, t.vd, t.vs, xi);
    dy[0] = physics::stateRate(p, xi, iIon);
    dy[1] = iIon;
  };
  const auto y = integrate<2>(rhs, {x, 0.0}, duration_s, tol);
  return {std::clamp(y[0], 0.0, 1.0), y[1], t.vg};
}

Advance advanceLinear(const CellParams& p, double x, const Terminals& a, const Terminals& b,
                      double duration_s, const Tolerances& tol) {
  if (duration_s <= 0.0) return {x, 0.0, b.vg};
  auto rhs = [&](const std::array<double, 2>& y, std::array<double, 2>& dy, double time) {
    const double f = time / duration_s;
    const double vg = a.vg + (b.vg - a.vg) * f;
    const double vd = a.vd + (b.vd - a.vd) * f;
    const double vs = a.vs + (b.vs - a.vs) * f;
    const double xi = std::clamp(y[0], 0.0, 1.0);
    const double iIon = physics::gateIonicCurrent(p, vg, vd, vs, xi);
    dy[0] = physics::stateRate(p, xi, iIon);
    dy[1] = iIon;
  };
  const auto y = integrate<2>(rhs, {x, 0.0}, duration_s, tol);
  return {std::clamp(y[0], 0.0, 1.0), y[1], b.vg};
}

Advance advanceFloatingGate(const CellParams& p, double x, double vg_start, const Terminals& t,
                            double duration_s, const Tolerances& tol) {
  // y = {x, vg, charge}: c_dl dvg/dt = -(I_ion + I_leak); no driver current.
  auto rhs = [&](const std::array<double, 3>& y, std::array<double, 3>& dy, double) {
    const double xi = std::clamp(y[0], 0.0, 1.0);
    const double iIon = physics::gateIonicCurrent(p, y[1], t.vd, t.vs, xi);
    const double iLeak = physics::leakageCurrent(p, y[1], t.vd, t.vs);
    dy[0] = physics::stateRate(p, xi, iIon);
    dy[1] = -(iIon + iLeak) / p.c_dl;
    dy[2] = iIon;
  };
  Tolerances gateTol = tol;
  gateTol.abs = std::max(tol.abs, 1e-12);  // volts and coulombs share the absolute bound
  const auto y = integrate<3>(rhs, {x, vg_start, 0.0}, duration_s, gateTol);
  return {std::clamp(y[0], 0.0, 1.0), y[2], y[1]};
}

}  // namespace ecramsim

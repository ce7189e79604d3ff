#include "device/bench.hpp"

#include <algorithm>

#include "device/physics.hpp"

namespace ecramsim {

CellBench::CellBench(const EcramParams& p, const DeviceVariation& var, Rng& rng)
    : cell_(cellParams(p, var)), c2c_(p.dg_c2c), rng_(rng), x_(p.x0) {}

void CellBench::pulse(double amplitude_v, double width_s) {
  const double before = x_;
  const Advance a = advanceHeld(cell_, x_, {amplitude_v, 0.0, 0.0}, width_s, tol_);
  x_ = std::clamp(before + cycleNoise(a.x - before, c2c_, rng_), 0.0, 1.0);
  // Charging the double layer from the previous gate voltage costs c_dl dV V_source.
  const double charging = cell_.c_dl * (amplitude_v - vg_) * amplitude_v;
  const double leakage = amplitude_v / cell_.r_leak * amplitude_v * width_s;
  pulses_.push_back({time_, amplitude_v, width_s, before, x_,
                     amplitude_v * a.charge + leakage + std::max(charging, 0.0)});
  vg_ = amplitude_v;
  time_ += width_s;
}

void CellBench::idle(double duration_s, GateMode mode) {
  if (duration_s <= 0.0) return;
  if (mode == GateMode::Grounded) {
    x_ = advanceHeld(cell_, x_, {0.0, 0.0, 0.0}, duration_s, tol_).x;
    vg_ = 0.0;
  } else {
    const Advance a = advanceFloatingGate(cell_, x_, vg_, {0.0, 0.0, 0.0}, duration_s, tol_);
    x_ = a.x;
    vg_ = a.vg;
  }
  time_ += duration_s;
}

void CellBench::setState(double x) { x_ = std::clamp(x, 0.0, 1.0); }

double CellBench::readCurrent(double vds_v) const {
  return physics::channelCurrent(cell_, x_, vds_v);
}

double CellBench::readConductance(double vds_v) const { return readCurrent(vds_v) / vds_v; }

}  // namespace ecramsim

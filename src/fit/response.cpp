#include "fit/response.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/rng.hpp"
#include "device/bench.hpp"
#include "device/physics.hpp"
#include "modelcard/ecram_table.hpp"

namespace ecramsim::fit {

PulseResponse::PulseResponse(const EcramParams& p, const PulseShape& shape, int nodes)
    : params_(p), shape_(shape), cell_(cellParams(p)) {
  params_.dg_c2c = params_.gmin_d2d = params_.gmax_d2d = params_.i0_d2d = params_.qc_d2d = 0.0;
  if (nodes <= 0) return;
  const int m = std::max(nodes, 3);
  for (int j = 0; j < m; ++j) {
    const double x = 0.5 * (1.0 - std::cos(std::numbers::pi * j / (m - 1)));
    nodes_.push_back(x);
    upDx_.push_back(exactNext(x, 1) - x);
    dnDx_.push_back(exactNext(x, -1) - x);
  }
}

void PulseResponse::setWindow(double gmin, double gmax) {
  params_.gmin = cell_.gmin = gmin;
  params_.gmax = cell_.gmax = gmax;
}

bool PulseResponse::sameDynamics(const EcramParams& p) const {
  EcramParams q = p;
  q.gmin = params_.gmin;
  q.gmax = params_.gmax;
  q.dg_c2c = q.gmin_d2d = q.gmax_d2d = q.i0_d2d = q.qc_d2d = 0.0;
  for (const auto& spec : ecramParamTable()) {
    if (q.*spec.member != params_.*spec.member) return false;
  }
  return true;
}

double PulseResponse::exactNext(double x, int polarity) const {
  Rng unused(0);  // no noise: the bench draws nothing with dg_c2c = 0
  CellBench bench(params_, DeviceVariation{}, unused);
  bench.setState(x);
  bench.pulse(polarity * shape_.amplitude_v, shape_.width_s);
  bench.idle(shape_.interval_s, GateMode::Grounded);
  return bench.x();
}

double PulseResponse::next(double x, int polarity) const {
  x = std::clamp(x, 0.0, 1.0);
  if (nodes_.empty()) return exactNext(x, polarity);
  // Node j sits at 0.5 (1 - cos(pi j / (m - 1))): invert for the interval holding x.
  const auto m = nodes_.size();
  const double pos = std::acos(std::clamp(1.0 - 2.0 * x, -1.0, 1.0)) / std::numbers::pi *
                     static_cast<double>(m - 1);
  auto j = std::min(static_cast<std::size_t>(pos), m - 2);
  while (j > 0 && nodes_[j] > x) --j;
  while (j + 2 < m && nodes_[j + 1] < x) ++j;
  const auto& dx = polarity > 0 ? upDx_ : dnDx_;
  // A cell whose one end reaches the bound of the range and whose other does not holds the kink
  // of the clamped (or windowed-to-zero) move: no straight line follows it, the bench does.
  auto atEnd = [&](std::size_t i) {
    const double to = nodes_[i] + dx[i];
    return to >= 1.0 - 1e-9 || to <= 1e-9;
  };
  if (atEnd(j) != atEnd(j + 1)) return exactNext(x, polarity);
  const double f = (x - nodes_[j]) / (nodes_[j + 1] - nodes_[j]);
  return std::clamp(x + dx[j] + f * (dx[j + 1] - dx[j]), 0.0, 1.0);
}

double PulseResponse::conductance(double x) const {
  return physics::channelCurrent(cell_, x, shape_.read_v) / shape_.read_v;
}

double PulseResponse::state(double g_s) const {
  const double g = g_s / (1.0 + cell_.c3 * shape_.read_v * shape_.read_v);
  return std::clamp((g - cell_.gmin) / (cell_.gmax - cell_.gmin), 0.0, 1.0);
}

}  // namespace ecramsim::fit

#include "app/device_job.hpp"

#include "app/cards.hpp"
#include "control/program.hpp"
#include "device/integrate.hpp"

namespace ecramsim::app {

const std::vector<std::string>& deviceProtocols() {
  static const std::vector<std::string> kNames{"pulses", "windows", "uniformity", "states",
                                               "retention", "pwm", "gate-iv"};
  return kNames;
}

namespace {
void requirePositive(double v, const char* what) {
  if (!(v > 0.0)) throw InputError({}, what, "must be positive, got " + std::to_string(v));
}
void requireCount(int v, int min, const char* what) {
  if (v < min) {
    throw InputError({}, what, "must be at least " + std::to_string(min) + ", got " + std::to_string(v));
  }
}

/// The gate's array figures (ideal lines, nominal device), distributed and two-point gate:
/// selectivity under V/2 and V/3, the selected cell's step in one pulse, the same for the
/// distributed gate with source lines along the columns, and the bench step.
void arrayGateMetrics(const EcramParams& p, const GateIvConfig& cfg, ResultTree& out) {
  const double V = cfg.v_program;
  for (const GateModel gate : {GateModel::Distributed, GateModel::TwoPoint}) {
    const bool two = gate == GateModel::TwoPoint;
    const std::string suffix = two ? "_two_point" : "";
    const std::string model = two ? " (two-point gate)" : " (distributed gate)";
    for (const BiasFraction bias : {BiasFraction::Half, BiasFraction::Third}) {
      const std::string scheme = bias == BiasFraction::Half ? "v2" : "v3";
      const ArrayGateFigures f = arrayGateFigures(p, gate, bias, V, cfg.width_s);
      out.metric("selectivity_" + scheme + suffix, f.selectivity, "1",
                 "selected cell's |dx/dt| over the largest other cell's at x_eq, " + scheme +
                     ", ideal lines" + model);
      out.metric("array_step_" + scheme + suffix, f.step_selected, "1",
                 "selected cell's state change in one pulse of V from x0, " + scheme +
                     ", ideal lines" + model);
    }
  }
  for (const BiasFraction bias : {BiasFraction::Half, BiasFraction::Third}) {
    const std::string scheme = bias == BiasFraction::Half ? "v2" : "v3";
    const ArrayGateFigures f = arrayGateFigures(p, GateModel::Distributed, bias, V, cfg.width_s,
                                                Wiring::SourceCols);
    out.metric("selectivity_" + scheme + "_source_cols", f.selectivity, "1",
               "as selectivity_" + scheme + ", source lines along the columns (--wiring)");
    out.metric("array_step_" + scheme + "_source_cols", f.step_selected, "1",
               "as array_step_" + scheme + ", source lines along the columns (--wiring)");
  }
  const double bench = advanceHeld(cellParams(p), p.x0, {V, 0.0, 0.0}, cfg.width_s).x - p.x0;
  out.metric("bench_step", bench, "1", "state change in one bench pulse of V from x0");
}

}  // namespace

ResultTree runDeviceJob(const DeviceJob& job, Progress& progress) {
  if (job.cards.empty()) throw InputError("no model card given");
  ResultTree out;
  Rng rng(job.seed);
  out.attribute("/config", "protocol", job.protocol);
  const EcramParams& p = job.cards.front().params;
  if (job.protocol == "pulses") {
    for (int n : job.pulses.counts) requireCount(n, 1, "--counts");
    requireCount(job.pulses.repeats, 1, "--repeats");
    requirePositive(job.pulses.shape.width_s, "--width");
    runPulses(p, job.pulses, rng, out);
  } else if (job.protocol == "windows") {
    requireCount(job.windows.pulses, 1, "--pulses");
    std::vector<std::pair<std::string, EcramParams>> cards;
    for (const auto& c : job.cards) cards.emplace_back(c.name, c.params);
    runWindows(cards, job.windows, rng, out, progress);
  } else if (job.protocol == "uniformity") {
    requireCount(job.uniformity.devices, 1, "--devices");
    requireCount(job.uniformity.cycles, 1, "--cycles");
    requireCount(job.uniformity.pulses, 1, "--pulses");
    runUniformity(p, job.uniformity, rng, out, progress);
  } else if (job.protocol == "states") {
    requireCount(job.states.states, 2, "--states");
    runStates(p, job.states, rng, out);
  } else if (job.protocol == "retention") {
    requireCount(job.retention.states, 1, "--states");
    requirePositive(job.retention.hold_s, "--hold");
    runRetention(p, job.retention, rng, out, progress);
  } else if (job.protocol == "pwm") {
    for (double w : job.pwm.widths_s) requirePositive(w, "--widths");
    runPwm(p, job.pwm, rng, out);
  } else if (job.protocol == "gate-iv") {
    requirePositive(job.gateIv.v_max, "--v-max");
    requirePositive(job.gateIv.width_s, "--width");
    runGateIv(p, job.gateIv, out);
    arrayGateMetrics(p, job.gateIv, out);
  } else {
    throw InputError({}, "protocol", "unknown protocol '" + echoToken(job.protocol) + "'");
  }
  if (job.cards.size() == 1) {
    recordCard(job.cards.front(), "/config/model", out);
  } else {
    for (const auto& c : job.cards) recordCard(c, "/config/models/" + c.name, out);
  }
  return out;
}

}  // namespace ecramsim::app

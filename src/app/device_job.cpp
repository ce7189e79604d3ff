#include "app/device_job.hpp"

#include "app/cards.hpp"

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
    runGateIv(p, job.gateIv, out);
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

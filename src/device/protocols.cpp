#include "device/protocols.hpp"

#include <algorithm>
#include <cmath>

#include "core/stats.hpp"
#include "device/bench.hpp"
#include "device/metrics.hpp"
#include "device/physics.hpp"

namespace ecramsim {

namespace {

/// G before the first pulse and after every pulse of a run of up/down branches.
struct CycleTrace {
  std::vector<double> g;                      ///< S, start then after each pulse
  std::vector<std::int64_t> polarity;         ///< +1 / -1 per pulse
  std::vector<std::vector<double>> branches;  ///< each branch with its starting point
};

/// n pulses of one polarity, reading after each; appends to the trace as one branch.
void branch(CellBench& b, int n, double sign, const PulseShape& s, CycleTrace& t) {
  std::vector<double> g{b.readConductance(s.read_v)};
  for (int i = 0; i < n; ++i) {
    b.pulse(sign * s.amplitude_v, s.width_s);
    b.idle(s.interval_s, GateMode::Grounded);
    g.push_back(b.readConductance(s.read_v));
    t.g.push_back(g.back());
    t.polarity.push_back(sign > 0 ? 1 : -1);
  }
  t.branches.push_back(std::move(g));
}

/// For each count n: n up then n down.
CycleTrace cycles(CellBench& b, const std::vector<int>& counts, const PulseShape& s) {
  CycleTrace t;
  t.g.push_back(b.readConductance(s.read_v));
  for (int n : counts) {
    branch(b, n, +1.0, s, t);
    branch(b, n, -1.0, s, t);
  }
  return t;
}

/// Step, nonlinearity, asymmetry and c2c metrics of a trace, under `prefix`.
void traceMetrics(const CycleTrace& t, const CellParams& cell, const std::vector<PulseRecord>& log,
                  const std::string& prefix, ResultTree& out) {
  std::vector<double> upSteps;
  std::vector<double> dnSteps;
  double nlUp = 0.0;
  double nlDn = 0.0;
  for (const auto& br : t.branches) {
    const auto s = metrics::analyzeBranch(br);
    if (br.size() < 2) continue;
    if (br.back() >= br.front()) {
      upSteps.push_back(s.meanStep);
      nlUp = std::max(nlUp, s.nonlinearityPct);
    } else {
      dnSteps.push_back(s.meanStep);
      nlDn = std::max(nlDn, s.nonlinearityPct);
    }
  }
  const double up = stats::mean(upSteps);
  const double dn = stats::mean(dnSteps);
  out.metric(prefix + "mean_dg_up_s", up, "S", "mean conductance change per up pulse");
  out.metric(prefix + "mean_dg_dn_s", dn, "S", "mean conductance change per down pulse (signed)");
  out.metric(prefix + "nonlinearity_up_pct", nlUp, "%",
             "largest deviation of an up branch from its chord, % of the branch's range");
  out.metric(prefix + "nonlinearity_dn_pct", nlDn, "%",
             "largest deviation of a down branch from its chord, % of the branch's range");
  out.metric(prefix + "asymmetry", metrics::asymmetry(up, dn), "1",
             "(|up step| - |down step|) / mean of both");
  out.metric(prefix + "c2c_sigma_rel", metrics::c2cSigmaRel(t.branches, cell.gmin, cell.gmax), "1",
             "cycle-to-cycle sigma of a step relative to the local mean step");
  double energy = 0.0;
  for (const auto& r : log) energy += r.energy_j;
  out.metric(prefix + "energy_per_pulse_j", log.empty() ? 0.0 : energy / double(log.size()), "J",
             "mean energy drawn from the gate source per pulse");
}

void pulseLog(const std::vector<PulseRecord>& log, const std::string& group, ResultTree& out) {
  std::vector<double> t, v, w, e;
  for (const auto& r : log) {
    t.push_back(r.time_s);
    v.push_back(r.amplitude_v);
    w.push_back(r.width_s);
    e.push_back(r.energy_j);
  }
  out.vector(group + "/time_s", std::move(t), "s", "start of each pulse");
  out.vector(group + "/amplitude_v", std::move(v), "V", "gate voltage of each pulse");
  out.vector(group + "/width_s", std::move(w), "s", "width of each pulse");
  out.vector(group + "/energy_j", std::move(e), "J", "energy drawn from the gate source");
  out.dimensionsBelow(group, {"pulse"});
}

std::vector<double> pulseNumbers(std::size_t n) {
  std::vector<double> k(n);
  for (std::size_t i = 0; i < n; ++i) k[i] = static_cast<double>(i);
  return k;
}

void shapeAttrs(const PulseShape& s, const std::string& group, ResultTree& out) {
  out.attribute(group, "amplitude_v", s.amplitude_v);
  out.attribute(group, "width_s", s.width_s);
  out.attribute(group, "interval_s", s.interval_s);
  out.attribute(group, "read_v", s.read_v);
}

EcramParams startingAt(EcramParams p, double x) {
  p.x0 = x;
  return p;
}

}  // namespace

double nominalRate(const EcramParams& p, double v, double x) {
  return physics::stateRate(cellParams(p), v, 0.0, 0.0, x);
}

void runPulses(const EcramParams& p, const PulsesConfig& cfg, Rng& rng, ResultTree& out) {
  const DeviceVariation var = drawVariation(p, rng);
  CellBench bench(startingAt(p, cfg.x_start), var, rng);
  std::vector<int> counts;
  for (int r = 0; r < cfg.repeats; ++r) counts.insert(counts.end(), cfg.counts.begin(), cfg.counts.end());
  const CycleTrace t = cycles(bench, counts, cfg.shape);
  out.vector("/pulses/g_s", t.g, "S", "conductance before the first pulse, then after each pulse");
  out.vector("/pulses/pulse_number", pulseNumbers(t.g.size()), "count", "0 = before the first pulse");
  out.integers("/pulses/polarity", t.polarity, "1", "+1 potentiation, -1 depression");
  pulseLog(bench.pulses(), "/pulses/log", out);
  out.dimensions("/pulses/g_s", {"pulse_number"});
  out.dimensions("/pulses/polarity", {"pulse"});
  std::vector<std::int64_t> c(cfg.counts.begin(), cfg.counts.end());
  out.integers("/config/protocol/counts", c, "count", "pulses per branch, each n up then n down");
  shapeAttrs(cfg.shape, "/config/protocol", out);
  traceMetrics(t, bench.cell(), bench.pulses(), "", out);
}

void runWindows(const std::vector<std::pair<std::string, EcramParams>>& cards,
                const WindowsConfig& cfg, Rng& rng, ResultTree& out, Progress& progress) {
  std::size_t done = 0;
  for (const auto& [name, p] : cards) {
    globalCancelToken().throwIfCancelled();
    const DeviceVariation var = drawVariation(p, rng);
    CellBench bench(startingAt(p, 0.0), var, rng);
    const CycleTrace t = cycles(bench, {cfg.pulses}, cfg.shape);
    const std::string g = "/devices/" + name;
    out.vector(g + "/g_s", t.g, "S", "conductance before, then after each pulse");
    out.vector(g + "/pulse_number", pulseNumbers(t.g.size()), "count", "");
    out.dimensions(g + "/g_s", {"pulse_number"});
    out.attribute(g, "gmin_s", p.gmin);
    out.attribute(g, "gmax_s", p.gmax);
    const auto [lo, hi] = std::minmax_element(t.g.begin(), t.g.end());
    out.metric(name + "/g_low_s", *lo, "S", "lowest conductance reached");
    out.metric(name + "/g_high_s", *hi, "S", "highest conductance reached");
    traceMetrics(t, bench.cell(), bench.pulses(), name + "/", out);
    progress.update("windows", ++done, cards.size());
  }
  shapeAttrs(cfg.shape, "/config/protocol", out);
  out.attribute("/config/protocol", "pulses_per_branch", static_cast<std::int64_t>(cfg.pulses));
}

void runUniformity(const EcramParams& p, const UniformityConfig& cfg, Rng& rng, ResultTree& out,
                   Progress& progress) {
  std::vector<double> lows, highs, ups, c2c;
  for (int d = 0; d < cfg.devices; ++d) {
    globalCancelToken().throwIfCancelled();
    const DeviceVariation var = drawVariation(p, rng);
    CellBench bench(startingAt(p, 0.0), var, rng);
    const CycleTrace t = cycles(bench, std::vector<int>(std::size_t(cfg.cycles), cfg.pulses), cfg.shape);
    const std::string g = "/devices/device_" + std::to_string(d);
    out.vector(g + "/g_s", t.g, "S", "conductance before, then after each pulse");
    out.dimensions(g + "/g_s", {"pulse_number"});
    out.attribute(g, "gmin_factor", var.gmin);
    out.attribute(g, "gmax_factor", var.gmax);
    out.attribute(g, "i0_factor", var.i0);
    out.attribute(g, "qc_factor", var.q_c);
    lows.push_back(*std::min_element(t.g.begin(), t.g.end()));
    highs.push_back(*std::max_element(t.g.begin(), t.g.end()));
    std::vector<double> deviceUps;
    for (const auto& br : t.branches) {
      if (br.back() >= br.front()) deviceUps.push_back(metrics::analyzeBranch(br).meanStep);
    }
    ups.push_back(stats::mean(deviceUps));
    // Per device, so that the spread between devices does not count as cycle-to-cycle noise.
    c2c.push_back(metrics::c2cSigmaRel(t.branches, bench.cell().gmin, bench.cell().gmax));
    progress.update("uniformity", std::size_t(d + 1), std::size_t(cfg.devices));
  }
  out.vector("/uniformity/g_low_s", lows, "S", "lowest conductance of each device");
  out.vector("/uniformity/g_high_s", highs, "S", "highest conductance of each device");
  out.vector("/uniformity/mean_dg_up_s", ups, "S", "mean up step of each device");
  auto rel = [](const std::vector<double>& v) { return stats::stddev(v) / std::fabs(stats::mean(v)); };
  out.metric("d2d_g_low_rel", rel(lows), "1", "device-to-device sigma/mean of the lowest conductance");
  out.metric("d2d_g_high_rel", rel(highs), "1", "device-to-device sigma/mean of the highest conductance");
  out.metric("d2d_step_rel", rel(ups), "1", "device-to-device sigma/mean of the mean up step");
  out.vector("/uniformity/c2c_sigma_rel", c2c, "1", "cycle-to-cycle sigma of each device");
  out.dimensionsBelow("/uniformity", {"device"});
  out.metric("c2c_sigma_rel", stats::mean(c2c), "1",
             "cycle-to-cycle sigma of a step relative to the local mean step, mean of the devices");
  shapeAttrs(cfg.shape, "/config/protocol", out);
}

void runStates(const EcramParams& p, const StatesConfig& cfg, Rng& rng, ResultTree& out) {
  PulseShape s = cfg.shape;
  if (s.width_s <= 0.0) {
    // Soft bound: x(n) = 1 - (1 - a (1 - p_up) n)^(1 / (1 - p_up)) for a first step a; choose a
    // so that the last state sits at about 98% of the range.
    const double rate0 = nominalRate(p, s.amplitude_v, 0.0);
    const double fill = 1.0 - std::pow(0.02, 1.0 - std::min(p.p_up, 0.99));
    s.width_s = fill / ((1.0 - std::min(p.p_up, 0.99)) * double(cfg.states - 1) * rate0);
  }
  const DeviceVariation var = drawVariation(p, rng);
  CellBench bench(startingAt(p, 0.0), var, rng);
  const int nIv = std::max(cfg.iv_points, 2);
  std::vector<double> vIv(static_cast<std::size_t>(nIv));
  for (int k = 0; k < nIv; ++k) vIv[std::size_t(k)] = -cfg.iv_max_v + 2.0 * cfg.iv_max_v * k / (nIv - 1);
  std::vector<double> g, iv, r2;
  for (int i = 0; i < cfg.states; ++i) {
    if (i > 0) {
      bench.pulse(s.amplitude_v, s.width_s);
      bench.idle(s.interval_s, GateMode::Grounded);
    }
    g.push_back(bench.readConductance(s.read_v));
    std::vector<double> cur;
    for (double v : vIv) cur.push_back(bench.readCurrent(v));
    r2.push_back(stats::fitLine(vIv, cur).r2);
    iv.insert(iv.end(), cur.begin(), cur.end());
  }
  bool increasing = true;
  std::vector<double> steps;
  for (std::size_t i = 1; i < g.size(); ++i) {
    steps.push_back(g[i] - g[i - 1]);
    increasing = increasing && g[i] > g[i - 1];
  }
  const double meanStep = stats::mean(steps);
  const auto distinct = std::count_if(steps.begin(), steps.end(),
                                      [&](double d) { return d > 0.25 * meanStep; });
  out.vector("/states/g_s", g, "S", "conductance of each state, read at read_v");
  out.vector("/states/iv_v", vIv, "V", "drain-source voltages of the read I-V sweep");
  out.matrix("/states/iv_i_a", g.size(), vIv.size(), iv, "A", "read current, one row per state");
  out.vector("/states/iv_r2", r2, "1", "R^2 of a straight-line fit of each state's I-V");
  out.dimensions("/states/iv_i_a", {"state", "iv_v"});  // iv_v: its own coordinates
  out.dimensions("/states/g_s", {"state"});
  out.dimensions("/states/iv_r2", {"state"});
  shapeAttrs(s, "/config/protocol", out);
  out.metric("states", double(g.size()), "count", "states written");
  out.metric("strictly_increasing", increasing ? 1.0 : 0.0, "1", "1 if every state exceeds the last");
  out.metric("distinguishable_states", double(1 + distinct), "count",
             "1 + steps larger than a quarter of the mean step");
  out.metric("min_step_s", steps.empty() ? 0.0 : *std::min_element(steps.begin(), steps.end()), "S",
             "smallest step between consecutive states");
  out.metric("iv_r2_min", *std::min_element(r2.begin(), r2.end()), "1",
             "worst read I-V linearity (R^2) over all states");
  out.metric("pulse_width_s", s.width_s, "s", "width of each state's pulse");
}

void runRetention(const EcramParams& p, const RetentionConfig& cfg, Rng& rng, ResultTree& out,
                  Progress& progress) {
  const int nt = std::max(cfg.samples, 2);
  std::vector<double> times(static_cast<std::size_t>(nt));
  for (int k = 0; k < nt; ++k) times[std::size_t(k)] = cfg.hold_s * std::pow(10.0, -4.0 * (nt - 1 - k) / (nt - 1));
  const DeviceVariation var = drawVariation(p, rng);
  std::vector<double> g, g0, drift;
  const double window = cellParams(p, var).gmax - cellParams(p, var).gmin;
  for (int i = 0; i < cfg.states; ++i) {
    globalCancelToken().throwIfCancelled();
    CellBench bench(startingAt(p, 0.0), var, rng);
    const int n = 5 + (cfg.states > 1 ? i * 90 / (cfg.states - 1) : 0);
    for (int k = 0; k < n; ++k) {
      bench.pulse(cfg.shape.amplitude_v, cfg.shape.width_s);
      bench.idle(cfg.shape.interval_s, GateMode::Grounded);
    }
    const double start = bench.readConductance(cfg.shape.read_v);
    g0.push_back(start);
    double t = 0.0;
    for (double tk : times) {
      bench.idle(tk - t, cfg.floating ? GateMode::Floating : GateMode::Grounded);
      t = tk;
      g.push_back(bench.readConductance(cfg.shape.read_v));
    }
    drift.push_back(100.0 * std::fabs(g.back() - start) / window);
    progress.update("retention", std::size_t(i + 1), std::size_t(cfg.states));
  }
  out.vector("/retention/time_s", times, "s", "hold time of each reading");
  out.vector("/retention/g_start_s", g0, "S", "conductance of each state before the hold");
  out.matrix("/retention/g_s", g0.size(), times.size(), g, "S", "one row per state");
  out.vector("/retention/drift_pct", drift, "%", "|G(hold) - G(0)| of each state, % of the window");
  out.dimensions("/retention/g_s", {"state", "time_s"});  // time_s: its own coordinates
  out.dimensions("/retention/g_start_s", {"state"});
  out.dimensions("/retention/drift_pct", {"state"});
  out.attribute("/config/protocol", "hold_s", cfg.hold_s);
  out.attribute("/config/protocol", "gate", std::string(cfg.floating ? "floating" : "grounded"));
  shapeAttrs(cfg.shape, "/config/protocol", out);
  out.metric("retention_drift_max_pct", *std::max_element(drift.begin(), drift.end()), "%",
             "largest |G(hold) - G(0)| over the states, % of the window");
  out.metric("retention_drift_mean_pct", stats::mean(drift), "%",
             "mean |G(hold) - G(0)| over the states, % of the window");
}

void runPwm(const EcramParams& p, const PwmConfig& cfg, Rng& rng, ResultTree& out) {
  const DeviceVariation var = drawVariation(p, rng);
  std::vector<double> up, dn;
  for (double w : cfg.widths_s) {
    for (double sign : {+1.0, -1.0}) {
      CellBench bench(startingAt(p, cfg.x_start), var, rng);
      const double before = bench.readConductance(cfg.shape.read_v);
      bench.pulse(sign * cfg.shape.amplitude_v, w);
      bench.idle(cfg.shape.interval_s, GateMode::Grounded);
      (sign > 0 ? up : dn).push_back(bench.readConductance(cfg.shape.read_v) - before);
    }
  }
  out.vector("/pwm/width_s", cfg.widths_s, "s", "pulse widths");
  out.vector("/pwm/dg_up_s", up, "S", "conductance change of one up pulse of each width");
  out.vector("/pwm/dg_dn_s", dn, "S", "conductance change of one down pulse of each width");
  out.dimensions("/pwm/dg_up_s", {"width_s"});  // width_s: its own coordinates
  out.dimensions("/pwm/dg_dn_s", {"width_s"});
  out.attribute("/config/protocol", "x_start", cfg.x_start);
  shapeAttrs(cfg.shape, "/config/protocol", out);
  const auto fu = stats::fitLine(cfg.widths_s, up);
  const auto fd = stats::fitLine(cfg.widths_s, dn);
  out.metric("pwm_r2_up", fu.r2, "1", "R^2 of delta-G against width, up pulses");
  out.metric("pwm_r2_dn", fd.r2, "1", "R^2 of delta-G against width, down pulses");
  out.metric("pwm_slope_up_s_per_s", fu.slope, "S/s", "delta-G per second of pulse width, up");
  out.metric("pwm_slope_dn_s_per_s", fd.slope, "S/s", "delta-G per second of pulse width, down");
}

void runGateIv(const EcramParams& p, const GateIvConfig& cfg, ResultTree& out) {
  const CellParams c = cellParams(p);
  const double x = p.x_eq;
  const int n = std::max(cfg.points, 2);
  std::vector<double> v, iIon, iLeak, rate;
  for (int k = 0; k < n; ++k) {
    const double vk = -cfg.v_max + 2.0 * cfg.v_max * k / (n - 1);
    v.push_back(vk);
    const double ii = physics::gateIonicCurrent(c, vk, 0.0, 0.0, x);
    iIon.push_back(ii);
    iLeak.push_back(physics::leakageCurrent(c, vk, 0.0, 0.0));
    rate.push_back(physics::stateRate(c, x, ii));
  }
  out.vector("/gate_iv/v_gc_v", v, "V", "gate-to-channel voltage");
  out.vector("/gate_iv/i_ion_a", iIon, "A", "ionic (Faradaic) gate current");
  out.vector("/gate_iv/i_leak_a", iLeak, "A", "electronic leakage gate current");
  out.vector("/gate_iv/rate_per_s", rate, "1/s", "state rate dx/dt");
  out.dimensions("/gate_iv/i_ion_a", {"v_gc_v"});  // v_gc_v: its own coordinates
  out.dimensions("/gate_iv/i_leak_a", {"v_gc_v"});
  out.dimensions("/gate_iv/rate_per_s", {"v_gc_v"});
  out.attribute("/gate_iv", "x", x);
  const double V = cfg.v_program;
  auto ratio = [&](double a, double b) {
    return std::fabs(nominalRate(p, a, x)) / std::max(std::fabs(nominalRate(p, b, x)), 1e-300);
  };
  out.metric("rate_ratio_v2", ratio(V, V / 2), "1", "update rate at +V over rate at +V/2");
  out.metric("rate_ratio_v3", ratio(V, V / 3), "1", "update rate at +V over rate at +V/3");
  out.metric("rate_ratio_v2_neg", ratio(-V, -V / 2), "1", "update rate at -V over rate at -V/2");
  out.metric("rate_ratio_v3_neg", ratio(-V, -V / 3), "1", "update rate at -V over rate at -V/3");
  out.metric("v_program_v", V, "V", "the V of the ratios");
}

}  // namespace ecramsim

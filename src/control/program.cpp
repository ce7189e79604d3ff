#include "control/program.hpp"

#include <algorithm>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <cmath>
#include <optional>

#include "control/compensation.hpp"
#include "control/width_table.hpp"
#include "core/error.hpp"
#include "device/integrate.hpp"
#include "device/physics.hpp"

namespace ecramsim {

namespace {

/// Terminal voltages of a selected cell under `bias` with ideal lines.
Terminals selectedTerminals(const BiasScheme& bias, double amplitude_v) {
  return biasLevels(bias, amplitude_v).cell(true, true);
}

}  // namespace

double nominalWidth(const EcramParams& nominal, const BiasScheme& bias, double amplitude_v,
                    double x_from, double x_to, double max_width_s) {
  const CellParams c = cellParams(nominal);
  const Terminals t = selectedTerminals(bias, amplitude_v);
  // With the terminals held, dx/dt = f(x) is autonomous, so the width is the integral of
  // dx / f(x) from x_from to x_to (adaptive Gauss-Kronrod; the window's (1 - x)^p_up zero at an
  // end is an integrable singularity the nodes never touch). A rate that does not point towards
  // x_to somewhere on the way means the cell cannot get there: the cap.
  const double lo = std::min(x_from, x_to), hi = std::max(x_from, x_to);
  if (hi - lo <= 0.0) return 0.0;
  const double dir = x_to >= x_from ? 1.0 : -1.0;
  bool stalls = false;
  auto inverseRate = [&](double x) {
    const double rate = dir * physics::stateRate(c, t.vg, t.vd, t.vs, x);
    if (!(rate > 0.0)) {
      stalls = true;
      return 0.0;
    }
    return 1.0 / rate;
  };
  const double width = boost::math::quadrature::gauss_kronrod<double, 31>::integrate(
      inverseRate, lo, hi, 15, 1e-12);
  if (stalls || !(width < max_width_s)) return max_width_s;
  return width;
}

CountPlan nominalCount(const EcramParams& nominal, const BiasScheme& bias, double amplitude_v,
                       double width_s, double x_from, double x_to, int max_count) {
  const CellParams c = cellParams(nominal);
  const Terminals t = selectedTerminals(bias, amplitude_v);
  CountPlan plan{0, x_from};
  while (plan.pulses < max_count) {
    const double next = advanceHeld(c, plan.x_after, t, width_s).x;
    // Stop at the count whose believed state is closest to the target (round to nearest).
    if (std::fabs(next - x_to) >= std::fabs(plan.x_after - x_to)) break;
    plan.x_after = next;
    ++plan.pulses;
  }
  return plan;
}

ArrayGateFigures arrayGateFigures(const EcramParams& nominal, GateModel gate, BiasFraction bias,
                                  double amplitude_v, double width_s, Wiring wiring) {
  CellParams c = cellParams(nominal);
  c.gate = gate;
  const BiasLevels l = biasLevels({bias, UnselectedLines::Grounded, wiring}, amplitude_v);
  const Terminals selected = l.cell(true, true);
  const Terminals others[] = {l.cell(true, false), l.cell(false, true), l.cell(false, false)};
  auto rate = [&](const Terminals& t) {
    return std::fabs(physics::stateRate(c, t.vg, t.vd, t.vs, c.x_eq));
  };
  double worst = 0.0;
  for (const Terminals& t : others) worst = std::max(worst, rate(t));
  ArrayGateFigures f;
  f.step_selected = advanceHeld(c, nominal.x0, selected, width_s).x - nominal.x0;
  f.selectivity = rate(selected) / std::max(worst, 1e-300);
  return f;
}

ProgramResult programArray(ArrayBackend& array, const EcramParams& nominal,
                           const Eigen::MatrixXd& target, double g_low, double g_high,
                           const ProgramConfig& cfg, Progress& progress) {
  const Eigen::Index R = array.rows();
  const Eigen::Index C = array.cols();
  if (target.rows() != R || target.cols() != C) {
    throw InputError({}, "target", "is " + std::to_string(target.rows()) + " x " +
                                       std::to_string(target.cols()) + ", the array " +
                                       std::to_string(R) + " x " + std::to_string(C));
  }
  if (!target.allFinite() || target.minCoeff() < 0.0 || target.maxCoeff() > 1.0) {
    throw InputError({}, "target", "values must be finite and within [0, 1]");
  }
  if (cfg.scheme == ProgramScheme::Verify) {
    requireReadableWiring(cfg.bias.wiring, "program-and-verify (it reads every cell)");
  }
  if ((cfg.lines != nullptr || cfg.model != nullptr) && cfg.scheme != ProgramScheme::Pwm) {
    throw InputError({}, "--compensate", "corrects pwm widths: use it with --scheme pwm");
  }
  const double range = nominal.gmax - nominal.gmin;
  ProgramResult res;
  res.target_s = (g_low + (g_high - g_low) * target.array()).matrix();
  const Eigen::MatrixXd xTarget = ((res.target_s.array() - nominal.gmin) / range).matrix();
  if (cfg.reset) array.setStates(Eigen::MatrixXd::Zero(R, C));
  Eigen::MatrixXd belief = cfg.reset ? Eigen::MatrixXd::Zero(R, C)
                                     : (cfg.belief.size() ? cfg.belief : array.states());
  // The line-compensated widths of the whole run, planned before the first pulse.
  std::optional<LinePlan> linePlan;
  if (cfg.lines != nullptr) {
    linePlan = planLineCompensation(nominal, *cfg.lines, xTarget, belief,
                                    {cfg.bias, cfg.order, cfg.amplitude_v, cfg.max_width_s,
                                     cfg.line_plans});
  }
  res.before_s = array.probeConductances();
  res.disturb_s = Eigen::MatrixXd::Zero(R, C);
  res.pulses = Eigen::MatrixXd::Zero(R, C);
  const BackendCounters start = array.counters();

  // Applies a batch, charging the change of every cell not pulsed in it to its disturb.
  auto apply = [&](const std::vector<PulseRequest>& reqs) {
    if (reqs.empty()) return;
    PulseBatchResult b = array.applyPulses(reqs, cfg.bias, cfg.order);
    Eigen::MatrixXd pulsed = Eigen::MatrixXd::Zero(R, C);
    for (const auto& q : reqs) {
      pulsed(q.row, q.col) = 1.0;
      res.pulses(q.row, q.col) += 1.0;
    }
    for (Eigen::Index r = 0; r < R; ++r) {
      for (Eigen::Index c = 0; c < C; ++c) {
        if (pulsed(r, c) == 0.0) res.disturb_s(r, c) += b.delta_x(r, c) * range;
      }
    }
    res.log.insert(res.log.end(), b.pulses.begin(), b.pulses.end());
    res.total_pulses += static_cast<long long>(b.pulses.size());
  };
  // Line compensation: widths of a planned pwm batch corrected on the controller's model, from
  // the belief `before` the batch (see ProgramConfig::model).
  auto compensate = [&](std::vector<PulseRequest>& batch, const Eigen::MatrixXd& before) {
    if (cfg.model == nullptr || cfg.scheme != ProgramScheme::Pwm || batch.empty()) return;
    for (int it = 0; it < cfg.compensate_iterations; ++it) {
      cfg.model->setStates(before);
      (void)cfg.model->applyPulses(batch, cfg.bias, cfg.order);
      const Eigen::MatrixXd reached = cfg.model->states();
      for (PulseRequest& q : batch) {
        const double want = xTarget(q.row, q.col) - before(q.row, q.col);
        const double got = reached(q.row, q.col) - before(q.row, q.col);
        if (want * got <= 0.0) continue;
        q.width_s = std::min(q.width_s * want / got, cfg.max_width_s);
      }
    }
  };
  auto readRow = [&](Eigen::Index r) {
    Eigen::MatrixXd in = Eigen::MatrixXd::Zero(1, R);
    in(0, r) = cfg.read_v;
    res.reads += 1;
    return Eigen::VectorXd(array.vmm(in).row(0).transpose() / cfg.read_v);
  };

  // The open-loop pwm widths, nominalWidth tabulated for the two amplitudes.
  std::optional<NominalWidthTable> upWidths, downWidths;
  if (cfg.scheme == ProgramScheme::Pwm) {
    upWidths.emplace(nominal, cfg.bias, cfg.amplitude_v);
    downWidths.emplace(nominal, cfg.bias, -cfg.amplitude_v);
  }
  // Requests for one cell under the open-loop schemes; updates the belief.
  auto openLoopRequests = [&](Eigen::Index r, Eigen::Index c) {
    std::vector<PulseRequest> reqs;
    const double from = belief(r, c);
    const double to = xTarget(r, c);
    if (!linePlan && std::fabs(to - from) < 1e-12) return reqs;
    const double amp = (to > from ? 1.0 : -1.0) * cfg.amplitude_v;
    if (linePlan) {
      const double w = linePlan->width_s(r, c);
      if (w > 0.0) reqs.push_back({r, c, linePlan->amplitude_v(r, c), w});
      belief(r, c) = linePlan->predicted(r, c);
    } else if (cfg.scheme == ProgramScheme::Pwm) {
      const double w = (amp > 0.0 ? *upWidths : *downWidths).width(from, to, cfg.max_width_s);
      reqs.push_back({r, c, amp, w});
      belief(r, c) = to;
    } else {
      const CountPlan plan =
          nominalCount(nominal, cfg.bias, amp, cfg.count_width_s, from, to, cfg.max_count);
      for (int k = 0; k < plan.pulses; ++k) reqs.push_back({r, c, amp, cfg.count_width_s});
      belief(r, c) = plan.x_after;
    }
    return reqs;
  };

  const auto total = static_cast<std::size_t>(R * C);
  std::size_t done = 0;
  for (Eigen::Index r = 0; r < R; ++r) {
    globalCancelToken().throwIfCancelled();
    if (cfg.scheme == ProgramScheme::Verify) {
      for (Eigen::Index c = 0; c < C; ++c) {
        for (int it = 0; it < cfg.verify_max_iter; ++it) {
          const double g = readRow(r)(c);
          const double err = res.target_s(r, c) - g;
          if (std::fabs(err) <= cfg.verify_tol * (g_high - g_low)) break;
          // Next pulse from the nominal device, starting at the state the read implies.
          const double from = std::clamp((g - nominal.gmin) / range, 0.0, 1.0);
          const double amp = (err > 0 ? 1.0 : -1.0) * cfg.amplitude_v;
          const double w = nominalWidth(nominal, cfg.bias, amp, from, xTarget(r, c), cfg.max_width_s);
          apply({{r, c, amp, w}});
        }
        progress.update("program", ++done, total);
      }
      continue;
    }
    if (cfg.order == PulseOrder::Serial) {
      for (Eigen::Index c = 0; c < C; ++c) {
        const Eigen::MatrixXd before = belief;
        std::vector<PulseRequest> reqs = openLoopRequests(r, c);
        compensate(reqs, before);
        apply(reqs);
        progress.update("program", ++done, total);
      }
    } else {
      // Row-parallel: all up pulses of the row in one batch, then all down pulses. Pulse k of
      // every cell comes before pulse k+1 of any, so each phase holds one pulse per cell.
      for (const double sign : {1.0, -1.0}) {
        const Eigen::MatrixXd before = belief;
        std::vector<std::vector<PulseRequest>> perCell;
        for (Eigen::Index c = 0; c < C; ++c) {
          const double dir =
              linePlan ? linePlan->amplitude_v(r, c) : xTarget(r, c) - belief(r, c);
          if (dir * sign > 0.0) perCell.push_back(openLoopRequests(r, c));
        }
        std::vector<PulseRequest> batch;
        for (std::size_t k = 0;; ++k) {
          bool any = false;
          for (const auto& cell : perCell) {
            if (k < cell.size()) {
              batch.push_back(cell[k]);
              any = true;
            }
          }
          if (!any) break;
        }
        compensate(batch, before);
        apply(batch);
      }
      done += static_cast<std::size_t>(C);
      progress.update("program", done, total);
    }
  }
  const BackendCounters end = array.counters();
  res.time_s = end.elapsed_s - start.elapsed_s;
  res.energy_j = end.energy_j - start.energy_j;
  res.after_s = array.probeConductances();
  if (cfg.bias.wiring == Wiring::SourceRows) res.read_s = array.readConductances(cfg.read_v);
  return res;
}

}  // namespace ecramsim

#include "control/compensation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "device/physics.hpp"

namespace ecramsim {

namespace {

using Index = Eigen::Index;
constexpr double kInf = std::numeric_limits<double>::infinity();
/// 1, largest state change of one Runge-Kutta step of a driven cell within a segment (its
/// rate changes by well under 1 % over it away from the window's ends).
constexpr double kMaxStep = 0.005;
/// 1, a cell whose goal differs from its state by less than this gets no pulse (programArray's
/// rule for the uncompensated widths).
constexpr double kNoPulse = 1e-12;

/// One plan of a whole run on the model (see compensation.hpp).
class Planner {
 public:
  Planner(const EcramParams& nominal, const WriteLineModel& lines, const LinePlanConfig& cfg)
      : cell_(cellParams(nominal)), lines_(lines), cfg_(cfg), R_(lines.rows()),
        C_(lines.cols()) {}

  /// Plans from `belief` towards `goal` (R x C); fills the plan and the disturb after each
  /// pulse (`post`).
  void run(const Eigen::MatrixXd& belief, const Eigen::MatrixXd& goal, LinePlan& plan,
           Eigen::MatrixXd& post) {
    x_ = belief;
    g_ = conductances(x_);
    plan.width_s = Eigen::MatrixXd::Zero(R_, C_);
    plan.amplitude_v = Eigen::MatrixXd::Zero(R_, C_);
    plan.disturb = Eigen::MatrixXd::Zero(R_, C_);
    post = Eigen::MatrixXd::Zero(R_, C_);
    written_ = Eigen::MatrixXd::Zero(R_, C_);
    for (Index r = 0; r < R_; ++r) {
      globalCancelToken().throwIfCancelled();
      if (cfg_.order == PulseOrder::Serial) {
        for (Index c = 0; c < C_; ++c) {
          const double d = goal(r, c) - x_(r, c);
          if (std::fabs(d) >= kNoPulse) phase(r, d > 0 ? 1.0 : -1.0, {c}, goal, plan, post);
        }
        continue;
      }
      // Each cell gets one pulse: its direction is set at the start of its row.
      std::vector<Index> up, down;
      for (Index c = 0; c < C_; ++c) {
        const double d = goal(r, c) - x_(r, c);
        if (std::fabs(d) >= kNoPulse) (d > 0.0 ? up : down).push_back(c);
      }
      if (!up.empty()) phase(r, 1.0, up, goal, plan, post);
      if (!down.empty()) phase(r, -1.0, down, goal, plan, post);
    }
    plan.predicted = x_;
  }

 private:
  [[nodiscard]] Eigen::MatrixXd conductances(const Eigen::MatrixXd& x) const {
    return (cell_.gmin + (cell_.gmax - cell_.gmin) * x.array()).matrix();
  }
  /// 1/s, dx/dt of cell (r, c) at state x under the terminals t_.
  [[nodiscard]] double rate(Index r, Index c, double x) const {
    return physics::stateRate(cell_, t_.vg(r, c), t_.vd(r, c), t_.vs(r, c), x);
  }
  /// s, time for cell (r, c) to move from x to `to` under t_ (3-point Gauss-Legendre on
  /// 1/rate, whose nodes avoid the window's zero rate at 0 and 1), or infinity when the rate
  /// does not point towards `to` on the way. An estimate: it ends a segment, and the cells
  /// are then advanced and released where they cross their goals.
  [[nodiscard]] double timeTo(Index r, Index c, double x, double to) const {
    static constexpr double kNode = 0.3872983346207417;  // sqrt(3/5) / 2
    const double d = to - x;
    double sum = 0.0;
    for (const auto& [node, weight] : {std::pair{0.5 - kNode, 5.0 / 18.0},
                                       std::pair{0.5, 8.0 / 18.0},
                                       std::pair{0.5 + kNode, 5.0 / 18.0}}) {
      const double f = rate(r, c, x + node * d);
      if (!(f * d > 0.0)) return kInf;
      sum += weight / f;
    }
    return d * sum;
  }
  /// Advances cell (r, c) from x over dt under t_ (classical Runge-Kutta, steps of at most
  /// kMaxStep); stops where it crosses `goal` (moving in the direction `sign`) and returns the
  /// time of the crossing in `crossed` (linear within the step), or -1 when it does not cross.
  [[nodiscard]] double advance(Index r, Index c, double x, double rateX, double dt, double goal,
                               double sign, double& crossed) const {
    const int n = std::clamp(static_cast<int>(std::ceil(std::fabs(rateX) * dt / kMaxStep)), 1,
                             10000);
    const double h = dt / n;
    double f = rateX;
    crossed = -1.0;
    for (int k = 0; k < n; ++k) {
      if (k > 0) f = rate(r, c, x);
      const double k2 = rate(r, c, std::clamp(x + 0.5 * h * f, 0.0, 1.0));
      const double k3 = rate(r, c, std::clamp(x + 0.5 * h * k2, 0.0, 1.0));
      const double k4 = rate(r, c, std::clamp(x + h * k3, 0.0, 1.0));
      const double next = std::clamp(x + h / 6.0 * (f + 2.0 * k2 + 2.0 * k3 + k4), 0.0, 1.0);
      if ((goal - next) * sign <= 0.0) {
        crossed = h * (k + (next != x ? (goal - x) / (next - x) : 1.0));
        return goal;
      }
      x = next;
    }
    return x;
  }

  /// One phase on row r with amplitude sign x |V|, the cells of `cols` driven towards `goal`.
  void phase(Index r, double sign, const std::vector<Index>& cols, const Eigen::MatrixXd& goal,
             LinePlan& plan, Eigen::MatrixXd& post) {
    const double amp = sign * cfg_.amplitude_v;
    std::vector<bool> active(std::size_t(C_), false);
    for (Index c : cols) active[std::size_t(c)] = true;
    lines_.phaseTerminals(g_, r, amp, active, cfg_.bias, t_);
    const BiasLevels lv = biasLevels(cfg_.bias, amp);
    const bool idleAtRest = lv.gate_unselected_v == lv.source_unselected_v &&
                            lv.gate_unselected_v == lv.drain_unselected_v &&
                            cell_.tau_ret <= 0.0;
    // Disturb rates at the phase start of every cell that is not driven.
    Eigen::MatrixXd startRate = Eigen::MatrixXd::Zero(R_, C_);
    for (Index k = 0; k < R_; ++k) {
      for (Index c = 0; c < C_; ++c) {
        const bool colOn = active[std::size_t(c)];
        if ((k == r && colOn) || (k != r && !colOn && idleAtRest)) continue;
        startRate(k, c) = rate(k, c, x_(k, c));
      }
    }
    Eigen::MatrixXd change = Eigen::MatrixXd::Zero(R_, C_);  // disturb of this phase
    std::vector<Index> open = cols;
    std::vector<double> released(std::size_t(C_), 0.0), driftRate(std::size_t(C_), 0.0);
    for (Index c : cols) written_(r, c) = 1.0;
    double t = 0.0;
    std::vector<double> rates;
    while (!open.empty()) {
      // The segment runs until the first driven cell reaches its goal (or the width cap).
      rates.resize(open.size());
      double dt = kInf;
      std::size_t first = 0;
      for (std::size_t i = 0; i < open.size(); ++i) {
        const Index c = open[i];
        rates[i] = rate(r, c, x_(r, c));
        const double tau = timeTo(r, c, x_(r, c), goal(r, c));
        if (tau < dt) {
          dt = tau;
          first = i;
        }
      }
      const bool capped = !(t + dt < cfg_.max_width_s);
      if (capped) dt = cfg_.max_width_s - t;
      std::vector<Index> out, keep;
      for (std::size_t i = 0; i < open.size(); ++i) {
        const Index c = open[i];
        double crossed = -1.0;
        const double x = advance(r, c, x_(r, c), rates[i], dt, goal(r, c), sign, crossed);
        x_(r, c) = x;
        double w = t + crossed;
        if (crossed < 0.0 && i == first && !capped) {
          // Short of its goal by what the segment's estimate missed: the rest at its rate.
          const double left = goal(r, c) - x, f = rate(r, c, x);
          w = t + dt + (f * left > 0.0 ? left / f : 0.0);
          x_(r, c) = goal(r, c);
        } else if (crossed < 0.0) {
          if (!capped) {
            keep.push_back(c);
            continue;
          }
          w = t + dt;
        }
        released[std::size_t(c)] = std::min(w, cfg_.max_width_s);
        out.push_back(c);
      }
      t += dt;
      for (Index c : cols) g_(r, c) = cell_.gmin + (cell_.gmax - cell_.gmin) * x_(r, c);
      // The released columns' cells off the row: mean of the start and end rates over the width.
      for (Index c : out) {
        const double w = released[std::size_t(c)];
        for (Index k = 0; k < R_; ++k) {
          if (k != r) change(k, c) += 0.5 * (startRate(k, c) + rate(k, c, x_(k, c))) * w;
        }
        active[std::size_t(c)] = false;
      }
      open = keep;
      if (!open.empty()) {
        lines_.phaseTerminals(g_, r, amp, active, cfg_.bias, t_);
        for (Index c : out) driftRate[std::size_t(c)] = rate(r, c, x_(r, c));
      }
    }
    const double end = t;
    for (Index c : cols) {
      const double w = released[std::size_t(c)];
      plan.width_s(r, c) = w;
      plan.amplitude_v(r, c) = amp;
      // After its release; part of its own phase, so not counted in plan.disturb.
      const double before = x_(r, c);
      x_(r, c) = std::clamp(before + driftRate[std::size_t(c)] * (end - w), 0.0, 1.0);
      post(r, c) += x_(r, c) - before;
      g_(r, c) = cell_.gmin + (cell_.gmax - cell_.gmin) * x_(r, c);
    }
    for (Index c = 0; c < C_; ++c) {
      if (!std::binary_search(cols.begin(), cols.end(), c)) {
        // The selected row's idle cells (the whole phase) and, when not at rest, the rest.
        for (Index k = 0; k < R_; ++k) {
          if (k == r || !idleAtRest) change(k, c) += startRate(k, c) * end;
        }
      }
    }
    for (Index k = 0; k < R_; ++k) {
      for (Index c = 0; c < C_; ++c) {
        const double d = change(k, c);
        if (d == 0.0) continue;
        const double before = x_(k, c);
        x_(k, c) = std::clamp(before + d, 0.0, 1.0);
        const double moved = x_(k, c) - before;
        plan.disturb(k, c) += moved;
        if (written_(k, c) != 0.0) post(k, c) += moved;
        g_(k, c) = cell_.gmin + (cell_.gmax - cell_.gmin) * x_(k, c);
      }
    }
  }

  CellParams cell_;
  const WriteLineModel& lines_;
  LinePlanConfig cfg_;
  Index R_, C_;
  Eigen::MatrixXd x_, g_, written_;
  PhaseTerminals t_;
};

}  // namespace

LinePlan planLineCompensation(const EcramParams& nominal, const WriteLineModel& lines,
                              const Eigen::MatrixXd& target, const Eigen::MatrixXd& belief,
                              const LinePlanConfig& cfg) {
  const Index R = lines.rows(), C = lines.cols();
  for (const Eigen::MatrixXd* m : {&target, &belief}) {
    if (m->rows() != R || m->cols() != C || !m->allFinite() || m->minCoeff() < 0.0 ||
        m->maxCoeff() > 1.0) {
      throw InputError({}, "--compensate",
                       "targets and belief must be " + std::to_string(R) + " x " +
                           std::to_string(C) + " states in [0, 1]");
    }
  }
  if (cfg.iterations < 1) throw InputError({}, "--compensate", "needs at least one plan");
  Planner planner(nominal, lines, cfg);
  LinePlan plan;
  Eigen::MatrixXd post = Eigen::MatrixXd::Zero(R, C);
  for (int it = 0; it < cfg.iterations; ++it) {
    const Eigen::MatrixXd goal = (target - post).cwiseMax(0.0).cwiseMin(1.0);
    planner.run(belief, goal, plan, post);
  }
  return plan;
}

}  // namespace ecramsim

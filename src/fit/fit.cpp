#include "fit/fit.hpp"

#include <ceres/ceres.h>

#include <Eigen/Dense>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <sstream>

#include "core/progress.hpp"
#include "core/rng.hpp"
#include "core/stats.hpp"
#include "core/version.hpp"
#include "device/bench.hpp"
#include "device/metrics.hpp"
#include "core/units.hpp"
#include "fit/response.hpp"
#include "modelcard/ecram_table.hpp"

namespace ecramsim::fit {

namespace {

constexpr std::array<std::string_view, 9> kFittable{
    "gmin", "gmax", "q_c", "p_up", "p_dn", "dg_c2c", "gmin_d2d", "gmax_d2d", "qc_d2d"};
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// The least-squares unknowns. theta maps to the card's values so that the window always holds
/// the data (a reading outside [gmin, gmax] is one the model cannot produce): gmin = lo - e^a,
/// gmax = hi + e^b with lo, hi the data's extremes; q_c = e^c; p_up, p_dn directly.
struct Mapping {
  bool gmin = false, gmax = false, qc = false, pUp = false, pDn = false;
  std::vector<std::string> keys;  ///< natural keys, in theta order
  EcramParams base{};
  double lo = 0.0, hi = 0.0;  ///< S, smallest and largest reading

  [[nodiscard]] std::size_t size() const { return keys.size(); }

  [[nodiscard]] EcramParams params(const double* theta) const {
    EcramParams p = base;
    std::size_t i = 0;
    if (gmin) p.gmin = lo - std::exp(theta[i++]);
    if (gmax) p.gmax = hi + std::exp(theta[i++]);
    if (qc) p.q_c = std::exp(theta[i++]);
    if (pUp) p.p_up = theta[i++];
    if (pDn) p.p_dn = theta[i++];
    return p;
  }

  [[nodiscard]] std::vector<double> theta(const EcramParams& p) const {
    std::vector<double> t;
    if (gmin) t.push_back(std::log(lo - p.gmin));
    if (gmax) t.push_back(std::log(p.gmax - hi));
    if (qc) t.push_back(std::log(p.q_c));
    if (pUp) t.push_back(p.p_up);
    if (pDn) t.push_back(p.p_dn);
    return t;
  }

  /// Bounds of theta from the parameter table's ranges (gmin > 0: a < log(lo)); NaN: none.
  [[nodiscard]] std::pair<double, double> limits(std::size_t i) const {
    const ParamSpec& s = *findParam(keys[i]);
    if (keys[i] == "gmin") return {kNaN, std::log(lo * (1 - 1e-9))};
    if (keys[i] == "gmax") return {kNaN, std::log(s.max - hi)};
    if (keys[i] == "q_c") return {kNaN, std::log(s.max)};
    return {s.min, s.max};
  }

  void bound(ceres::Problem& problem, double* theta) const {
    for (std::size_t i = 0; i < size(); ++i) {
      const auto [low, high] = limits(i);
      if (!std::isnan(low)) problem.SetParameterLowerBound(theta, static_cast<int>(i), low);
      if (!std::isnan(high)) problem.SetParameterUpperBound(theta, static_cast<int>(i), high);
    }
  }

  /// True when theta[i] sits on one of its bounds (Ceres projects onto them exactly).
  [[nodiscard]] bool atBound(std::size_t i, const double* theta) const {
    const auto [low, high] = limits(i);
    auto on = [&](double b) {
      return !std::isnan(b) && std::fabs(theta[i] - b) <= 1e-9 * std::max(1.0, std::fabs(b));
    };
    return on(low) || on(high);
  }
};

/// The data as the residuals see them.
struct Problem {
  const MeasuredData* data = nullptr;
  PulseShape shape;
  Objective objective = Objective::Ramps;
  int nodes = 0;
  double span = 1.0;  ///< S, conductance span of the data: residuals are in units of it
  std::vector<std::vector<double>> tableMedian;  ///< per table, median dG of each bin

  [[nodiscard]] std::size_t residualCount() const {
    std::size_t n = 0;
    for (const auto& r : data->ramps) n += r.g_s.size() - 1;
    for (const auto& t : data->tables) n += t.g_s.size();
    return n;
  }

  /// The response of the last evaluation: reused (with the new window) when only gmin or gmax
  /// changed, which halves the pulse simulations of a central-difference Jacobian.
  mutable std::optional<PulseResponse> cached;

  void residuals(const EcramParams& p, double* out) const {
    if (cached && cached->sameDynamics(p)) {
      cached->setWindow(p.gmin, p.gmax);
    } else {
      cached.emplace(p, shape, nodes);
    }
    const PulseResponse& resp = *cached;
    std::size_t i = 0;
    for (const auto& r : data->ramps) {
      double x = resp.state(r.g_s[0]);
      for (std::size_t k = 1; k < r.g_s.size(); ++k) {
        if (objective == Objective::Steps) x = resp.state(r.g_s[k - 1]);
        x = resp.next(x, r.polarity);
        out[i++] = (resp.conductance(x) - r.g_s[k]) / span;
      }
    }
    for (std::size_t t = 0; t < data->tables.size(); ++t) {
      const auto& tab = data->tables[t];
      for (std::size_t b = 0; b < tab.g_s.size(); ++b) {
        const double g = tab.g_s[b];
        const double m = resp.conductance(resp.next(resp.state(g), tab.polarity)) - g;
        out[i++] = (m - tableMedian[t][b]) / span;
      }
    }
  }
};

class Residuals {
 public:
  Residuals(const Problem& problem, const Mapping& mapping)
      : problem_(problem), mapping_(mapping) {}
  bool operator()(double const* const* theta, double* residuals) const {
    problem_.residuals(mapping_.params(theta[0]), residuals);
    return true;
  }

 private:
  const Problem& problem_;
  const Mapping& mapping_;
};

class CancelCallback final : public ceres::IterationCallback {
 public:
  ceres::CallbackReturnType operator()(const ceres::IterationSummary&) override {
    return globalCancelToken().cancelled() ? ceres::SOLVER_ABORT : ceres::SOLVER_CONTINUE;
  }
};

/// The q-quantile of a column of a table by linear interpolation in its CDF points.
double tableQuantile(const StepTable& t, std::size_t bin, double q) {
  std::vector<double> col;
  for (const auto& row : t.dg_s) col.push_back(row[bin]);
  if (q <= t.cdf.front()) return col.front();
  if (q >= t.cdf.back()) return col.back();
  for (std::size_t c = 1; c < t.cdf.size(); ++c) {
    if (q <= t.cdf[c]) {
      const double width = t.cdf[c] - t.cdf[c - 1];
      const double w = width > 0.0 ? (q - t.cdf[c - 1]) / width : 1.0;
      return col[c - 1] + w * (col[c] - col[c - 1]);
    }
  }
  return col.back();
}

const ParamSpec& spec(std::string_view key) { return *findParam(key); }

std::string branchName(int polarity) { return polarity > 0 ? "up" : "down"; }

double sd(const std::vector<double>& v) { return stats::stddev(v); }

/// Cycle-to-cycle noise separated from read noise. Per polarity, the steps dG_k whose ends lie in
/// the inner 90% of the data's span are fitted by a quintic m(G) (as metrics::c2cSigmaRel);
/// with e_k = dG_k - m(G_k-1), a reading error r_k (sigma_r) enters two neighbouring steps with
/// opposite signs while the bench's noise dG = m (1 + sigma N) does not, so
///   E[e_k^2] = sigma^2 E[m^2] + 2 sigma_r^2,   E[e_k e_k+1] = -sigma_r^2   (within a ramp),
/// and sigma^2 = (E[e^2] + 2 E[e_k e_k+1]) / E[m^2]. Without the lag term this is the naive
/// estimate, which counts read noise as cycle-to-cycle noise and overstates how far ramps
/// spread apart.
struct C2cEstimate {
  double c2c = 0.0;
  double readNoise_s = 0.0;
  double naive = 0.0;
  std::size_t steps = 0;
};

C2cEstimate estimateC2c(const std::vector<Ramp>& ramps, double lo, double hi) {
  const double a = lo + 0.05 * (hi - lo);
  const double b = hi - 0.05 * (hi - lo);
  auto inside = [&](double g0, double g1) {
    return std::min(g0, g1) >= a && std::max(g0, g1) <= b;
  };
  double s2 = 0.0, lag = 0.0, m2 = 0.0;
  std::size_t n2 = 0, nLag = 0;
  for (int polarity : {1, -1}) {
    std::vector<double> before, step;
    for (const auto& r : ramps) {
      if (r.polarity != polarity) continue;
      for (std::size_t k = 1; k < r.g_s.size(); ++k) {
        if (!inside(r.g_s[k - 1], r.g_s[k])) continue;
        before.push_back(r.g_s[k - 1]);
        step.push_back(r.g_s[k] - r.g_s[k - 1]);
      }
    }
    if (step.size() < 8) continue;
    const auto poly = stats::fitPolynomial(before, step, 5);
    for (const auto& r : ramps) {
      if (r.polarity != polarity) continue;
      double prev = kNaN;
      for (std::size_t k = 1; k < r.g_s.size(); ++k) {
        if (!inside(r.g_s[k - 1], r.g_s[k])) {
          prev = kNaN;
          continue;
        }
        const double m = stats::evalPolynomial(poly, r.g_s[k - 1]);
        const double e = r.g_s[k] - r.g_s[k - 1] - m;
        s2 += e * e;
        m2 += m * m;
        ++n2;
        if (!std::isnan(prev)) {
          lag += e * prev;
          ++nLag;
        }
        prev = e;
      }
    }
  }
  C2cEstimate est;
  if (n2 == 0 || !(m2 > 0.0)) return est;
  const double v = s2 / static_cast<double>(n2);
  const double c = nLag > 0 ? std::min(lag / static_cast<double>(nLag), 0.0) : 0.0;
  const double mm = m2 / static_cast<double>(n2);
  est.c2c = std::sqrt(std::max(v + 2.0 * c, 0.0) / mm);
  est.readNoise_s = std::sqrt(-c);
  est.naive = std::sqrt(v / mm);
  est.steps = n2;
  return est;
}

/// How a branch's ramp lengths came about. Ramps of a fixed protocol have equal or arbitrary
/// lengths; ramps stopped at a target conductance are longer the further they lag. The sign of
/// the lag is read after the shortest ramp's pulses, where every ramp has a reading:
/// progressCorr = corr(pulses_i, polarity * G_i[shortest]). The lengths track progress when
/// that is negative and differs from 0 at about 95% (Student t > 2 with n - 2 degrees of
/// freedom, n ramps with unequal lengths).
struct RampLengths {
  std::size_t medianPulses = 0;  ///< upper median of the ramps' pulse counts
  double progressCorr = 0.0;
  bool trackProgress = false;
};

RampLengths rampLengths(const std::vector<Ramp>& ramps, const std::vector<std::size_t>& idx) {
  RampLengths out;
  std::vector<std::size_t> pulses;
  for (auto ri : idx) pulses.push_back(ramps[ri].g_s.size() - 1);
  std::vector<std::size_t> sorted = pulses;
  std::sort(sorted.begin(), sorted.end());
  out.medianPulses = sorted[sorted.size() / 2];
  if (sorted.front() == sorted.back() || idx.size() < 4) return out;
  std::vector<double> count, reached;
  for (std::size_t j = 0; j < idx.size(); ++j) {
    const Ramp& r = ramps[idx[j]];
    count.push_back(static_cast<double>(pulses[j]));
    reached.push_back(r.polarity * r.g_s[sorted.front()]);
  }
  const double c = stats::pearson(count, reached);
  const double t =
      -c * std::sqrt(static_cast<double>(idx.size() - 2) / std::max(1.0 - c * c, 1e-12));
  out.progressCorr = c;
  out.trackProgress = t > 2.0;
  return out;
}

}  // namespace

std::span<const std::string_view> fittableKeys() { return kFittable; }

bool FitResult::ok() const {
  return converged && std::none_of(values.begin(), values.end(),
                                   [](const FittedValue& v) { return v.atBound; });
}

FitResult fitCard(const MeasuredData& data, const ModelCard& start, const FitOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  if (data.ramps.empty() && data.tables.empty()) {
    throw InputError({}, "DATA", "no ramps or lookup tables to fit");
  }
  Mapping map;
  map.base = start.params;
  bool fitC2c = false;
  for (const auto& k : options.keys) {
    if (std::find(kFittable.begin(), kFittable.end(), k) == kFittable.end()) {
      std::string known;
      for (auto f : kFittable) known += (known.empty() ? "" : ", ") + std::string(f);
      throw InputError({}, "--fit",
                       "'" + echoToken(k) + "' cannot be fitted (one of: " + known + ")");
    }
  }
  auto wants = [&](std::string_view k) {
    return std::find(options.keys.begin(), options.keys.end(), k) != options.keys.end();
  };
  map.gmin = wants("gmin");
  map.gmax = wants("gmax");
  map.qc = wants("q_c");
  map.pUp = wants("p_up");
  map.pDn = wants("p_dn");
  fitC2c = wants("dg_c2c");
  for (auto k : {"gmin", "gmax", "q_c", "p_up", "p_dn"}) {  // the least-squares keys
    if (wants(k)) map.keys.emplace_back(k);
  }

  Problem prob;
  prob.data = &data;
  prob.shape = options.shape;
  prob.objective = options.objective;
  prob.nodes = options.tableNodes;
  double lo = std::numeric_limits<double>::max();
  double hi = 0.0;
  std::vector<double> steps;
  for (const auto& r : data.ramps) {
    for (std::size_t k = 0; k < r.g_s.size(); ++k) {
      lo = std::min(lo, r.g_s[k]);
      hi = std::max(hi, r.g_s[k]);
      if (k > 0) steps.push_back(std::fabs(r.g_s[k] - r.g_s[k - 1]));
    }
  }
  for (const auto& t : data.tables) {
    std::vector<double> med;
    for (std::size_t b = 0; b < t.g_s.size(); ++b) {
      med.push_back(tableQuantile(t, b, 0.5));
      lo = std::min(lo, t.g_s[b]);
      hi = std::max(hi, t.g_s[b]);
      steps.push_back(std::fabs(med.back()));
    }
    prob.tableMedian.push_back(std::move(med));
  }
  if (!(hi > lo)) throw InputError({}, "DATA", "every reading is the same conductance");
  prob.span = hi - lo;

  // Start: the window a little beyond the data, q_c scaled so the mid-window step matches the
  // data's median step.
  map.lo = lo;
  map.hi = hi;
  EcramParams p0 = start.params;
  if (map.gmin) p0.gmin = std::max(lo - 0.1 * prob.span, 0.5 * lo);
  if (map.gmax) p0.gmax = hi + 0.1 * prob.span;
  if (!(p0.gmin < lo) || !(p0.gmax > hi)) {
    throw InputError(start.where, p0.gmin < lo ? "gmax" : "gmin",
                     "the start card's window [" + formatShort(p0.gmin) + ", " +
                         formatShort(p0.gmax) + "] S does not hold the data's [" +
                         formatShort(lo) + ", " + formatShort(hi) +
                         "] S: fit the key or --set it");
  }
  if (map.qc) {
    const PulseResponse r(p0, options.shape, 0);
    const double dx = 0.5 * (std::fabs(r.next(0.5, 1) - 0.5) + std::fabs(r.next(0.5, -1) - 0.5));
    const double model = dx * (p0.gmax - p0.gmin);
    std::nth_element(steps.begin(), steps.begin() + static_cast<std::ptrdiff_t>(steps.size() / 2),
                     steps.end());
    const double median = steps[steps.size() / 2];
    if (!(model > 0.0) || !(median > 0.0)) {
      throw InputError(start.where, "q_c",
                       "the start card's pulses (" +
                           formatShort(options.shape.amplitude_v) + " V, " +
                           formatShort(options.shape.width_s) +
                           " s) do not move the state: no step to scale");
    }
    p0.q_c = std::clamp(p0.q_c * model / median, 1e-30, 1.0);
  }

  FitResult res;
  std::vector<double> theta = map.theta(p0);
  const std::size_t nRes = prob.residualCount();
  if (!map.keys.empty()) {
    if (nRes <= map.size()) {
      throw InputError({}, "DATA", std::to_string(nRes) + " readings cannot fix " +
                                       std::to_string(map.size()) + " parameters");
    }
    ceres::Problem problem;
    auto* cost = new ceres::DynamicNumericDiffCostFunction<Residuals, ceres::CENTRAL>(
        new Residuals(prob, map));
    cost->AddParameterBlock(static_cast<int>(map.size()));
    cost->SetNumResiduals(static_cast<int>(nRes));
    problem.AddResidualBlock(cost, nullptr, theta.data());
    map.bound(problem, theta.data());
    ceres::Solver::Options so;
    so.linear_solver_type = ceres::DENSE_QR;
    so.max_num_iterations = options.maxIterations;
    so.function_tolerance = 1e-10;
    so.parameter_tolerance = 1e-10;
    so.gradient_tolerance = 1e-14;
    so.num_threads = 1;
    so.logging_type = ceres::SILENT;
    CancelCallback cancel;
    so.callbacks.push_back(&cancel);
    ceres::Solver::Summary summary;
    ceres::Solve(so, &problem, &summary);
    globalCancelToken().throwIfCancelled();
    res.converged = summary.termination_type == ceres::CONVERGENCE;
    res.iterations = static_cast<int>(summary.iterations.size());
    if (!res.converged) {
      res.diagnostics.push_back("the least-squares fit did not converge: " + summary.message);
    }
    // Covariance of the natural values: s^2 (J^T J)^-1 with s^2 the residual variance per degree
    // of freedom and J the central-difference Jacobian in the natural values at the solution
    // (not in theta, whose map flattens at the window's edges); singular when J^T J's condition
    // exceeds 1e14.
    const std::size_t n = map.size();
    std::vector<double> ct(n * n, kNaN);
    const EcramParams best = map.params(theta.data());
    std::vector<double> r0(nRes);
    prob.residuals(best, r0.data());
    double finalCost = 0.0;
    for (double r : r0) finalCost += 0.5 * r * r;
    Eigen::MatrixXd jac(static_cast<Eigen::Index>(nRes), static_cast<Eigen::Index>(n));
    std::vector<double> rp(nRes), rm(nRes);
    for (std::size_t i = 0; i < n; ++i) {
      double EcramParams::*member = findParam(map.keys[i])->member;
      const double scale = map.keys[i] == "p_up" || map.keys[i] == "p_dn" ? 1.0
                           : map.keys[i] == "q_c"                      ? best.q_c
                                                                       : prob.span;
      const double h = 1e-6 * scale;
      EcramParams up = best, dn = best;
      up.*member += h;
      dn.*member -= h;
      prob.residuals(up, rp.data());
      prob.residuals(dn, rm.data());
      for (std::size_t k = 0; k < nRes; ++k) {
        jac(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(i)) = (rp[k] - rm[k]) / (2 * h);
      }
    }
    // Columns scaled to unit norm, so that the condition measures dependence, not units.
    const Eigen::VectorXd norms = jac.colwise().norm().transpose().cwiseMax(1e-300);
    const Eigen::MatrixXd js = jac * norms.cwiseInverse().asDiagonal();
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(js.transpose() * js);
    const auto& ev = eig.eigenvalues();
    if (ev.minCoeff() > 1e-14 * ev.maxCoeff()) {
      const double s2 = 2.0 * finalCost / static_cast<double>(nRes - n);
      const Eigen::MatrixXd inv = eig.eigenvectors() * ev.cwiseInverse().asDiagonal() *
                                  eig.eigenvectors().transpose();
      for (std::size_t a = 0; a < n; ++a) {
        for (std::size_t c = 0; c < n; ++c) {
          const auto ia = static_cast<Eigen::Index>(a);
          const auto ic = static_cast<Eigen::Index>(c);
          ct[a * n + c] = s2 * inv(ia, ic) / (norms(ia) * norms(ic));
        }
      }
    } else {
      std::ostringstream o;
      o << "the covariance is singular (eigenvalues of J^T J, columns scaled, from "
        << ev.minCoeff() << " to "
        << ev.maxCoeff() << "): the data do not fix every fitted parameter separately "
        << "(standard errors are NaN)";
      res.diagnostics.push_back(o.str());
    }
    res.covariance = ct;
  } else {
    res.converged = true;
  }
  EcramParams pf = map.params(theta.data());
  for (std::size_t i = 0; i < map.size(); ++i) {
    const std::string& k = map.keys[i];
    const ParamSpec& s = spec(k);
    FittedValue v{k, std::string(s.unit), p0.*s.member, pf.*s.member,
                  std::sqrt(res.covariance[i * map.size() + i]), false};
    v.atBound = map.atBound(i, theta.data()) || !inRange(s, v.value);
    res.values.push_back(v);
  }

  ResultTree& out = res.tree;
  // Cycle-to-cycle, from ramps: see C2cEstimate; from tables: the ratio estimator of the header
  // against the fitted model's step.
  const PulseResponse resp(pf, options.shape, options.tableNodes);
  double c2c = 0.0;
  std::size_t nSteps = 0;
  if (!data.ramps.empty()) {
    const C2cEstimate est = estimateC2c(data.ramps, lo, hi);
    c2c = est.c2c;
    nSteps = est.steps;
    out.metric("read_noise_s", est.readNoise_s, "S",
               "read noise of the data: sqrt(-lag-1 covariance of the step residuals)");
    out.metric("c2c_naive", est.naive, "1",
               "step sigma relative to the local mean step, read noise included");
  } else {
    double resid2 = 0.0, model2 = 0.0;
    for (const auto& t : data.tables) {
      for (std::size_t b = 0; b < t.g_s.size(); ++b) {
        const double m = resp.conductance(resp.next(resp.state(t.g_s[b]), t.polarity)) - t.g_s[b];
        const double half = 0.5 * (tableQuantile(t, b, 0.841345) - tableQuantile(t, b, 0.158655));
        resid2 += half * half;
        model2 += m * m;
        ++nSteps;
      }
    }
    c2c = model2 > 0.0 ? std::sqrt(resid2 / model2) : 0.0;
  }
  if (fitC2c) {
    const ParamSpec& s = spec("dg_c2c");
    FittedValue v{"dg_c2c", "1", start.params.dg_c2c, 0.0, 0.0, false};
    v.value = std::min(c2c, s.max);
    v.stderror = nSteps > 0 ? v.value / std::sqrt(2.0 * static_cast<double>(nSteps)) : kNaN;
    v.atBound = v.value >= s.max;
    pf.dg_c2c = v.value;
    res.values.push_back(v);
  }
  // Device-to-device: every device fitted alone (gmin, gmax, q_c, p_up, p_dn, from the pooled
  // fit); the sigma of gmin, gmax and q_c between devices less the mean squared standard error
  // within, relative to the mean. i0_d2d is not separable from qc_d2d by pulses of one shape
  // and stays as given.
  const int devices = data.devices();
  out.metric("devices", devices, "count", "devices in the data");
  std::vector<std::string> d2dKeys;
  for (const char* k : {"gmin_d2d", "gmax_d2d", "qc_d2d"}) {
    if (wants(k)) d2dKeys.emplace_back(k);
  }
  if (!d2dKeys.empty() && devices > 1) {
    FitOptions sub = options;
    sub.keys = {"gmin", "gmax", "q_c", "p_up", "p_dn"};
    sub.replicates = 1;
    sub.maxIterations = std::min(options.maxIterations, 100);
    ModelCard pooled = start;
    pooled.params = pf;
    std::map<std::string, std::vector<double>> value, var;
    for (int d = 0; d < devices; ++d) {
      MeasuredData one;
      one.files = data.files;
      for (const auto& r : data.ramps) {
        if (r.device == d) one.ramps.push_back(r);
      }
      if (one.ramps.empty()) continue;
      const FitResult f = fitCard(one, pooled, sub);
      for (const auto& v : f.values) {
        value[v.key].push_back(v.value);
        var[v.key].push_back(v.stderror * v.stderror);
      }
    }
    for (const auto& k : d2dKeys) {
      const std::string base = k == "qc_d2d" ? "q_c" : k.substr(0, 4);
      const auto& vs = value[base];
      FittedValue v{k, "1", start.params.*spec(k).member, 0.0, kNaN, false};
      if (vs.size() > 1) {
        const double between = sd(vs) * sd(vs);
        const double within = stats::mean(var[base]);
        v.value = std::sqrt(std::max(between - (std::isfinite(within) ? within : 0.0), 0.0)) /
                  stats::mean(vs);
        v.stderror = v.value / std::sqrt(2.0 * static_cast<double>(vs.size() - 1));
        v.atBound = !inRange(spec(k), v.value);
        v.value = std::min(v.value, spec(k).max);
      }
      pf.*spec(k).member = v.value;
      res.values.push_back(v);
    }
  }
  for (const auto& v : res.values) {
    if (v.atBound) {
      res.diagnostics.push_back(v.key + " = " + formatShort(v.value) +
                                " is at an end of its allowed range " + rangeText(spec(v.key)) +
                                ": the data ask for a value the model does not allow");
    }
  }

  // ---- the result file: data, predictions, residuals ----
  std::vector<double> g, pred, stepPred;
  std::vector<std::int64_t> rampIdx, pulseIdx, pol;
  std::vector<std::string> names;
  std::vector<std::int64_t> rampPol, rampDevice;
  std::vector<std::vector<double>> freeRun(data.ramps.size());
  for (std::size_t ri = 0; ri < data.ramps.size(); ++ri) {
    const Ramp& r = data.ramps[ri];
    names.push_back(r.name);
    rampPol.push_back(r.polarity);
    rampDevice.push_back(r.device);
    double x = resp.state(r.g_s[0]);
    for (std::size_t k = 0; k < r.g_s.size(); ++k) {
      if (k > 0) x = resp.next(x, r.polarity);
      const double gp = k == 0 ? r.g_s[0] : resp.conductance(x);
      freeRun[ri].push_back(gp);
      g.push_back(r.g_s[k]);
      pred.push_back(gp);
      const double one =
          k == 0 ? r.g_s[0] : resp.conductance(resp.next(resp.state(r.g_s[k - 1]), r.polarity));
      stepPred.push_back(one);
      rampIdx.push_back(static_cast<std::int64_t>(ri));
      pulseIdx.push_back(static_cast<std::int64_t>(k));
      pol.push_back(r.polarity);
    }
  }
  std::vector<double> resid(g.size());
  for (std::size_t i = 0; i < g.size(); ++i) resid[i] = g[i] - pred[i];
  if (!data.ramps.empty()) {
    out.vector("/data/g_s", g, "S", "every reading: a ramp's start, then after each pulse");
    out.integers("/data/ramp", rampIdx, "1", "index of the reading's ramp");
    out.integers("/data/pulse", pulseIdx, "count", "pulses of its ramp before the reading");
    out.integers("/data/polarity", pol, "1", "+1 up (set), -1 down (reset)");
    out.strings("/data/ramp_names", names, "name of each ramp");
    out.integers("/data/ramp_polarity", rampPol, "1", "polarity of each ramp");
    out.integers("/data/ramp_device", rampDevice, "1", "device index of each ramp");
    out.vector("/fit/prediction_s", pred, "S",
               "the fitted card, noise-free, simulated from each ramp's first reading");
    out.vector("/fit/step_prediction_s", stepPred, "S",
               "one pulse of the fitted card from the reading before (the start: itself)");
    out.vector("/fit/residual_s", resid, "S", "data minus prediction");
  }
  std::vector<std::string> files, shas, kinds;
  for (const auto& f : data.files) {
    files.push_back(f.path);
    shas.push_back(f.sha256);
    kinds.push_back(f.kind);
  }
  out.strings("/data/files", files, "the data files");
  out.strings("/data/sha256", shas, "sha256 of each data file");
  out.strings("/data/kinds", kinds, "form of each data file");

  // ---- per branch: mean and spread, noisy simulations, diagnostics ----
  Rng rng(options.seed);
  for (int polarity : {1, -1}) {
    std::vector<std::size_t> idx;
    for (std::size_t ri = 0; ri < data.ramps.size(); ++ri) {
      if (data.ramps[ri].polarity == polarity) idx.push_back(ri);
    }
    if (idx.empty()) continue;
    BranchFit bf;
    bf.polarity = polarity;
    bf.ramps = static_cast<int>(idx.size());
    const std::string grp = "/branches/" + branchName(polarity);
    std::size_t maxLen = 0;
    for (auto ri : idx) maxLen = std::max(maxLen, data.ramps[ri].g_s.size());
    const RampLengths lengths = rampLengths(data.ramps, idx);
    bf.lengthProgressCorr = lengths.progressCorr;
    bf.lengthsTrackProgress = lengths.trackProgress;
    bf.finalPulsesModel = lengths.trackProgress ? static_cast<int>(lengths.medianPulses) : -1;
    // Noisy simulations: every ramp from its first reading, to the longer of its own number of
    // pulses and the branch's median (the final reading when the lengths track progress).
    const int reps = std::max(options.replicates, 1);
    std::vector<std::vector<std::vector<double>>> noisy(static_cast<std::size_t>(reps));
    for (int rep = 0; rep < reps; ++rep) {
      for (auto ri : idx) {
        globalCancelToken().throwIfCancelled();
        const Ramp& r = data.ramps[ri];
        CellBench bench(pf, DeviceVariation{}, rng);
        bench.setState(resp.state(r.g_s[0]));
        std::vector<double> tr{r.g_s[0]};
        const std::size_t readings = std::max(r.g_s.size(), lengths.medianPulses + 1);
        for (std::size_t k = 1; k < readings; ++k) {
          bench.pulse(polarity * options.shape.amplitude_v, options.shape.width_s);
          bench.idle(options.shape.interval_s, GateMode::Grounded);
          tr.push_back(bench.readConductance(options.shape.read_v));
        }
        noisy[static_cast<std::size_t>(rep)].push_back(std::move(tr));
      }
    }
    std::vector<double> pulseK, meanD, meanM, sdD, sdM, count;
    for (std::size_t k = 0; k < maxLen; ++k) {
      std::vector<double> d, m, s;
      for (std::size_t j = 0; j < idx.size(); ++j) {
        const Ramp& r = data.ramps[idx[j]];
        if (k >= r.g_s.size()) continue;
        d.push_back(r.g_s[k]);
        m.push_back(freeRun[idx[j]][k]);
        for (const auto& rep : noisy) s.push_back(rep[j][k]);
      }
      // Pulses that at least half of the ramps reach: the tail of a few long ramps is not a mean.
      if (2 * d.size() < idx.size()) break;
      pulseK.push_back(static_cast<double>(k));
      meanD.push_back(stats::mean(d));
      meanM.push_back(stats::mean(m));
      sdD.push_back(sd(d));
      sdM.push_back(sd(s));
      count.push_back(static_cast<double>(d.size()));
    }
    double se = 0.0;
    for (std::size_t k = 1; k < meanD.size(); ++k) {
      se += (meanD[k] - meanM[k]) * (meanD[k] - meanM[k]);
    }
    bf.rmsePct = meanD.size() > 1
                     ? 100.0 * std::sqrt(se / static_cast<double>(meanD.size() - 1)) / prob.span
                     : 0.0;
    double ssRes = 0.0, ssTot = 0.0, sum = 0.0;
    std::size_t nr = 0;
    for (auto ri : idx) {
      for (std::size_t k = 1; k < data.ramps[ri].g_s.size(); ++k) {
        sum += data.ramps[ri].g_s[k];
        ++nr;
      }
    }
    const double gMean = sum / static_cast<double>(std::max<std::size_t>(nr, 1));
    for (auto ri : idx) {
      for (std::size_t k = 1; k < data.ramps[ri].g_s.size(); ++k) {
        const double dg = data.ramps[ri].g_s[k] - freeRun[ri][k];
        ssRes += dg * dg;
        ssTot += (data.ramps[ri].g_s[k] - gMean) * (data.ramps[ri].g_s[k] - gMean);
      }
    }
    bf.r2 = ssTot > 0.0 ? 1.0 - ssRes / ssTot : 1.0;
    bf.nonlinearityDataPct = metrics::analyzeBranch(meanD).nonlinearityPct;
    bf.nonlinearityModelPct = metrics::analyzeBranch(meanM).nonlinearityPct;
    // Residual trend: one-step residuals along G, in equal-count bins.
    std::vector<std::pair<double, double>> stepRes;  // (G before, dG - model step)
    double absStep = 0.0;
    for (auto ri : idx) {
      const Ramp& r = data.ramps[ri];
      for (std::size_t k = 1; k < r.g_s.size(); ++k) {
        const double m = resp.conductance(resp.next(resp.state(r.g_s[k - 1]), polarity)) -
                         r.g_s[k - 1];
        stepRes.emplace_back(r.g_s[k - 1], r.g_s[k] - r.g_s[k - 1] - m);
        absStep += std::fabs(r.g_s[k] - r.g_s[k - 1]);
      }
    }
    absStep /= static_cast<double>(stepRes.size());
    std::sort(stepRes.begin(), stepRes.end());
    const std::size_t bins = std::clamp<std::size_t>(stepRes.size() / 10, 1, 10);
    std::vector<double> binG, binMean, binSe;
    double chi2 = 0.0, size2 = 0.0;
    for (std::size_t b = 0; b < bins; ++b) {
      const std::size_t a = b * stepRes.size() / bins;
      const std::size_t e = (b + 1) * stepRes.size() / bins;
      std::vector<double> gs, rs;
      for (std::size_t i = a; i < e; ++i) {
        gs.push_back(stepRes[i].first);
        rs.push_back(stepRes[i].second);
      }
      const double mu = stats::mean(rs);
      const double err = rs.size() > 1 ? sd(rs) / std::sqrt(static_cast<double>(rs.size())) : 0.0;
      binG.push_back(stats::mean(gs));
      binMean.push_back(mu);
      binSe.push_back(err);
      chi2 += err > 0.0 ? (mu / err) * (mu / err) : 0.0;
      size2 += mu * mu;
    }
    bf.trendChi2 = chi2 / static_cast<double>(bins);
    bf.trendSize = absStep > 0.0 ? std::sqrt(size2 / static_cast<double>(bins)) / absStep : 0.0;
    bf.mismatch = bf.trendChi2 > 5.0 && bf.trendSize > 0.1;
    // Final conductance: ramp-to-ramp sigma of the last reading, data and simulations. A
    // simulated ramp ends after its data ramp's pulses, or after the branch's median number when
    // the data's lengths track progress (see RampLengths): a simulated ramp's noise is its own,
    // so the data's lengths, chosen by the measured ramps' noise, would only add spread to it.
    std::vector<double> lastD, travelD;
    for (auto ri : idx) {
      lastD.push_back(data.ramps[ri].g_s.back());
      travelD.push_back(data.ramps[ri].g_s.back() - data.ramps[ri].g_s.front());
    }
    bf.finalSigmaData_s = sd(lastD);
    bf.travelSigmaData_s = sd(travelD);
    double varLast = 0.0, varTravel = 0.0;
    for (const auto& rep : noisy) {
      std::vector<double> last, travel;
      for (std::size_t j = 0; j < idx.size(); ++j) {
        const std::vector<double>& tr = rep[j];
        const double gEnd = tr[lengths.trackProgress ? lengths.medianPulses
                                                     : data.ramps[idx[j]].g_s.size() - 1];
        last.push_back(gEnd);
        travel.push_back(gEnd - tr.front());
      }
      varLast += sd(last) * sd(last);
      varTravel += sd(travel) * sd(travel);
    }
    bf.finalSigmaModel_s = std::sqrt(varLast / static_cast<double>(noisy.size()));
    bf.travelSigmaModel_s = std::sqrt(varTravel / static_cast<double>(noisy.size()));
    // dG against G: data steps averaged in G bins, the model's step at the bin centres.
    constexpr int kDgBins = 20;
    const double gLo = stepRes.front().first;
    const double gHi = stepRes.back().first;
    std::vector<double> dgG, dgData, dgModel, dgSum(kDgBins, 0.0), dgN(kDgBins, 0.0);
    for (auto ri : idx) {
      const Ramp& r = data.ramps[ri];
      for (std::size_t k = 1; k < r.g_s.size(); ++k) {
        const double f = gHi > gLo ? (r.g_s[k - 1] - gLo) / (gHi - gLo) : 0.0;
        const auto b = static_cast<std::size_t>(std::clamp(f * kDgBins, 0.0, kDgBins - 1.0));
        dgSum[b] += r.g_s[k] - r.g_s[k - 1];
        dgN[b] += 1.0;
      }
    }
    for (std::size_t b = 0; b < kDgBins; ++b) {
      if (dgN[b] == 0.0) continue;
      const double gc = gLo + (gHi - gLo) * (static_cast<double>(b) + 0.5) / kDgBins;
      dgG.push_back(gc);
      dgData.push_back(dgSum[b] / dgN[b]);
      dgModel.push_back(resp.conductance(resp.next(resp.state(gc), polarity)) - gc);
    }
    out.vector(grp + "/pulse", pulseK, "count", "pulse index (reached by at least half the ramps)");
    out.vector(grp + "/mean_data_s", meanD, "S", "mean of the ramps' readings");
    out.vector(grp + "/mean_model_s", meanM, "S", "mean of the noise-free simulations");
    out.vector(grp + "/sigma_data_s", sdD, "S", "ramp-to-ramp sigma of the readings");
    out.vector(grp + "/sigma_model_s", sdM, "S",
               "sigma of the noisy simulations (dg_c2c, every ramp from its first reading)");
    out.vector(grp + "/count", count, "count", "ramps reaching the pulse");
    out.vector(grp + "/dg_g_s", dgG, "S", "G bin centres");
    out.vector(grp + "/dg_data_s", dgData, "S", "mean measured step from the bin");
    out.vector(grp + "/dg_model_s", dgModel, "S", "the fitted card's step from the bin centre");
    out.vector(grp + "/trend_g_s", binG, "S", "mean G of each residual bin");
    out.vector(grp + "/trend_residual_s", binMean, "S", "mean step residual of each bin");
    out.vector(grp + "/trend_se_s", binSe, "S", "standard error of each bin's mean");
    const std::string b = branchName(polarity);
    out.metric("rmse_" + b + "_pct", bf.rmsePct, "%",
               "RMSE of the mean model against the mean of the ramps, % of the data's G span");
    out.metric("r2_" + b, bf.r2, "1", "R^2 of every reading against its ramp's simulation");
    out.metric("nonlinearity_data_" + b + "_pct", bf.nonlinearityDataPct, "%",
               "largest deviation of the mean ramp from its chord, % of its range");
    out.metric("nonlinearity_model_" + b + "_pct", bf.nonlinearityModelPct, "%",
               "the same of the mean model");
    out.metric("trend_chi2_" + b, bf.trendChi2, "1",
               "step residuals in G bins: mean of (bin mean / standard error)^2");
    out.metric("trend_size_" + b, bf.trendSize, "1",
               "rms of the binned step residuals relative to the mean |step|");
    out.metric("mismatch_" + b, bf.mismatch ? 1.0 : 0.0, "1",
               "1: the residuals trend (chi2 > 5 and size > 0.1): the model cannot follow it");
    out.metric("final_sigma_data_" + b + "_s", bf.finalSigmaData_s, "S",
               "ramp-to-ramp sigma of the last reading, data");
    out.metric("final_sigma_model_" + b + "_s", bf.finalSigmaModel_s, "S",
               "the same of the noisy simulations of the fitted card");
    out.metric("travel_sigma_data_" + b + "_s", bf.travelSigmaData_s, "S",
               "ramp-to-ramp sigma of last minus first reading, data");
    out.metric("travel_sigma_model_" + b + "_s", bf.travelSigmaModel_s, "S",
               "the same of the noisy simulations of the fitted card");
    out.metric("length_progress_corr_" + b, bf.lengthProgressCorr, "1",
               "correlation of a ramp's pulse count with its progress after the shortest "
               "ramp's pulses (negative: lagging ramps got more pulses)");
    out.metric("final_pulses_model_" + b, bf.finalPulsesModel, "count",
               "pulses of every simulated ramp for the final sigma (the median, as the data's "
               "lengths track progress); -1: each its data ramp's own");
    if (bf.mismatch) {
      std::string from;
      for (auto ri : idx) {
        const std::string& f = data.ramps[ri].where.file;
        if (from.find(f) == std::string::npos) from += (from.empty() ? "" : ", ") + f;
      }
      std::ostringstream o;
      o.precision(3);
      o << (polarity > 0 ? "set" : "reset") << " branch (" << b << ", " << from
        << "): the step residuals trend along G (binned means from "
        << *std::min_element(binMean.begin(), binMean.end()) / absStep * 100.0 << "% to "
        << *std::max_element(binMean.begin(), binMean.end()) / absStep * 100.0
        << "% of the mean step, chi2/bin " << bf.trendChi2 << "; mean-ramp RMSE " << bf.rmsePct
        << "% of the span): the model's G(x) and window cannot follow this branch";
      res.diagnostics.push_back(o.str());
    }
    res.branches.push_back(bf);
  }
  // CrossSim tables: the model's step against the table's median row.
  for (std::size_t t = 0; t < data.tables.size(); ++t) {
    const StepTable& tab = data.tables[t];
    std::vector<double> model;
    double maxStep = 0.0, maxErr = 0.0;
    for (std::size_t b = 0; b < tab.g_s.size(); ++b) {
      model.push_back(resp.conductance(resp.next(resp.state(tab.g_s[b]), tab.polarity)) -
                      tab.g_s[b]);
      maxStep = std::max(maxStep, std::fabs(prob.tableMedian[t][b]));
      maxErr = std::max(maxErr, std::fabs(model.back() - prob.tableMedian[t][b]));
    }
    const std::string b = branchName(tab.polarity);
    out.vector("/tables/" + b + "/g_s", tab.g_s, "S", "the table's G bins");
    out.vector("/tables/" + b + "/median_dg_s", prob.tableMedian[t], "S", "the table's median row");
    out.vector("/tables/" + b + "/model_dg_s", model, "S", "the fitted card's step from each bin");
    out.metric("table_dg_error_" + b + "_pct", maxStep > 0.0 ? 100.0 * maxErr / maxStep : 0.0, "%",
               "largest |model step - median step| over the bins, % of the largest median step");
  }

  // ---- parameters, covariance, status ----
  std::vector<std::string> keys, units;
  std::vector<double> vals, starts, errs;
  std::vector<std::int64_t> bounds;
  for (const auto& v : res.values) {
    keys.push_back(v.key);
    units.push_back(v.unit);
    vals.push_back(v.value);
    starts.push_back(v.start);
    errs.push_back(v.stderror);
    bounds.push_back(v.atBound ? 1 : 0);
  }
  out.strings("/fit/parameters/key", keys, "fitted keys");
  out.strings("/fit/parameters/unit", units, "unit of each key");
  out.vector("/fit/parameters/value", vals, "mixed", "fitted value (unit: /fit/parameters/unit)");
  out.vector("/fit/parameters/start", starts, "mixed", "value the fit started from");
  out.vector("/fit/parameters/stderr", errs, "mixed", "standard error");
  out.integers("/fit/parameters/at_bound", bounds, "1", "1: at an end of the allowed range");
  out.strings("/fit/covariance_keys", map.keys, "rows and columns of /fit/covariance");
  out.matrix("/fit/covariance", map.size(), map.size(), res.covariance, "mixed",
             "covariance of the least-squares keys, natural units (row-major)");
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.metric("dg_c2c", pf.dg_c2c, "1", "fitted cycle-to-cycle sigma");
  out.metric("converged", res.converged ? 1.0 : 0.0, "1", "1: Ceres reports convergence");
  out.metric("at_bound", std::any_of(res.values.begin(), res.values.end(),
                                     [](const FittedValue& v) { return v.atBound; })
                             ? 1.0
                             : 0.0,
             "1", "1: a fitted value sits at an end of its allowed range");
  out.metric("iterations", res.iterations, "count", "Levenberg-Marquardt iterations");
  out.metric("span_s", prob.span, "S", "conductance span of the data (the unit of the RMSEs)");
  out.metric("fit_seconds", res.seconds, "s", "wall time of the fit and its diagnostics");
  std::string status = res.ok() ? "converged" : (res.converged ? "at bound" : "not converged");
  out.attribute("/fit", "status", status);
  out.attribute("/fit", "objective",
                std::string(options.objective == Objective::Ramps ? "ramps" : "steps"));
  out.attribute("/fit", "table_nodes", static_cast<std::int64_t>(options.tableNodes));
  std::string diag;
  for (const auto& d : res.diagnostics) diag += (diag.empty() ? "" : "\n") + d;
  out.attribute("/fit", "diagnostics", diag.empty() ? std::string("none") : diag);
  out.attribute("/config/protocol", "amplitude_v", options.shape.amplitude_v);
  out.attribute("/config/protocol", "width_s", options.shape.width_s);
  out.attribute("/config/protocol", "interval_s", options.shape.interval_s);
  out.attribute("/config/protocol", "read_v", options.shape.read_v);

  res.card = start;
  res.card.name = options.cardName.empty() ? start.name + "_fit" : options.cardName;
  res.card.params = pf;
  res.cardText = fittedCardText(res, data, start, options);
  res.card.sourceText = res.cardText;
  out.text("/config/start_card", start.sourceText, "the start card's file");
  out.text("/config/fitted_card", res.cardText, "the fitted card");
  return res;
}

std::string fittedCardText(const FitResult& fit, const MeasuredData& data, const ModelCard& start,
                           const FitOptions& options) {
  std::ostringstream o;
  std::string fileList;
  for (const auto& f : data.files) {
    fileList += (fileList.empty() ? "" : ", ") + f.path + " (sha256 " + f.sha256 + ")";
  }
  o << "* " << fit.card.name << ": fitted by ecramsim " << kToolVersion << " fit on "
    << options.date << "\n"
    << "* command: " << options.commandLine << "\n"
    << "* start card: " << start.name
    << (start.where.file.empty() ? std::string() : " from " + start.where.file) << "\n";
  for (const auto& f : data.files) {
    o << "* data (" << f.kind << "): " << f.path << "\n*   sha256 " << f.sha256 << "\n";
  }
  o << "* pulses: +-" << formatShort(options.shape.amplitude_v) << " V, "
    << formatShort(options.shape.width_s) << " s wide, "
    << formatShort(options.shape.interval_s) << " s apart, read at "
    << formatShort(options.shape.read_v) << " V\n"
    << "* status: " << (fit.ok() ? "converged" : fit.converged ? "AT BOUND" : "NOT CONVERGED")
    << "\n";
  for (const auto& b : fit.branches) {
    o << "* branch " << branchName(b.polarity) << ": " << b.ramps << " ramps, mean-ramp RMSE "
      << formatShort(std::round(b.rmsePct * 100.0) / 100.0) << "% of the span, R^2 "
      << formatShort(std::round(b.r2 * 1e4) / 1e4)
      << (b.mismatch ? ", MISMATCH: the residuals trend along G" : "") << "\n";
  }
  for (const auto& d : fit.diagnostics) o << "* diagnostic: " << d << "\n";
  o << ".model " << fit.card.name << " ecram (\n";
  for (const auto& s : ecramParamTable()) {
    const double v = fit.card.params.*s.member;
    o << "+ " << s.key << " = " << formatShort(v) << " ; " << s.unit;
    const auto f = std::find_if(fit.values.begin(), fit.values.end(),
                                [&](const FittedValue& fv) { return fv.key == s.key; });
    if (f != fit.values.end()) {
      o << " fitted on " << options.date << " to " << fileList << "; standard error "
        << formatShort(f->stderror) << " " << s.unit
        << (f->atBound ? "; AT A BOUND of its range" : "");
    } else {
      o << " from the start card " << start.name;
    }
    o << "\n";
  }
  o << "+ )\n";
  return o.str();
}

}  // namespace ecramsim::fit

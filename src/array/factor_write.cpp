#include "array/factor_write.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "array/cell_array.hpp"
#include "array/tile_writes.hpp"
#include "array/line_potentials.hpp"
#include "core/error.hpp"
#include "device/physics.hpp"

namespace ecramsim {

namespace {

using Index = Eigen::Index;

/// V, the mean field settles when no node moves by more than this in a pass: 4e-5 of v0, a
/// relative error of the currents of the same order.
constexpr double kMeanFieldTol = 1e-5;
/// V, the shift of either channel end at which a current's slope is taken.
constexpr double kProbe = 0.01;
/// V, a column's own response settles when no node moves by more than this per volt of drive.
constexpr double kUnitTol = 1e-9;
constexpr int kMaxPasses = 50;

/// State after `t` s of dx/dt = a w(x) - (x - x_eq) / tau_ret, with a = I / q_c fixed: the
/// soft-bound window in closed form, retention to first order.
double advanceFixedCurrent(const CellParams& p, double x, double a, double t) {
  if (a != 0.0 && t > 0.0) {
    const bool up = a > 0.0;
    const double q = up ? p.p_up : p.p_dn;
    // y: the distance to the bound the state moves towards; dy/dt = -|a| y^q.
    double y = up ? 1.0 - x : x;
    const double rate = std::fabs(a) * t;
    if (y <= 0.0) {
      y = 0.0;
    } else if (q == 0.0) {
      y = std::max(0.0, y - rate);
    } else if (q == 1.0) {
      y *= std::exp(-rate);
    } else {
      const double z = std::pow(y, 1.0 - q) - (1.0 - q) * rate;
      y = z <= 0.0 ? 0.0 : std::pow(z, 1.0 / (1.0 - q));
    }
    x = up ? 1.0 - y : y;
  }
  if (p.tau_ret > 0.0) x -= (x - p.x_eq) / p.tau_ret * t;
  return std::clamp(x, 0.0, 1.0);
}

/// groupIntoPhases(pulses, RowParallel) in O(n): the k-th request of a cell and amplitude goes
/// to the k-th phase of its row and amplitude, phases in the order they are opened.
std::vector<WritePhase> rowParallelPhases(std::span<const PulseRequest> pulses) {
  std::vector<WritePhase> phases;
  std::map<std::tuple<Index, Index, double>, int> seen;       // (row, col, amplitude): requests
  std::map<std::tuple<Index, double, int>, std::size_t> at;  // (row, amplitude, k): phase
  for (std::size_t k = 0; k < pulses.size(); ++k) {
    const PulseRequest& p = pulses[k];
    const int n = seen[{p.row, p.col, p.amplitude_v}]++;
    const auto [it, opened] = at.try_emplace({p.row, p.amplitude_v, n}, phases.size());
    if (opened) {
      WritePhase ph;
      ph.row = p.row;
      ph.amplitude_v = p.amplitude_v;
      phases.push_back(ph);
    }
    phases[it->second].pulses.push_back(k);
  }
  return phases;
}

/// State after `t` s of a disturbing current (a = I / q_c) with the window taken at the refresh
/// (wUp, wDn: the soft-bound windows of the refresh state): one explicit step, as the changes of
/// disturbed cells are a small fraction of a pulse's; retention to first order.
double disturbStep(const CellParams& p, double x, double a, double t, double wUp, double wDn,
                   bool retention) {
  x += a * t * (a > 0.0 ? wUp : wDn);
  if (retention && p.tau_ret > 0.0) x -= (x - p.x_eq) / p.tau_ret * t;
  return std::clamp(x, 0.0, 1.0);
}

}  // namespace

double FactorWriteModel::Current::at(double dus, double dud) const {
  const double e = ks * dus + kd * dud;
  return exponential ? i0 * std::exp(e) : i0 + e;
}

FactorWriteModel::FactorWriteModel(std::vector<CellParams> cells, const CrossbarGeometry& geo,
                                   double c2c, bool share)
    : cells_(std::move(cells)), geo_(geo), c2c_(c2c), share_(share) {
  checkReducedTile(cells_, geo_);
  const Index R = geo_.rows, C = geo_.cols;
  i0Scale_.resize(R, C);
  kOc_.resize(R, C);
  invQc_.resize(R, C);
  for (Index r = 0; r < R; ++r) {
    for (Index c = 0; c < C; ++c) {
      i0Scale_(r, c) = cell(r, c).i0 / cells_.front().i0;
      kOc_(r, c) = cell(r, c).k_oc;
      invQc_(r, c) = 1.0 / cell(r, c).q_c;
    }
  }
  retention_ = std::any_of(cells_.begin(), cells_.end(),
                           [](const CellParams& p) { return p.tau_ret > 0.0; });
}

void FactorWriteModel::refresh(const Eigen::MatrixXd& x) {
  validateStates(x, geo_.rows, geo_.cols);
  const Index R = geo_.rows, C = geo_.cols;
  xref_ = x;
  g_.resize(R, C);
  windowUp_.resize(R, C);
  windowDown_.resize(R, C);
  for (Index r = 0; r < R; ++r) {
    for (Index c = 0; c < C; ++c) {
      g_(r, c) = physics::conductance(cell(r, c), x(r, c));
      windowUp_(r, c) = physics::window(cell(r, c), x(r, c), true);
      windowDown_(r, c) = physics::window(cell(r, c), x(r, c), false);
    }
  }
  // Each column alone at 1 V of drain drive: its drain ladder (driven at row R - 1) and each
  // cell's current through its own row's source path to the driver at column 0.
  unitVd_.setOnes(R, C);
  unitVs_.setZero(R, C);
  unitJ_.setZero(R, C);
  for (Index c = 0; c < C; ++c) {
    const double rs = pathResistance(c);
    for (int pass = 0;; ++pass) {
      if (pass == kMaxPasses) {
        throw SimulationError("pulse-factor write model: a column's response did not settle");
      }
      double moved = 0.0;
      for (Index r = 0; r < R; ++r) {
        unitJ_(r, c) = g_(r, c) * (unitVd_(r, c) - unitVs_(r, c));
        const double vs = rs * unitJ_(r, c);
        moved = std::max(moved, std::fabs(vs - unitVs_(r, c)));
        unitVs_(r, c) = vs;
      }
      double beyond = -unitJ_.col(c).sum();
      double v = 1.0 + geo_.r_drv * beyond;
      for (Index r = R - 1; r >= 0; --r) {
        if (r < R - 1) v += geo_.r_col_seg * beyond;
        moved = std::max(moved, std::fabs(v - unitVd_(r, c)));
        unitVd_(r, c) = v;
        beyond += unitJ_(r, c);
      }
      if (moved < kUnitTol) break;
    }
  }
  factors_.clear();
  warmStarts_.clear();
}

void FactorWriteModel::save(Checkpoint& cp, const std::string& prefix) const {
  cp.put(prefix + "x_refresh", xref_);
  auto& warm = cp.values[prefix + "warm_start"];
  warm.clear();
  auto record = [&warm](double amplitude, const Eigen::MatrixXd& vd, const Eigen::MatrixXd& vs) {
    warm.push_back(amplitude);
    warm.insert(warm.end(), vd.data(), vd.data() + vd.size());
    warm.insert(warm.end(), vs.data(), vs.data() + vs.size());
  };
  for (const Factors& f : factors_) {
    if (f.mean_vd.size() > 0) record(f.amplitude_v, f.mean_vd, f.mean_vs);  // settled at least once
  }
  for (const auto& [amplitude, vd, vs] : warmStarts_) record(amplitude, vd, vs);  // not used yet
}

void FactorWriteModel::restore(const Checkpoint& cp, const std::string& prefix) {
  const Index R = geo_.rows, C = geo_.cols;
  factors_.clear();
  warmStarts_.clear();
  if (cp.at(prefix + "x_refresh").empty()) {  // saved before its first refresh
    xref_.resize(0, 0);
    g_.resize(0, 0);
    return;
  }
  refresh(cp.matrix(prefix + "x_refresh", R, C));
  const auto& warm = cp.at(prefix + "warm_start");
  const auto record = static_cast<std::size_t>(1 + 2 * R * C);
  if (warm.size() % record != 0) {
    throw InputError({cp.source, 0}, prefix + "warm_start",
                     "holds " + std::to_string(warm.size()) + " values, not records of " +
                         std::to_string(record) + " for this tile");
  }
  for (std::size_t k = 0; k < warm.size(); k += record) {
    const double* v = warm.data() + k + 1;
    warmStarts_.emplace_back(warm[k], Eigen::Map<const Eigen::MatrixXd>(v, R, C),
                             Eigen::Map<const Eigen::MatrixXd>(v + R * C, R, C));
  }
}

namespace {

/// The gate parameters a cell's ionic current depends on, apart from i0.
bool sameGate(const CellParams& a, const CellParams& b) {
  return a.v0 == b.v0 && a.rs == b.rs && a.k_oc == b.k_oc && a.x_eq == b.x_eq &&
         a.gate == b.gate && a.gate_points == b.gate_points && a.i0 > 0.0 && b.i0 > 0.0;
}

/// The current at gate-to-channel voltages us, ud and state x, with its exp-linear (or linear,
/// where it changes sign) response to either end's shift.
FactorWriteModel::Current fitCurrent(const CellParams& p, double us, double ud, double x) {
  const double i = physics::gateCurrentAt(p, us, ud, x).total();
  const double is = physics::gateCurrentAt(p, us + kProbe, ud, x).total();
  const double id = physics::gateCurrentAt(p, us, ud + kProbe, x).total();
  FactorWriteModel::Current c;
  c.i0 = i;
  // Exp-linear where the current is sinh-like: one sign, and a log slope no steeper than the
  // kinetics' 1 / v0 (half a v0 of margin). A steeper log slope means a current near a sign
  // change (the two channel ends cancelling): linear then.
  c.exponential = i != 0.0 && (i > 0.0) == (is > 0.0) && (i > 0.0) == (id > 0.0);
  if (c.exponential) {
    c.ks = std::log(is / i) / kProbe;
    c.kd = std::log(id / i) / kProbe;
    c.exponential = std::fabs(c.ks) + std::fabs(c.kd) <= 1.5 / p.v0;
  }
  if (!c.exponential) {
    c.ks = (is - i) / kProbe;
    c.kd = (id - i) / kProbe;
  }
  return c;
}

}  // namespace

FactorWriteModel::Factors& FactorWriteModel::factors(double amplitude_v,
                                                     const BiasScheme& scheme) {
  const BiasLevels lv = biasLevels(scheme, amplitude_v);
  for (Factors& f : factors_) {
    if (f.amplitude_v == amplitude_v && f.lv.drain_selected_v == lv.drain_selected_v &&
        f.lv.gate_selected_v == lv.gate_selected_v) {
      return f;
    }
  }
  const Index R = geo_.rows, C = geo_.cols;
  const double dd = lv.drain_selected_v - lv.drain_unselected_v;
  const double s = lv.source_unselected_v;
  Factors f;
  f.amplitude_v = amplitude_v;
  f.lv = lv;
  for (auto w = warmStarts_.begin(); w != warmStarts_.end(); ++w) {
    if (std::get<0>(*w) != amplitude_v) continue;
    f.mean_vd = std::get<1>(*w);
    f.mean_vs = std::get<2>(*w);
    warmStarts_.erase(w);
    break;
  }
  const bool idleAtRest = lv.gate_unselected_v == lv.source_unselected_v &&
                          lv.gate_unselected_v == lv.drain_unselected_v;
  f.idle_moves = !idleAtRest ||
                 std::any_of(cells_.begin(), cells_.end(),
                             [](const CellParams& p) { return p.tau_ret > 0.0; });
  const bool uniform = share_ && std::all_of(cells_.begin(), cells_.end(), [&](const CellParams& p) {
    return sameGate(p, cells_.front());
  });
  // Gate and drain levels of each role, and whether its column is driven.
  const double gate[kRoles] = {lv.gate_selected_v, lv.gate_unselected_v, lv.gate_selected_v,
                               lv.gate_unselected_v};
  const bool driven[kRoles] = {true, true, false, false};
  const int roles = f.idle_moves ? kRoles : kIdle;
  auto fitRole = [&](const CellParams& p, int role, double unitVd, double unitVs, double x) {
    const double vd = lv.drain_unselected_v + (driven[role] ? dd * unitVd : 0.0);
    const double vs = s + (driven[role] ? dd * unitVs : 0.0);
    return fitCurrent(p, gate[role] - vs, gate[role] - vd, x);
  };
  f.unit_vd = unitVd_.mean();
  f.unit_vs = unitVs_.mean();
  f.x = xref_.mean();
  for (int role = 0; role < roles; ++role) {
    if (uniform) {
      const Current shared = fitRole(cells_.front(), role, f.unit_vd, f.unit_vs, f.x);
      if (shared.exponential) {
        f.shared[role] = true;
        f.current[role] = {shared};
        continue;
      }
    }
    f.current[role].resize(static_cast<std::size_t>(R * C));
    for (Index r = 0; r < R; ++r) {
      for (Index c = 0; c < C; ++c) {
        f.current[role][std::size_t(r * C + c)] =
            fitRole(cell(r, c), role, unitVd_(r, c), unitVs_(r, c), xref_(r, c));
      }
    }
  }
  // Dissipation of each column driven alone, per V^2: channels, each cell's current through its
  // row's source path, and the drain line with its driver.
  f.column_power.setZero(C);
  for (Index c = 0; c < C; ++c) {
    double power = 0.0;
    for (Index r = 0; r < R; ++r) {
      const double j = unitJ_(r, c);
      power += j * (unitVd_(r, c) - unitVs_(r, c)) + j * j * pathResistance(c);
    }
    double beyond = unitJ_.col(c).sum();
    power += geo_.r_drv * beyond * beyond;
    for (Index r = R - 1; r > 0; --r) {
      beyond -= unitJ_(r, c);
      power += geo_.r_col_seg * beyond * beyond;
    }
    f.column_power(c) = power;
  }
  factors_.push_back(std::move(f));
  return factors_.back();
}

double FactorWriteModel::ionic(const Factors& f, Role role, Index r, Index c, double dvd,
                               double dvs, double x) const {
  if (!f.shared[role]) {
    const double oc = kOc_(r, c) * (x - xref_(r, c));
    return f.current[role][std::size_t(r * geo_.cols + c)].at(-dvs - oc, -dvd - oc);
  }
  // The cell's own column response and state against the shared reference.
  if (role == kSelected || role == kColumn) {
    const double dd = f.lv.drain_selected_v - f.lv.drain_unselected_v;
    dvd += dd * (unitVd_(r, c) - f.unit_vd);
    dvs += dd * (unitVs_(r, c) - f.unit_vs);
  }
  const double oc = kOc_(r, c) * (x - f.x);
  return i0Scale_(r, c) * f.current[role].front().at(-dvs - oc, -dvd - oc);
}

ReducedWriteResult FactorWriteModel::apply(std::span<const PulseRequest> pulses,
                                           const BiasScheme& scheme, Eigen::MatrixXd& x,
                                           Rng& rng) {
  validatePulses(pulses, geo_.rows, geo_.cols);
  validateStates(x, geo_.rows, geo_.cols);
  requireGroundedLines(scheme);
  if (!refreshed()) throw InputError({}, "pulse-factor write model", "refresh() before use");
  const Index R = geo_.rows, C = geo_.cols;
  const std::vector<WritePhase> phases = rowParallelPhases(pulses);
  std::vector<double> amplitudes;
  for (const WritePhase& ph : phases) {
    if (std::find(amplitudes.begin(), amplitudes.end(), ph.amplitude_v) == amplitudes.end()) {
      amplitudes.push_back(ph.amplitude_v);
    }
  }
  ReducedWriteResult out;
  Eigen::VectorXd colTime(C), rowTime(R), sum(C);
  Eigen::MatrixXd selTime(R, C);
  std::vector<double> width(static_cast<std::size_t>(C));
  // The phases of one amplitude are taken together: they share the mean-field terminals and
  // the aggregated disturb of the cells they half-select.
  for (const double amplitude : amplitudes) {
    Factors& f = factors(amplitude, scheme);
    const BiasLevels& lv = f.lv;
    const double dd = lv.drain_selected_v - lv.drain_unselected_v;
    const double s = lv.source_unselected_v;
    colTime.setZero();
    rowTime.setZero();
    selTime.setZero();
    double total = 0.0;
    for (const WritePhase& ph : phases) {
      if (ph.amplitude_v != amplitude) continue;
      double duration = 0.0;
      for (std::size_t k : ph.pulses) {
        const PulseRequest& p = pulses[k];
        colTime(p.col) += p.width_s;
        selTime(p.row, p.col) += p.width_s;
        duration = std::max(duration, p.width_s);
      }
      rowTime(ph.row) += duration;
      total += duration;
    }
    // Mean field: every drain driven at its column's average level over this amplitude's time.
    const Eigen::RowVectorXd phi = (colTime / total).transpose();
    // Started from the last update's mean field of this amplitude (since the refresh), if any.
    settleLines(geo_, g_, (lv.drain_unselected_v + dd * phi.array()).matrix(),
                Eigen::VectorXd::Constant(R, s), f.mean_vd, f.mean_vs, kMeanFieldTol);
    // Shifts of every cell's terminals from its reference (own column's share taken out).
    const Eigen::MatrixXd dvd = f.mean_vd.array() - lv.drain_unselected_v -
                                dd * (unitVd_.array().rowwise() * phi.array());
    const Eigen::MatrixXd dvs =
        f.mean_vs.array() - s - dd * (unitVs_.array().rowwise() * phi.array());

    for (const WritePhase& ph : phases) {
      if (ph.amplitude_v != amplitude) continue;
      const Index r = ph.row;
      std::fill(width.begin(), width.end(), 0.0);
      double duration = 0.0;
      for (std::size_t k : ph.pulses) {
        width[std::size_t(pulses[k].col)] = pulses[k].width_s;
        duration = std::max(duration, pulses[k].width_s);
      }
      // sum(c): the source drop (per volt of drive) at node c of row r from the phase's active
      // columns: sum over active c' of j(r, c') (r_drv + min(c, c') r_seg).
      double before = 0.0, after = 0.0;  // sum j c' over active c' < c; sum j over c' >= c
      for (Index c = 0; c < C; ++c) {
        if (width[std::size_t(c)] > 0.0) after += unitJ_(r, c);
      }
      const double allJ = after;
      for (Index c = 0; c < C; ++c) {
        sum(c) = geo_.r_drv * allJ + geo_.r_row_seg * (before + double(c) * after);
        if (width[std::size_t(c)] > 0.0) {
          before += unitJ_(r, c) * double(c);
          after -= unitJ_(r, c);
        }
      }
      double power = 0.0;
      for (Index c = 0; c < C; ++c) {
        const CellParams& p = cell(r, c);
        const double w = width[std::size_t(c)];
        double& xc = x(r, c);
        const double x0 = xc;
        if (w > 0.0) {
          // Selected: the reference holds its own column's drop; the other active columns'
          // currents add theirs on the row's source line.
          const double dvsSel = dd * (sum(c) - unitJ_(r, c) * pathResistance(c));
          const double i = ionic(f, kSelected, r, c, dvd(r, c), dvsSel, xc);
          xc = advanceFixedCurrent(p, xc, i * invQc_(r, c), w);
          xc = std::clamp(x0 + cycleNoise(xc - x0, c2c_, rng), 0.0, 1.0);
          power += f.column_power(c) * w;
        }
        if (duration > w) {  // on the selected row, its column not (or no longer) driven
          const double i = ionic(f, kRow, r, c, dvd(r, c), dd * sum(c), xc);
          xc = disturbStep(p, xc, i * invQc_(r, c), duration - w, windowUp_(r, c),
                           windowDown_(r, c), retention_);
        }
      }
      out.energy_j += dd * dd * power;
      out.duration_s += duration;
      ++out.phases;
    }
    // The active columns' half-selected cells and the idle cells, for their total time.
    for (Index c = 0; c < C; ++c) {
      for (Index r = 0; r < R; ++r) {
        const double tColumn = colTime(c) - selTime(r, c);
        const double tIdle = f.idle_moves ? total - rowTime(r) - tColumn : 0.0;
        if (tColumn <= 0.0 && tIdle <= 0.0) continue;
        const CellParams& p = cell(r, c);  // read only with retention
        double& xc = x(r, c);
        const double wUp = windowUp_(r, c), wDown = windowDown_(r, c);
        if (tColumn > 0.0) {
          const double i = ionic(f, kColumn, r, c, dvd(r, c), dvs(r, c), xc);
          xc = disturbStep(p, xc, i * invQc_(r, c), tColumn, wUp, wDown, retention_);
        }
        if (tIdle > 0.0) {
          const double i = ionic(f, kIdle, r, c, dvd(r, c), dvs(r, c), xc);
          xc = disturbStep(p, xc, i * invQc_(r, c), tIdle, wUp, wDown, retention_);
        }
      }
    }
  }
  return out;
}

std::unique_ptr<TileWriteModel> makeFactorTileWrites(const ArrayBackend& tile, Rng& rng) {
  return makeCellTileWrites<FactorWriteModel>(tile, rng, "the pulse-factor write model");
}

}  // namespace ecramsim

#include "control/train.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

#include "core/error.hpp"
#include "device/integrate.hpp"

namespace ecramsim::train {

using Index = Eigen::Index;

PulseResponse::PulseResponse(const CellParams& nominal, const BiasScheme& scheme,
                             double amplitude_v, double width_s, int points) {
  if (!(amplitude_v > 0.0) || !std::isfinite(amplitude_v)) {
    throw InputError({}, "--amplitude", "pulse amplitude must be finite and > 0 V");
  }
  if (!(width_s > 0.0) || !std::isfinite(width_s)) {
    throw InputError({}, "--width", "pulse width must be finite and > 0 s");
  }
  for (int sign : {+1, -1}) {
    const BiasLevels lv = biasLevels(scheme, sign * amplitude_v);
    const Terminals t = lv.cell(true, true);
    std::vector<double>& table = sign > 0 ? up_ : down_;
    table.resize(std::size_t(points));
    for (int k = 0; k < points; ++k) {
      const double x = double(k) / double(points - 1);
      table[std::size_t(k)] = advanceHeld(nominal, x, t, width_s).x - x;
    }
  }
  if (!(up_[std::size_t(points / 2)] > 0.0) || !(down_[std::size_t(points / 2)] < 0.0)) {
    throw InputError({}, "--amplitude",
                     "a write pulse does not move the nominal device's state from x = 0.5 in "
                     "both directions; raise the amplitude or the width");
  }
}

double PulseResponse::step(double x, bool up) const {
  const std::vector<double>& t = up ? up_ : down_;
  const double pos = std::clamp(x, 0.0, 1.0) * double(t.size() - 1);
  const auto k = std::min(static_cast<std::size_t>(pos), t.size() - 2);
  const double f = pos - double(k);
  return t[k] * (1.0 - f) + t[k + 1] * f;
}

const char* writeModelName(WriteModel m) {
  switch (m) {
    case WriteModel::Circuit: return "circuit";
    case WriteModel::Reduced: return "reduced";
    case WriteModel::Factors: return "factors";
  }
  return "?";
}

WriteModel parseWriteModel(const std::string& text) {
  if (text == "circuit") return WriteModel::Circuit;
  if (text == "reduced") return WriteModel::Reduced;
  if (text == "factors") return WriteModel::Factors;
  throw InputError({}, "--write-model",
                   "expected circuit, reduced or factors, got '" + text + "'");
}

UpdateStats& UpdateStats::operator+=(const UpdateStats& o) {
  pulses += o.pulses;
  phases += o.phases;
  skipped += o.skipped;
  capped += o.capped;
  array_time_s += o.array_time_s;
  energy_j += o.energy_j;
  disturb += o.disturb;
  return *this;
}

struct DifferentialLayer::Tile {
  Index row0 = 0, rows = 0;    ///< logical rows covered
  Index pair0 = 0, pairs = 0;  ///< outputs (pairs) covered; cells 2 pairs wide
  std::unique_ptr<Rng> backendRng;
  std::unique_ptr<Rng> controlRng;
  std::unique_ptr<ArrayBackend> backend;
  Eigen::MatrixXd belief;  ///< rows x 2 pairs: the controller's open-loop belief of the states
  Eigen::MatrixXd pulses;  ///< rows x 2 pairs: pulses applied to each cell
  std::unique_ptr<TileWriteModel> writes;  ///< null: pulses go through the backend
  double writeEnergy = 0.0;                ///< J, drawn by the writes of `writes`
  double refreshSeconds = 0.0;             ///< s, spent in writes->refresh
};

DifferentialLayer::DifferentialLayer(Index rows, Index outputs, Index tile_rows, Index tile_cols,
                                     const BackendFactory& make, Rng& rng, const PairMapping& map)
    : rows_(rows), outputs_(outputs), map_(map) {
  if (tile_rows < 1 || tile_cols < 2) {
    throw InputError({}, "--tile", "a tile needs at least 1 row and 2 columns (one pair)");
  }
  const Index pairsPerTile = tile_cols / 2;
  for (Index r0 = 0; r0 < rows; r0 += tile_rows) {
    for (Index p0 = 0; p0 < outputs; p0 += pairsPerTile) {
      auto t = std::make_unique<Tile>();
      t->row0 = r0;
      t->rows = std::min(tile_rows, rows - r0);
      t->pair0 = p0;
      t->pairs = std::min(pairsPerTile, outputs - p0);
      t->backendRng = std::make_unique<Rng>(rng.split());
      t->controlRng = std::make_unique<Rng>(rng.split());
      t->backend = make(t->rows, 2 * t->pairs, *t->backendRng);
      if (!t->backend || t->backend->rows() != t->rows || t->backend->cols() != 2 * t->pairs) {
        throw SimulationError("the array factory returned an array of the wrong size");
      }
      t->belief = t->backend->states();
      t->pulses = Eigen::MatrixXd::Zero(t->rows, 2 * t->pairs);
      tiles_.push_back(std::move(t));
    }
  }
}

DifferentialLayer::~DifferentialLayer() = default;
DifferentialLayer::DifferentialLayer(DifferentialLayer&&) noexcept = default;
DifferentialLayer& DifferentialLayer::operator=(DifferentialLayer&&) noexcept = default;

std::size_t DifferentialLayer::tileCount() const { return tiles_.size(); }

double DifferentialLayer::writeRefreshSeconds() const {
  double s = 0.0;
  for (const auto& t : tiles_) s += t->refreshSeconds;
  return s;
}

void DifferentialLayer::forEachTile(const std::function<void(std::size_t)>& f, int threads) const {
  const std::size_t n = tiles_.size();
  const auto workers = static_cast<std::size_t>(std::clamp(threads, 1, 64));
  if (workers == 1 || n <= 1) {
    for (std::size_t i = 0; i < n; ++i) f(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex errorMutex;
  auto work = [&] {
    for (std::size_t i = next++; i < n; i = next++) {
      try {
        f(i);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(errorMutex);
        if (!error) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t k = 1; k < std::min(workers, n); ++k) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

void DifferentialLayer::setStates(const Eigen::MatrixXd& x) {
  if (x.rows() != rows_ || x.cols() != 2 * outputs_) {
    throw InputError({}, "states",
                     "expected a " + std::to_string(rows_) + " x " + std::to_string(2 * outputs_) +
                         " state matrix");
  }
  for (auto& t : tiles_) {
    const Eigen::MatrixXd part = x.block(t->row0, 2 * t->pair0, t->rows, 2 * t->pairs);
    t->backend->setStates(part);
    t->belief = part;
  }
  weightsValid_ = false;
  readAt_ = -1;
}

Eigen::MatrixXd DifferentialLayer::readTile(Tile& t, const Eigen::MatrixXd& v) const {
  const Eigen::MatrixXd currents = t.backend->vmm(v);
  const double scale = map_.currentToOutput();
  Eigen::MatrixXd y(v.rows(), t.pairs);
  for (Index p = 0; p < t.pairs; ++p) {
    y.col(p) = (currents.col(2 * p) - currents.col(2 * p + 1)) * scale;
  }
  return y;
}

Eigen::MatrixXd DifferentialLayer::forward(const Eigen::MatrixXd& a) {
  if (a.cols() != rows_) {
    throw InputError({}, "inputs", "expected " + std::to_string(rows_) + " inputs per sample");
  }
  if (readRefresh_ > 0) return a * effectiveWeights();
  std::vector<Eigen::MatrixXd> partial(tiles_.size());
  forEachTile(
      [&](std::size_t i) {
        Tile& t = *tiles_[i];
        partial[i] = readTile(t, map_.read_v * a.middleCols(t.row0, t.rows));
      },
      threads_);
  // Partial sums of tiles stacked along the rows are added in the periphery, in tile order.
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(a.rows(), outputs_);
  for (std::size_t i = 0; i < tiles_.size(); ++i) {
    out.middleCols(tiles_[i]->pair0, tiles_[i]->pairs) += partial[i];
  }
  return out;
}

Eigen::MatrixXd DifferentialLayer::arrayWeights() {
  const auto t0 = std::chrono::steady_clock::now();
  Eigen::MatrixXd w(rows_, outputs_);
  forEachTile(
      [&](std::size_t i) {
        Tile& t = *tiles_[i];
        const Eigen::MatrixXd unit = map_.read_v * Eigen::MatrixXd::Identity(t.rows, t.rows);
        w.block(t.row0, t.pair0, t.rows, t.pairs) = readTile(t, unit);
      },
      threads_);
  readSeconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return w;
}

Eigen::MatrixXd DifferentialLayer::effectiveWeights() {
  if (readRefresh_ == 0) return arrayWeights();
  if (!weightsValid_) {
    const Eigen::MatrixXd exact = exactWeights();
    if (readAt_ < 0 || updates_ - readAt_ >= readRefresh_) {
      readCorrection_ = arrayWeights() - exact;
      readAt_ = updates_;
    }
    weights_ = exact + readCorrection_;
    weightsValid_ = true;
  }
  return weights_;
}

void DifferentialLayer::useReadRefresh(int updates) {
  if (updates < 0) throw InputError({}, "--read-refresh", "must be >= 0 updates");
  readRefresh_ = updates;
  readAt_ = -1;
  weightsValid_ = false;
}

Eigen::MatrixXd DifferentialLayer::gather(
    const std::function<Eigen::MatrixXd(const Tile&)>& part) const {
  Eigen::MatrixXd m(rows_, 2 * outputs_);
  for (const auto& t : tiles_) m.block(t->row0, 2 * t->pair0, t->rows, 2 * t->pairs) = part(*t);
  return m;
}

Eigen::MatrixXd DifferentialLayer::conductances() const {
  return gather([](const Tile& t) { return t.backend->probeConductances(); });
}

Eigen::MatrixXd DifferentialLayer::exactWeights() const {
  const Eigen::MatrixXd g = conductances();
  Eigen::MatrixXd w(rows_, outputs_);
  for (Index r = 0; r < rows_; ++r) {
    for (Index j = 0; j < outputs_; ++j) w(r, j) = map_.weight(g(r, 2 * j), g(r, 2 * j + 1));
  }
  return w;
}

Eigen::MatrixXd DifferentialLayer::states() const {
  return gather([](const Tile& t) { return t.backend->states(); });
}

Eigen::MatrixXd DifferentialLayer::belief() const {
  return gather([](const Tile& t) { return t.belief; });
}

Eigen::MatrixXd DifferentialLayer::pulsesPerCell() const {
  return gather([](const Tile& t) { return t.pulses; });
}

double DifferentialLayer::energy() const {
  double e = 0.0;
  for (const auto& t : tiles_) e += t->backend->counters().energy_j + t->writeEnergy;
  return e;
}

void DifferentialLayer::save(Checkpoint& cp, const std::string& prefix) const {
  cp.values[prefix + "updates"] = {static_cast<double>(updates_)};
  cp.values[prefix + "read_at"] = {static_cast<double>(readAt_)};
  cp.put(prefix + "read_correction", readCorrection_);
  for (std::size_t i = 0; i < tiles_.size(); ++i) {
    const Tile& t = *tiles_[i];
    const std::string k = prefix + "tile" + std::to_string(i) + "/";
    cp.put(k + "states", t.backend->states());
    cp.put(k + "belief", t.belief);
    cp.put(k + "pulses", t.pulses);
    cp.values[k + "energy_j"] = {t.backend->counters().energy_j + t.writeEnergy};
    cp.texts[k + "rng_backend"] = t.backendRng->state();
    cp.texts[k + "rng_control"] = t.controlRng->state();
    if (t.writes) t.writes->save(cp, k + "write_model/");
  }
}

void DifferentialLayer::restore(const Checkpoint& cp, const std::string& prefix) {
  updates_ = static_cast<long long>(cp.number(prefix + "updates"));
  readAt_ = static_cast<long long>(cp.number(prefix + "read_at"));
  readCorrection_ = readAt_ < 0 ? Eigen::MatrixXd()
                                : cp.matrix(prefix + "read_correction", rows_, outputs_);
  weightsValid_ = false;
  for (std::size_t i = 0; i < tiles_.size(); ++i) {
    Tile& t = *tiles_[i];
    const std::string k = prefix + "tile" + std::to_string(i) + "/";
    const Index cols = 2 * t.pairs;
    t.backend->setStates(cp.matrix(k + "states", t.rows, cols));
    t.belief = cp.matrix(k + "belief", t.rows, cols);
    t.pulses = cp.matrix(k + "pulses", t.rows, cols);
    t.writeEnergy = cp.number(k + "energy_j") - t.backend->counters().energy_j;
    cp.restore(k + "rng_backend", *t.backendRng);
    cp.restore(k + "rng_control", *t.controlRng);
    if (t.writes) t.writes->restore(cp, k + "write_model/");
  }
}

void DifferentialLayer::useWriteModel(const TileWriteFactory& make, int refresh_batches) {
  if (refresh_batches < 1) throw InputError({}, "--refresh", "must be >= 1 batch");
  if (!make) throw InputError({}, "--write-model", "no write model for the reduced writes");
  for (auto& t : tiles_) t->writes = make(*t->backend, *t->backendRng);
  refreshBatches_ = refresh_batches;
  updates_ = 0;
}

UpdateStats DifferentialLayer::update(const Eigen::MatrixXd& dw, const PulseResponse& response,
                                      const PulsePolicy& policy, int threads) {
  if (dw.rows() != rows_ || dw.cols() != outputs_) {
    throw InputError({}, "dW", "update matrix has the wrong shape");
  }
  std::vector<UpdateStats> stats(tiles_.size());
  const bool refresh = refreshBatches_ > 0 && updates_ % refreshBatches_ == 0;
  ++updates_;
  weightsValid_ = false;
  forEachTile(
      [&](std::size_t i) {
        Tile& t = *tiles_[i];
        UpdateStats& s = stats[i];
        if (t.writes && refresh) {
          const auto t0 = std::chrono::steady_clock::now();
          t.writes->refresh(t.backend->states());
          t.refreshSeconds +=
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        }
        std::vector<PulseRequest> requests;
        for (Index r = 0; r < t.rows; ++r) {
          int maxUp = 0, maxDown = 0;
          for (Index p = 0; p < t.pairs; ++p) {
            const double d = dw(t.row0 + r, t.pair0 + p);
            if (d == 0.0) continue;
            // The pair shares the change: G+ moves by +d/2, G- by -d/2 (in weight units).
            const double dx = d / (2.0 * map_.w_scale);
            for (int side = 0; side < 2; ++side) {
              const Index c = 2 * p + side;
              const double want = side == 0 ? dx : -dx;
              const bool up = want > 0.0;
              double& x = t.belief(r, c);
              const double step = response.step(policy.state_aware ? x : 0.5, up);
              const double u = t.controlRng->uniform();  // one draw per request, always
              if (std::abs(step) < 1e-12) {              // believed at the bound: nothing to gain
                ++s.capped;
                continue;
              }
              const double ratio = std::abs(want / step);
              if (ratio < policy.dead_band) {
                ++s.skipped;
                continue;
              }
              // Stochastic rounding: floor(ratio) + 1 with probability frac(ratio).
              auto n = static_cast<int>(std::floor(ratio));
              if (u < ratio - std::floor(ratio)) ++n;
              if (n > policy.max_pulses) {
                n = policy.max_pulses;
                ++s.capped;
              }
              for (int k = 0; k < n; ++k) {
                requests.push_back(
                    {r, c, up ? policy.amplitude_v : -policy.amplitude_v, policy.width_s});
                x = std::clamp(x + response.step(x, up), 0.0, 1.0);
              }
              t.pulses(r, c) += n;
              (up ? maxUp : maxDown) = std::max(up ? maxUp : maxDown, n);
            }
          }
          s.phases += maxUp + maxDown;
        }
        if (requests.empty()) return;
        s.pulses += static_cast<long long>(requests.size());
        // The cells of this update without a pulse: their change is the disturb.
        Eigen::MatrixXd unpulsed = Eigen::MatrixXd::Ones(t.rows, 2 * t.pairs);
        for (const PulseRequest& q : requests) unpulsed(q.row, q.col) = 0.0;
        if (t.writes) {
          const Eigen::MatrixXd x0 = t.backend->states();
          Eigen::MatrixXd x = x0;
          const TileWriteOutcome res = t.writes->apply(requests, policy.scheme, x);
          t.backend->setStates(x);
          t.writeEnergy += res.energy_j;
          s.array_time_s += res.duration_s;
          s.energy_j += res.energy_j;
          s.disturb += (x - x0).cwiseAbs().cwiseProduct(unpulsed).sum();
          return;
        }
        const PulseBatchResult res =
            t.backend->applyPulses(requests, policy.scheme, PulseOrder::RowParallel);
        s.array_time_s += res.duration_s;
        s.energy_j += res.energy_j;
        s.disturb += res.delta_x.cwiseAbs().cwiseProduct(unpulsed).sum();
      },
      threads);
  UpdateStats total;
  for (const auto& s : stats) total += s;
  return total;
}

void validate(const TrainConfig& cfg) {
  auto need = [](bool ok, const char* option, const std::string& msg) {
    if (!ok) throw InputError({}, option, msg);
  };
  need(cfg.hidden >= 1, "--hidden", "need at least 1 hidden unit");
  need(cfg.classes >= 2, "classes", "need at least 2 classes");
  need(cfg.epochs >= 0, "--epochs", "must be >= 0");
  need(cfg.batch >= 1, "--batch", "must be >= 1");
  need(std::isfinite(cfg.learning_rate) && cfg.learning_rate > 0.0, "--lr", "must be > 0");
  need(cfg.tile_rows >= 1 && cfg.tile_cols >= 2, "--tile", "need at least 1 x 2 cells");
  need(cfg.init_spread >= 0.0 && cfg.init_spread <= 0.5, "--init-spread", "must lie in [0, 0.5]");
  need(cfg.threads >= 1, "--threads", "must be >= 1");
  need(cfg.refresh_batches >= 1, "--refresh", "must be >= 1 batch");
  need(cfg.write_model == WriteModel::Circuit ||
           cfg.pulses.scheme.unselected == UnselectedLines::Grounded,
       "--write-model",
       "the reduced write model needs grounded unselected lines (floating lines need the "
       "circuit's double-layer transient): use --write-model circuit");
  need(cfg.map.gmax_s > cfg.map.gmin_s, "gmax", "must exceed gmin");
  need(std::isfinite(cfg.map.w_scale) && cfg.map.w_scale > 0.0, "--w-scale", "must be > 0");
  need(std::isfinite(cfg.map.read_v) && cfg.map.read_v > 0.0, "--read-v", "must be > 0 V");
  need(cfg.pulses.max_pulses >= 1, "--max-pulses", "must be >= 1");
  need(cfg.pulses.dead_band >= 0.0 && cfg.pulses.dead_band < 1.0, "--dead-band",
       "must lie in [0, 1) pulses");
}

}  // namespace ecramsim::train

#include "nn/nn_job.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <thread>
#include <utility>

#include "app/cards.hpp"
#include "app/train_job.hpp"
#include "core/checkpoint.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "nn/analog.hpp"
#include "nn/engine.hpp"
#include "core/rng.hpp"
#include "io/hdf5.hpp"
#include "io/image_data.hpp"

namespace ecramsim::nn {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

io::ImageSet loadSplit(const NnJob& job, bool train) {
  const std::size_t n = train ? job.subset : job.test_subset;
  if (job.dataset == "cifar10") {
    if (job.data.empty()) {
      throw InputError({}, "--data",
                       "CIFAR-10 is not shipped: give --data DIR holding the binary version's "
                       "data_batch_1.bin ... data_batch_5.bin and test_batch.bin");
    }
    return io::readCifar10Split(job.data, train, n);
  }
  if (job.dataset == "fashion-mnist" || job.dataset == "mnist") {
    if (job.data.empty() && job.dataset == "mnist") {
      throw InputError({}, "--data", "MNIST is not shipped: give --data DIR with its IDX files");
    }
    return io::readIdxSplit(job.data.empty() ? io::defaultFashionMnistDir() : job.data, train,
                            n);
  }
  throw InputError({}, "--dataset",
                   "unknown data set '" + echoToken(job.dataset) +
                       "' (fashion-mnist, mnist or cifar10)");
}

/// samples x channels x height x width, float, scaled to [0, 1].
torch::Tensor pixels(const io::ImageSet& s) {
  auto* data = const_cast<std::uint8_t*>(s.pixels.data());  // from_blob wants non-const; copied
  return torch::from_blob(data,
                          {static_cast<long>(s.size()), s.channels, s.height, s.width},
                          torch::kUInt8)
      .to(torch::kFloat32)
      .div_(255.0);
}

torch::Tensor labels(const io::ImageSet& s) {
  std::vector<std::int64_t> y(s.labels.begin(), s.labels.end());
  return torch::tensor(y, torch::kInt64);
}

int scaled(int channels, double width) {
  return std::max(1, static_cast<int>(std::lround(channels * width)));
}

/// Creates the analog weight matrices of a network (ideal: none), each on its own tiles, with
/// every cell's state at 0.5 +- init_spread drawn from the job's Rng.
class AnalogFactory {
 public:
  AnalogFactory(const NnJob& job, Rng& rng) : job_(job), rng_(rng) {}
  [[nodiscard]] bool analog() const { return !job_.ideal; }

  std::shared_ptr<AnalogWeights> make(Eigen::Index inputs, Eigen::Index outputs) {
    const auto& c = job_.analog;
    auto w = makeAnalogWeights(c, inputs, outputs, rng_);
    Eigen::MatrixXd x(inputs + 1, 2 * outputs);
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      for (Eigen::Index i = 0; i < x.rows(); ++i) {
        x(i, j) = 0.5 + c.init_spread * (2.0 * rng_.uniform() - 1.0);
      }
    }
    w->layer->setStates(x);
    all_.push_back(w);
    return w;
  }
  [[nodiscard]] const std::vector<std::shared_ptr<AnalogWeights>>& all() const { return all_; }

 private:
  const NnJob& job_;
  Rng& rng_;
  std::vector<std::shared_ptr<AnalogWeights>> all_;
};

/// A fully connected layer: libtorch's, or on analog tiles.
torch::nn::AnyModule linear(int in, int out, AnalogFactory& analog) {
  if (analog.analog()) return torch::nn::AnyModule(AnalogLinear(analog.make(in, out)));
  return torch::nn::AnyModule(torch::nn::Linear(in, out));
}

torch::nn::Sequential vgg8(const io::ImageSet& d, double width, bool batchnorm,
                           AnalogFactory& analog) {
  torch::nn::Sequential net;
  int in = d.channels;
  int h = d.height;
  int w = d.width;
  for (int block : {128, 256, 512}) {
    for (int k = 0; k < 2; ++k) {
      const int out = scaled(block, width);
      if (analog.analog()) {
        net->push_back(AnalogConv2d(analog.make(in * 9, out), 3, 1));
      } else {
        net->push_back(
            torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(!batchnorm)));
      }
      if (batchnorm) net->push_back(torch::nn::BatchNorm2d(out));
      net->push_back(torch::nn::ReLU());
      in = out;
    }
    net->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)));
    h /= 2;
    w /= 2;
  }
  if (h < 1 || w < 1) {
    throw InputError({}, "--dataset",
                     "images of " + std::to_string(d.height) + " x " + std::to_string(d.width) +
                         " are too small for VGG-8's three 2 x 2 poolings (8 x 8 at least)");
  }
  const int fc = scaled(1024, width);
  net->push_back(torch::nn::Flatten());
  net->push_back(linear(in * h * w, fc, analog));
  net->push_back(torch::nn::ReLU());
  net->push_back(linear(fc, d.classes, analog));
  return net;
}

torch::nn::Sequential mlp(const io::ImageSet& d, const std::vector<int>& layers,
                          AnalogFactory& analog) {
  const auto features = static_cast<long>(d.imageBytes());
  if (layers.size() < 2) {
    throw InputError({}, "--layers", "need at least the input and the output size, e.g. " +
                                         std::to_string(features) + ",256," +
                                         std::to_string(d.classes));
  }
  if (layers.front() != features || layers.back() != d.classes) {
    throw InputError({}, "--layers",
                     "the first size must be the data's " + std::to_string(features) +
                         " inputs and the last its " + std::to_string(d.classes) +
                         " classes, got " + std::to_string(layers.front()) + " ... " +
                         std::to_string(layers.back()));
  }
  torch::nn::Sequential net;
  net->push_back(torch::nn::Flatten());
  for (std::size_t i = 0; i + 1 < layers.size(); ++i) {
    if (layers[i + 1] < 1) throw InputError({}, "--layers", "layer sizes must be positive");
    if (i > 0) net->push_back(torch::nn::ReLU());
    net->push_back(linear(layers[i], layers[i + 1], analog));
  }
  return net;
}

void checkJob(const NnJob& job) {
  if (job.network != "vgg8" && job.network != "mlp") {
    throw InputError({}, "network", "unknown network '" + echoToken(job.network) + "'");
  }
  if (!job.ideal && !job.resume.empty() && job.analog.write_model == train::WriteModel::Circuit) {
    throw InputError({}, "--resume",
                     "an analog run resumes with --write-model factors or reduced: the circuit "
                     "writes' solver keeps warm starts that are not saved");
  }
  if (job.epochs < 1) throw InputError({}, "--epochs", "must be at least 1");
  if (job.batch < 1) throw InputError({}, "--batch", "must be at least 1");
  if (!(job.learning_rate > 0.0)) throw InputError({}, "--lr", "must be positive");
  if (!(job.width > 0.0) || job.width > 4.0) {
    throw InputError({}, "--width", "must lie in (0, 4]");
  }
  const AnalogConfig& a = job.analog;
  for (const auto& [bits, flag] : {std::pair{a.periphery.dac_bits, "--dac-bits"},
                                   std::pair{a.periphery.adc_bits, "--adc-bits"}}) {
    if (bits < 0 || bits == 1 || bits > 24) {
      throw InputError({}, flag, "must be 0 (ideal) or 2 to 24 bits (sign included)");
    }
  }
  if (!(a.periphery.read_noise >= 0.0 && a.periphery.read_noise <= 1.0)) {
    throw InputError({}, "--read-noise", "must lie in [0, 1] (a fraction of the largest output)");
  }
  if (a.read_refresh < 0) throw InputError({}, "--read-refresh", "must be >= 0 batches");
  if (a.refresh_batches < 1) throw InputError({}, "--refresh", "must be at least 1 batch");
}

struct Curve {
  std::vector<double> trainLoss, trainAccuracy, testLoss, testAccuracy, seconds;
  std::vector<double> pulses, energy;  ///< analog: totals up to each epoch
};

/// The training samples' order in `epoch` (1-based): a Fisher-Yates shuffle seeded by the job's
/// seed and the epoch alone, so a resumed run visits the samples as an uninterrupted one.
torch::Tensor epochOrder(std::uint64_t seed, int epoch, std::int64_t n) {
  Rng rng(seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(epoch));
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(rng.uniform() * static_cast<double>(i + 1));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  return torch::tensor(order, torch::kInt64);
}

/// Every parameter and buffer of the network by its module path ("0.weight", "1.running_mean").
std::vector<std::pair<std::string, torch::Tensor>> stateOf(torch::nn::Sequential& net) {
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (const auto& p : net->named_parameters()) state.emplace_back(p.key(), p.value());
  for (const auto& b : net->named_buffers()) state.emplace_back(b.key(), b.value());
  return state;
}

void saveState(ResultTree& t, torch::nn::Sequential& net) {
  for (auto& [name, tensor] : stateOf(net)) {
    const auto flat = tensor.detach().to(torch::kFloat64).contiguous().reshape({-1});
    Dataset d;
    std::vector<std::string> dims;
    for (std::int64_t k = 0; k < tensor.dim(); ++k) {
      d.shape.push_back(static_cast<std::size_t>(tensor.size(k)));
      dims.push_back(name + "_axis" + std::to_string(k));
    }
    const auto* v = flat.data_ptr<double>();
    d.data = std::vector<double>(v, v + flat.numel());
    d.attrs["units"] = std::string("1");
    d.attrs["description"] = std::string("after the last completed epoch (--resume reads it)");
    d.dims = dims;
    t.dataset("/state/" + name, std::move(d));
  }
}

/// The job settings a --resume file must share with the job, as /config attributes.
void describeJob(ResultTree& t, const NnJob& job, const io::ImageSet& train,
                 const io::ImageSet& test) {
  std::string layers;
  for (int l : job.layers) layers += (layers.empty() ? "" : ",") + std::to_string(l);
  t.attribute("/config", "network", job.network);
  t.attribute("/config", "layers", layers);
  t.attribute("/config", "dataset", job.dataset);
  t.attribute("/config", "data", train.source + " ; " + test.source);
  t.attribute("/config", "weights", std::string(job.ideal ? "ideal (float32)" : "ecram"));
  t.attribute("/config", "width", job.width);
  t.attribute("/config", "batchnorm", static_cast<std::int64_t>(job.batchnorm));
  t.attribute("/config", "train_samples", static_cast<std::int64_t>(train.size()));
  t.attribute("/config", "test_samples", static_cast<std::int64_t>(test.size()));
  t.attribute("/config", "batch", static_cast<std::int64_t>(job.batch));
  t.attribute("/config", "learning_rate", job.learning_rate);
  t.attribute("/config", "seed", static_cast<std::int64_t>(job.seed));
  if (job.ideal) return;
  const auto& c = job.analog;
  const std::string g = "/config/analog";
  t.attribute(g, "card", c.card);
  t.attribute(g, "engine", c.engine);
  t.attribute(g, "tile", std::to_string(c.tile_rows) + "x" + std::to_string(c.tile_cols));
  t.attribute(g, "r_seg_ohm", c.geometry.r_row_seg);
  t.attribute(g, "r_drv_ohm", c.geometry.r_drv);
  t.attribute(g, "w_scale", c.map.w_scale);
  t.attribute(g, "read_v", c.map.read_v);
  t.attribute(g, "init_spread", c.init_spread);
  t.attribute(g, "amplitude_v", c.pulses.amplitude_v);
  t.attribute(g, "pulse_width_s", c.pulses.width_s);
  t.attribute(g, "max_pulses", static_cast<std::int64_t>(c.pulses.max_pulses));
  t.attribute(g, "dead_band_pulses", c.pulses.dead_band);
  t.attribute(g, "bias", std::string(c.pulses.scheme.fraction == BiasFraction::Half ? "V/2" : "V/3"));
  t.attribute(g, "controller", std::string(c.pulses.state_aware ? "state-aware" : "linear"));
  t.attribute(g, "write_model", std::string(train::writeModelName(c.write_model)));
  t.attribute(g, "refresh_batches", static_cast<std::int64_t>(c.refresh_batches));
  t.attribute(g, "read_refresh_batches", static_cast<std::int64_t>(c.read_refresh));
  t.attribute(g, "dac_bits", static_cast<std::int64_t>(c.periphery.dac_bits));
  t.attribute(g, "adc_bits", static_cast<std::int64_t>(c.periphery.adc_bits));
  t.attribute(g, "read_noise", c.periphery.read_noise);
}

/// counts and edges (bins + 1) of `v` in [lo, hi] (values outside go to the end bins).
void histogram(ResultTree& t, const std::string& path, const Eigen::MatrixXd& v, double lo,
               double hi, int bins, const std::string& unit, const std::string& what) {
  std::vector<double> counts(static_cast<std::size_t>(bins), 0.0), edges;
  for (int k = 0; k <= bins; ++k) edges.push_back(lo + (hi - lo) * k / bins);
  for (Eigen::Index k = 0; k < v.size(); ++k) {
    const double f = (v.data()[k] - lo) / (hi - lo) * bins;
    ++counts[static_cast<std::size_t>(std::clamp(f, 0.0, bins - 1.0))];
  }
  t.vector(path + "_counts", counts, "count", what + " per bin (outliers in the end bins)");
  t.vector(path + "_edges", edges, unit, "bin edges of " + path + "_counts");
}

std::vector<double> rowMajor(const Eigen::MatrixXd& m) {
  std::vector<double> v;
  v.reserve(static_cast<std::size_t>(m.size()));
  for (Eigen::Index r = 0; r < m.rows(); ++r) {
    for (Eigen::Index c = 0; c < m.cols(); ++c) v.push_back(m(r, c));
  }
  return v;
}

/// /layers/<k>: each analog weight matrix's tiles, pulses, energy, disturb, conductance and
/// weight histograms (before and after), and its cells' final states and conductances.
void describeLayers(ResultTree& t, const std::vector<std::shared_ptr<AnalogWeights>>& layers,
                    const std::vector<train::UpdateStats>& stats,
                    const std::vector<Eigen::MatrixXd>& gBefore, const AnalogConfig& c) {
  const double gLo = 0.9 * c.map.gmin_s, gHi = 1.1 * c.map.gmax_s;
  const double wMax = 1.1 * c.map.w_scale * (gHi - gLo) / (c.map.gmax_s - c.map.gmin_s);
  for (std::size_t k = 0; k < layers.size(); ++k) {
    auto& layer = *layers[k]->layer;
    const std::string g = "/layers/" + std::to_string(k);
    t.scalar(g + "/pulses", static_cast<double>(stats[k].pulses), "count", "write pulses");
    t.scalar(g + "/write_phases", static_cast<double>(stats[k].phases), "count",
             "row-parallel write phases");
    t.scalar(g + "/write_energy_j", stats[k].energy_j, "J", "drawn by the write drivers");
    t.scalar(g + "/disturb", stats[k].disturb, "1",
             "summed |state change| of cells without a pulse in their update");
    const Eigen::MatrixXd gAfter = layer.conductances();
    histogram(t, g + "/conductance_before", gBefore[k], gLo, gHi, 64, "S", "cells");
    histogram(t, g + "/conductance_after", gAfter, gLo, gHi, 64, "S", "cells");
    histogram(t, g + "/weight_after", layer.exactWeights(), -wMax, wMax, 64, "1", "weights");
    t.matrix(g + "/states", std::size_t(gAfter.rows()), std::size_t(gAfter.cols()),
             rowMajor(layer.states()), "1", "final state of every cell (pair j: columns 2j, 2j+1)");
    t.matrix(g + "/conductance_s", std::size_t(gAfter.rows()), std::size_t(gAfter.cols()),
             rowMajor(gAfter), "S", "final conductance of every cell");
    t.dimensions(g + "/states", {"row", "col"});
    t.dimensions(g + "/conductance_s", {"row", "col"});
    t.attribute(g, "inputs", static_cast<std::int64_t>(layer.rows() - 1));
    t.attribute(g, "outputs", static_cast<std::int64_t>(layer.outputs()));
    t.attribute(g, "tiles", static_cast<std::int64_t>(layer.tileCount()));
  }
}

/// What an analog run accumulates besides its layers: the update totals (all matrices and
/// per matrix) and the wall-time profile.
struct RunTotals {
  train::UpdateStats updates;
  std::vector<train::UpdateStats> perMatrix;
  StepTimes times;
  /// s, read and write-model refresh time before the layers' own clocks started (a resumed
  /// run's earlier epochs)
  double read_refresh_s = 0.0, write_refresh_s = 0.0;
};

/// s, the run's read and write-model refresh time: the totals' earlier part and the layers'.
std::pair<double, double> refreshSeconds(const std::vector<std::shared_ptr<AnalogWeights>>& layers,
                                         const RunTotals& totals) {
  double read = totals.read_refresh_s, write = totals.write_refresh_s;
  for (const auto& w : layers) {
    read += w->layer->readSeconds();
    write += w->layer->writeRefreshSeconds();
  }
  return {read, write};
}

std::vector<double> flatten(const train::UpdateStats& u) {
  return {static_cast<double>(u.pulses), static_cast<double>(u.phases),
          static_cast<double>(u.skipped), static_cast<double>(u.capped), u.array_time_s,
          u.energy_j, u.disturb};
}

train::UpdateStats unflatten(const std::vector<double>& v) {
  train::UpdateStats u;
  u.pulses = static_cast<long long>(v[0]);
  u.phases = static_cast<long long>(v[1]);
  u.skipped = static_cast<long long>(v[2]);
  u.capped = static_cast<long long>(v[3]);
  u.array_time_s = v[4];
  u.energy_j = v[5];
  u.disturb = v[6];
  return u;
}

/// The analog run's whole state beyond libtorch's parameters: every matrix's layer
/// (DifferentialLayer::save), read count and read-noise stream, and the totals.
Checkpoint saveAnalog(const std::vector<std::shared_ptr<AnalogWeights>>& layers,
                      const RunTotals& totals) {
  Checkpoint cp;
  for (std::size_t k = 0; k < layers.size(); ++k) {
    const auto& w = *layers[k];
    const std::string g = "layers/" + std::to_string(k) + "/";
    w.layer->save(cp, g);
    cp.values[g + "reads"] = {static_cast<double>(w.reads)};
    if (w.noise) cp.texts[g + "rng_noise"] = w.noise->state();
    cp.values[g + "update_totals"] = flatten(totals.perMatrix[k]);
  }
  cp.values["update_totals"] = flatten(totals.updates);
  cp.values["profile_s"] = {totals.times.forward_s, totals.times.backward_s,
                            totals.times.update_s};
  const auto [read, write] = refreshSeconds(layers, totals);
  cp.values["profile_refresh_s"] = {read, write};
  return cp;
}

/// Puts back what saveAnalog() saved (InputError naming the key for another run's state).
void restoreAnalog(const Checkpoint& cp, const std::vector<std::shared_ptr<AnalogWeights>>& layers,
                   RunTotals& totals) {
  constexpr long long kStats = 7;
  for (std::size_t k = 0; k < layers.size(); ++k) {
    auto& w = *layers[k];
    const std::string g = "layers/" + std::to_string(k) + "/";
    w.layer->restore(cp, g);
    w.reads = static_cast<long long>(cp.number(g + "reads"));
    if (w.noise) cp.restore(g + "rng_noise", *w.noise);
    totals.perMatrix[k] = unflatten(cp.at(g + "update_totals", kStats));
  }
  totals.updates = unflatten(cp.at("update_totals", kStats));
  const auto& p = cp.at("profile_s", 3);
  totals.times = {p[0], p[1], p[2]};
  // The layers' clocks keep running (an interrupted run) or start at 0 (a resumed one): the
  // totals take the rest, so that the sum is the saved time. Files from before this key: 0.
  totals.read_refresh_s = totals.write_refresh_s = 0.0;
  if (cp.values.count("profile_refresh_s") > 0) {
    const auto& r = cp.at("profile_refresh_s", 2);
    const auto [read, write] = refreshSeconds(layers, totals);
    totals.read_refresh_s = r[0] - read;
    totals.write_refresh_s = r[1] - write;
  }
}

/// The checkpoint as /resume datasets of the result file, and back.
void writeCheckpoint(ResultTree& t, const Checkpoint& cp) {
  const std::string what = "the analog run's state after the last completed epoch (--resume)";
  for (const auto& [key, v] : cp.values) t.vector("/resume/" + key, v, "1", what);
  for (const auto& [key, text] : cp.texts) t.text("/resume/" + key, text, what);
}

Checkpoint readCheckpoint(const ResultTree& old, const std::string& file) {
  Checkpoint cp;
  cp.source = file;
  const std::string prefix = "/resume/";
  for (const auto& [path, d] : old.datasets()) {
    if (path.rfind(prefix, 0) != 0) continue;
    const std::string key = path.substr(prefix.size());
    if (const auto* v = std::get_if<std::vector<double>>(&d.data)) {
      cp.values[key] = *v;
    } else if (const auto* sv = std::get_if<std::vector<std::string>>(&d.data);
               sv && sv->size() == 1) {
      cp.texts[key] = sv->front();
    }
  }
  return cp;
}

/// Reads a --resume file: checks that it was made by the same job, loads its state into `net`,
/// the analog layers and `totals`, and its learning curve into `curve`.
void resumeFrom(const NnJob& job, const ResultTree& now, torch::nn::Sequential& net,
                const std::vector<std::shared_ptr<AnalogWeights>>& layers, RunTotals& totals,
                Curve& curve) {
  const auto where = SourceLocation{job.resume.string(), 0};
  const ResultTree old = io::readResultFile(job.resume);
  if (old.groupAttrs().count("/config") == 0) {
    throw InputError(where, "--resume", "not a file of `ecramsim train mlp|vgg8` (no /config)");
  }
  for (const auto& [group, attrs] : now.groupAttrs()) {
    if (group != "/config" && group != "/config/analog") continue;
    const auto oldGroup = old.groupAttrs().find(group);
    for (const auto& [key, value] : attrs) {
      const bool same = oldGroup != old.groupAttrs().end() && oldGroup->second.count(key) > 0 &&
                        oldGroup->second.at(key) == value;
      if (!same) {
        throw InputError(where, "--resume",
                         "was made by another job: its " + group + " attribute '" + key +
                             "' differs from this run's");
      }
    }
  }
  torch::NoGradGuard noGrad;
  for (auto& [name, tensor] : stateOf(net)) {
    const std::string path = "/state/" + name;
    if (!old.has(path)) throw InputError(where, "--resume", "has no " + path);
    const auto& v = old.values(path);
    if (static_cast<std::int64_t>(v.size()) != tensor.numel()) {
      throw InputError(where, "--resume", path + " has the wrong size");
    }
    auto loaded = torch::tensor(v, torch::kFloat64).reshape(tensor.sizes());
    tensor.copy_(loaded.to(tensor.dtype()));
  }
  curve.trainLoss = old.values("/training/train_loss");
  curve.trainAccuracy = old.values("/training/train_accuracy");
  curve.testLoss = old.values("/training/test_loss");
  curve.testAccuracy = old.values("/training/test_accuracy");
  curve.seconds = old.values("/training/seconds");
  if (!job.ideal) {
    restoreAnalog(readCheckpoint(old, job.resume.string()), layers, totals);
    curve.pulses = old.values("/training/pulses");
    curve.energy = old.values("/training/write_energy_j");
  }
}

/// Mean loss and accuracy of the network on (x, y), in evaluation mode, in slices of 500.
std::pair<double, double> evaluate(torch::nn::Sequential& net, const torch::Tensor& x,
                                   const torch::Tensor& y) {
  torch::NoGradGuard noGrad;
  net->eval();
  double loss = 0.0;
  std::int64_t correct = 0;
  const auto n = x.size(0);
  for (std::int64_t s = 0; s < n; s += 500) {
    const auto e = std::min<std::int64_t>(n, s + 500);
    const auto out = net->forward(x.slice(0, s, e));
    const auto yb = y.slice(0, s, e);
    loss += torch::nn::functional::cross_entropy(
                out, yb, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                .item<double>();
    correct += out.argmax(1).eq(yb).sum().item<std::int64_t>();
  }
  return {loss / static_cast<double>(n), static_cast<double>(correct) / static_cast<double>(n)};
}

}  // namespace

NnRun runNnJob(const NnJob& job, Progress& progress, const CancelToken& cancel) {
  checkJob(job);
  const auto trainSet = loadSplit(job, true);
  const auto testSet = loadSplit(job, false);
  if (trainSet.height != testSet.height || trainSet.width != testSet.width ||
      trainSet.channels != testSet.channels) {
    throw InputError({testSet.source, 0}, "--data",
                     "test images differ in size from the training images");
  }
  torch::set_num_threads(job.threads > 0
                             ? job.threads
                             : std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
  torch::manual_seed(job.seed);

  // Standardize with the training split's statistics per channel (digital preprocessing).
  auto x = pixels(trainSet);
  const auto mean = x.mean({0, 2, 3}, true);
  const auto sd = x.std({0, 2, 3}, true, true).clamp_min(1e-6);
  x = (x - mean) / sd;
  const auto xt = (pixels(testSet) - mean) / sd;
  const auto y = labels(trainSet);
  const auto yt = labels(testSet);

  Rng analogRng(job.seed);
  AnalogFactory analog(job, analogRng);
  auto net = job.network == "vgg8" ? vgg8(trainSet, job.width, job.batchnorm, analog)
                                   : mlp(trainSet, job.layers, analog);
  // The controller's nominal pulse response (analog weights only).
  std::optional<train::PulseResponse> response;
  if (!job.ideal) {
    const auto& c = job.analog;
    response.emplace(cellParams(c.params), c.pulses.scheme, c.pulses.amplitude_v,
                     c.pulses.width_s);
  }
  RunTotals totals;  // pulses, energy, disturb and the wall-time profile, summed over the run
  totals.perMatrix.resize(analog.all().size());
  std::vector<Eigen::MatrixXd> gBefore;
  for (const auto& w : analog.all()) gBefore.push_back(w->layer->conductances());
  std::int64_t parameters = 0;
  for (const auto& p : net->parameters()) parameters += p.numel();
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(job.learning_rate));

  NnRun run;
  auto& t = run.tree;
  describeJob(t, job, trainSet, testSet);
  Curve curve;
  if (!job.resume.empty()) resumeFrom(job, t, net, analog.all(), totals, curve);
  const auto n = static_cast<std::int64_t>(trainSet.size());
  const std::int64_t batches = (n + job.batch - 1) / job.batch;
  // The state after the last completed epoch: an interruption puts it back, so that the file
  // holds the state its learning curve ends with.
  auto snapshot = [&net] {
    std::vector<torch::Tensor> copy;
    for (auto& [name, tensor] : stateOf(net)) copy.push_back(tensor.detach().clone());
    return copy;
  };
  auto completed = snapshot();
  auto completedAnalog = saveAnalog(analog.all(), totals);
  try {
    for (int epoch = static_cast<int>(curve.testAccuracy.size()) + 1; epoch <= job.epochs;
         ++epoch) {
      const auto t0 = Clock::now();
      const std::string stage = "epoch " + std::to_string(epoch) + "/" +
                                std::to_string(job.epochs);
      net->train();
      const auto order = epochOrder(job.seed, epoch, n);
      double loss = 0.0;
      std::int64_t correct = 0;
      for (std::int64_t b = 0; b < batches; ++b) {
        cancel.throwIfCancelled();
        const auto idx = order.slice(0, b * job.batch, std::min(n, (b + 1) * job.batch));
        const auto xb = x.index_select(0, idx);
        const auto yb = y.index_select(0, idx);
        const auto [out, l] = sgdStep(net, sgd, analog.all(), job.analog, response,
                                      job.learning_rate, xb, yb, totals.updates, &totals.times,
                                      &totals.perMatrix);
        loss += l.item<double>() * static_cast<double>(idx.size(0));
        correct += out.argmax(1).eq(yb).sum().item<std::int64_t>();
        progress.update(stage, static_cast<std::size_t>(b + 1), static_cast<std::size_t>(batches));
      }
      const auto [testLoss, testAcc] = evaluate(net, xt, yt);
      curve.trainLoss.push_back(loss / static_cast<double>(n));
      curve.trainAccuracy.push_back(static_cast<double>(correct) / static_cast<double>(n));
      curve.testLoss.push_back(testLoss);
      curve.testAccuracy.push_back(testAcc);
      curve.seconds.push_back(secondsSince(t0));
      char line[160];
      std::snprintf(line, sizeof line,
                    "epoch %d: train loss %.4f, test accuracy %.2f %%, test loss %.4f (%.0f s)",
                    epoch, curve.trainLoss.back(), 100.0 * testAcc, testLoss,
                    curve.seconds.back());
      progress.note(line);
      curve.pulses.push_back(static_cast<double>(totals.updates.pulses));
      curve.energy.push_back(totals.updates.energy_j);
      completed = snapshot();
      completedAnalog = saveAnalog(analog.all(), totals);
    }
  } catch (const Interrupted&) {
    run.interrupted = true;
    torch::NoGradGuard noGrad;
    auto state = stateOf(net);
    for (std::size_t k = 0; k < state.size(); ++k) state[k].second.copy_(completed[k]);
    restoreAnalog(completedAnalog, analog.all(), totals);
  }

  const auto epochs = curve.testAccuracy.size();
  std::vector<double> epochIndex(epochs);
  for (std::size_t e = 0; e < epochs; ++e) epochIndex[e] = static_cast<double>(e + 1);
  t.vector("/training/epoch", epochIndex, "count", "epochs completed");
  t.vector("/training/train_loss", curve.trainLoss, "1",
           "mean cross-entropy over the epoch's batches, in training mode");
  t.vector("/training/train_accuracy", curve.trainAccuracy, "1",
           "share of the epoch's training samples classified right as they were trained");
  t.vector("/training/test_loss", curve.testLoss, "1", "mean cross-entropy on the test split");
  t.vector("/training/test_accuracy", curve.testAccuracy, "1",
           "share of the test split classified right after the epoch");
  t.vector("/training/seconds", curve.seconds, "s", "wall time of the epoch with its test");
  if (!job.ideal) {
    t.vector("/training/pulses", curve.pulses, "count", "write pulses applied up to the epoch");
    t.vector("/training/write_energy_j", curve.energy, "J",
             "energy drawn by the write drivers up to the epoch");
  }
  t.dimensionsBelow("/training", {"epoch"});
  saveState(t, net);
  if (!job.ideal) writeCheckpoint(t, completedAnalog);
  t.attribute("/training", "epochs_requested", static_cast<std::int64_t>(job.epochs));
  t.attribute("/training", "optimizer", std::string("plain SGD (no momentum, no weight decay)"));
  t.attribute("/training", "libtorch", std::string(TORCH_VERSION));
  std::string arch;
  for (const auto& m : net->children()) arch += (arch.empty() ? "" : " | ") + m->name();
  t.text("/config/architecture", arch, "the layers in order (libtorch module names)");
  std::size_t tiles = 0;
  long long reads = 0;
  for (const auto& w : analog.all()) {
    tiles += w->layer->tileCount();
    reads += w->reads;
    parameters += w->layer->rows() * w->layer->outputs();
  }
  t.metric("parameters", static_cast<double>(parameters), "count",
           "weights and digital parameters (an analog weight: one pair of cells)");
  if (!job.ideal) {
    t.metric("tiles", static_cast<double>(tiles), "count", "arrays holding the analog weights");
    t.metric("pulses_total", static_cast<double>(totals.updates.pulses), "count", "write pulses");
    t.metric("write_phases", static_cast<double>(totals.updates.phases), "count",
             "row-parallel write phases");
    t.metric("capped", static_cast<double>(totals.updates.capped), "count",
             "pulse requests cut to --max-pulses");
    t.metric("write_energy_j", totals.updates.energy_j, "J", "drawn by the write drivers");
    t.metric("reads", static_cast<double>(reads), "count", "input vectors read through tiles");
    t.metric("disturb_total", totals.updates.disturb, "1",
             "summed |state change| of the cells without a pulse in their update");
    describeLayers(t, analog.all(), totals.perMatrix, gBefore, job.analog);
  }
  // Where the time went (wall; the refreshes are parts of forward and update).
  t.metric("profile_forward_s", totals.times.forward_s, "s",
           "forward passes of the batches (reads included)");
  t.metric("profile_backward_s", totals.times.backward_s, "s",
           "backward passes (transposed reads included)");
  t.metric("profile_update_s", totals.times.update_s, "s",
           "SGD steps and pulses (write refresh included)");
  if (!job.ideal) {
    const auto [readS, refreshS] = refreshSeconds(analog.all(), totals);
    t.metric("profile_read_refresh_s", readS, "s",
             "reading the tiles' effective weights (every --read-refresh batches)");
    t.metric("profile_write_refresh_s", refreshS, "s",
             "refreshing the write model's factors, summed over the tiles");
  }
  t.metric("epochs_completed", static_cast<double>(epochs), "count", "epochs with a test");
  if (epochs > 0) {
    t.metric("test_accuracy", curve.testAccuracy.back(), "1", "after the last completed epoch");
    t.metric("train_accuracy", curve.trainAccuracy.back(), "1", "during the last epoch");
    t.metric("seconds_per_epoch", curve.seconds.back(), "s", "wall time of the last epoch");
  }
  return run;
}

AnalogConfig defaultAnalogConfig() {
  const auto mushroom = app::defaultTrainJob();
  const auto card = app::resolveCard(app::defaultCardPath().string(), {});
  AnalogConfig c;
  c.card = card.name;
  c.params = card.params;
  c.geometry = mushroom.geometry;
  c.map = mushroom.config.map;
  c.map.gmin_s = card.params.gmin;
  c.map.gmax_s = card.params.gmax;
  c.pulses = mushroom.config.pulses;
  c.init_spread = mushroom.config.init_spread;
  c.threads = mushroom.config.threads;
  // The pulse-factor model's factors follow the conductances' slow drift: refreshed every 10
  // batches (--refresh; tools/bench/vgg8.sh compares --refresh 1).
  c.refresh_batches = 10;
  // A deep network's per-batch gradients are mostly far below one pulse: no dead band, so that
  // stochastic rounding passes them on unbiased, and w_scale 1 (a pulse on each cell of a pair
  // moves a weight by about 0.008, half the step of mushroom's w_scale 2; VGG-8's weights stay
  // well inside +-1), the initial spread doubled to keep the initial weights' spread. Measured
  // on VGG-8 --width 0.25, the first 10,000 Fashion-MNIST samples, one epoch, 2,000 test
  // samples (--ideal 81.95 %): mushroom's settings (w_scale 2, dead band 0.1) 78.05 %, dead band
  // 0 79.90 %, and with w_scale 1 82.10 % (twice the pulses).
  c.map.w_scale = 1.0;
  c.init_spread = 0.1;
  c.pulses.dead_band = 0.0;
  return c;
}

ResultTree paperVgg8(std::uint64_t seed, Progress& progress) {
  NnJob job;
  job.network = "vgg8";
  job.width = 0.125;
  job.subset = 2000;
  job.test_subset = 1000;
  job.epochs = 1;
  job.seed = seed;
  job.analog = defaultAnalogConfig();
  NnJob ideal = job;
  ideal.ideal = true;
  const NnRun base = runNnJob(ideal, progress, globalCancelToken());
  NnRun run = runNnJob(job, progress, globalCancelToken());
  run.tree.metric("ideal_test_accuracy", base.tree.metricValue("test_accuracy"), "1",
                  "the same network, initial weights and data order with --ideal");
  for (const char* name : {"epoch", "test_accuracy", "train_accuracy", "train_loss", "test_loss"}) {
    run.tree.dataset(std::string("/ideal/") + name,
                     base.tree.datasets().at(std::string("/training/") + name));
  }
  return run.tree;
}

}  // namespace ecramsim::nn

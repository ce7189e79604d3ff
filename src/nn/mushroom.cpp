#include "nn/mushroom.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <optional>

#include "nn/analog.hpp"
#include "nn/engine.hpp"

namespace ecramsim::nn {
namespace {

using Index = Eigen::Index;
using Clock = std::chrono::steady_clock;
using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Random streams of a run, split in a fixed order (see mushroom.hpp).
struct Streams {
  Rng init, shuffle, tiles;
  explicit Streams(Rng& rng) : init(rng.split()), shuffle(rng.split()), tiles(rng.split()) {}
};

/// Initial states: rows x 2 outputs, 0.5 + uniform(-spread, spread), drawn row by row.
Eigen::MatrixXd initialStates(Index rows, Index outputs, double spread, Rng& rng) {
  Eigen::MatrixXd x(rows, 2 * outputs);
  for (Index r = 0; r < rows; ++r) {
    for (Index c = 0; c < 2 * outputs; ++c) x(r, c) = 0.5 + spread * (2.0 * rng.uniform() - 1.0);
  }
  return x;
}

/// The weights the states stand for on the nominal device: rows x outputs.
Eigen::MatrixXd nominalWeights(const Eigen::MatrixXd& x, double w_scale) {
  Eigen::MatrixXd w(x.rows(), x.cols() / 2);
  for (Index j = 0; j < w.cols(); ++j) w.col(j) = w_scale * (x.col(2 * j) - x.col(2 * j + 1));
  return w;
}

/// A Fisher-Yates shuffle of 0 ... n - 1.
std::vector<std::int64_t> permutation(std::size_t n, Rng& rng) {
  std::vector<std::int64_t> idx(n);
  std::iota(idx.begin(), idx.end(), std::int64_t{0});
  for (std::size_t i = n; i > 1; --i) {
    const auto j = static_cast<std::size_t>(rng.uniform() * double(i));
    std::swap(idx[i - 1], idx[std::min(j, i - 1)]);
  }
  return idx;
}

torch::Tensor toTensor(const Eigen::MatrixXd& m) {
  RowMajor r = m;
  return torch::from_blob(r.data(), {r.rows(), r.cols()}, torch::kFloat64).clone();
}

torch::Tensor labelTensor(const std::vector<int>& y) {
  return torch::tensor(std::vector<std::int64_t>(y.begin(), y.end()), torch::kInt64);
}

/// A float64 libtorch Linear layer holding the rows x outputs weights w (bias row last).
torch::nn::Linear idealLinear(const Eigen::MatrixXd& w) {
  torch::nn::Linear l(w.rows() - 1, w.cols());
  l->to(torch::kFloat64);
  torch::NoGradGuard noGrad;
  l->weight.copy_(toTensor(w.topRows(w.rows() - 1).transpose()));
  l->bias.copy_(toTensor(w.bottomRows(1)).reshape({-1}));
  return l;
}

/// rows x outputs weights of a Linear layer (bias row last).
Eigen::MatrixXd linearWeights(const torch::nn::Linear& l) {
  const auto w = torch::cat({l->weight.detach().t(), l->bias.detach().unsqueeze(0)}, 0)
                     .to(torch::kFloat64)
                     .contiguous();
  return Eigen::Map<const RowMajor>(w.data_ptr<double>(), w.size(0), w.size(1));
}

struct Score {
  double loss = 0.0;
  double accuracy = 0.0;
};

/// Mean cross-entropy and accuracy of the network on (x, y), in slices of 2048 rows.
Score score(torch::nn::Sequential& net, const torch::Tensor& x, const torch::Tensor& y) {
  constexpr std::int64_t kSlice = 2048;
  torch::NoGradGuard noGrad;
  net->eval();
  const auto n = x.size(0);
  Score s;
  if (n == 0) return s;
  std::int64_t correct = 0;
  for (std::int64_t a = 0; a < n; a += kSlice) {
    const auto b = std::min(n, a + kSlice);
    const auto out = net->forward(x.slice(0, a, b));
    const auto yb = y.slice(0, a, b);
    s.loss += torch::nn::functional::cross_entropy(
                  out, yb,
                  torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                  .item<double>();
    correct += out.argmax(1).eq(yb).sum().item<std::int64_t>();
  }
  s.loss /= static_cast<double>(n);
  s.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  return s;
}

/// The analog settings of `train mushroom`'s job, as the engine takes them.
AnalogConfig analogConfig(const app::TrainJob& job) {
  const auto& cfg = job.config;
  AnalogConfig c;
  c.card = job.card.name;
  c.params = job.card.params;
  c.geometry = job.geometry;
  c.engine = job.engine;
  c.tile_rows = cfg.tile_rows;
  c.tile_cols = cfg.tile_cols;
  c.map = cfg.map;
  c.pulses = cfg.pulses;
  c.init_spread = cfg.init_spread;
  c.threads = cfg.threads;
  c.write_model = cfg.write_model;
  c.refresh_batches = cfg.refresh_batches;
  c.read_refresh = 0;  // every batch read through the tiles, as the mushroom training always did
  return c;
}

torch::nn::AnyModule activation(train::Activation a) {
  if (a == train::Activation::Tanh) return torch::nn::AnyModule(torch::nn::Tanh());
  return torch::nn::AnyModule(torch::nn::ReLU());
}

}  // namespace

train::TrainResult trainMushroomNetwork(const train::Samples& train, const train::Samples& test,
                                        const app::TrainJob& job, bool ideal, Rng& rng,
                                        Progress& progress) {
  const auto t0 = Clock::now();
  const auto& cfg = job.config;
  // The network is far too small to share its arithmetic among threads.
  torch::set_num_threads(1);
  Streams streams(rng);
  train::TrainResult res;
  const Index nIn = train.x.cols();
  const Eigen::MatrixXd x1 = initialStates(nIn + 1, cfg.hidden, cfg.init_spread, streams.init);
  const Eigen::MatrixXd x2 =
      initialStates(cfg.hidden + 1, cfg.classes, cfg.init_spread, streams.init);

  const AnalogConfig c = analogConfig(job);
  std::vector<std::shared_ptr<AnalogWeights>> analog;
  std::optional<train::PulseResponse> response;
  torch::nn::Linear ideal1{nullptr}, ideal2{nullptr};
  torch::nn::Sequential net;
  if (ideal) {
    ideal1 = idealLinear(nominalWeights(x1, cfg.map.w_scale));
    ideal2 = idealLinear(nominalWeights(x2, cfg.map.w_scale));
    net->push_back(ideal1);
    net->push_back(activation(cfg.activation));
    net->push_back(ideal2);
  } else {
    const Index hidden = cfg.hidden, classes = cfg.classes;
    for (const auto& [inputs, outputs, x] :
         {std::tuple{nIn, hidden, &x1}, std::tuple{hidden, classes, &x2}}) {
      analog.push_back(makeAnalogWeights(c, inputs, outputs, streams.tiles));
      analog.back()->layer->setStates(*x);
    }
    net->push_back(AnalogLinear(analog[0]));
    net->push_back(activation(cfg.activation));
    net->push_back(AnalogLinear(analog[1]));
    response.emplace(cellParams(c.params), c.pulses.scheme, c.pulses.amplitude_v,
                     c.pulses.width_s);
    for (const auto& w : analog) {
      res.tiles.push_back(w->layer->tileCount());
      res.g_before_s.push_back(w->layer->conductances());
    }
  }
  for (const auto& m : net->children()) {
    res.network += (res.network.empty() ? "" : " | ") + m->name();
  }
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(cfg.learning_rate));

  const auto x = toTensor(train.x), xt = toTensor(test.x);
  const auto y = labelTensor(train.y), yt = labelTensor(test.y);
  auto evaluate = [&](int epoch, const train::UpdateStats& u, Clock::time_point since) {
    const auto te0 = Clock::now();
    const Score tr = score(net, x, y);
    const Score te = score(net, xt, yt);
    res.profile.evaluate_s += secondsSince(te0);
    res.epochs.push_back(
        {epoch, tr.loss, tr.accuracy, te.accuracy, u, te.loss, secondsSince(since)});
  };
  evaluate(0, {}, Clock::now());

  StepTimes times;
  const auto n = static_cast<std::size_t>(train.x.rows());
  const auto batch = static_cast<std::size_t>(cfg.batch);
  const std::size_t batches = (n + batch - 1) / batch;
  for (int epoch = 1; epoch <= cfg.epochs; ++epoch) {
    const auto te0 = Clock::now();
    const auto order = torch::tensor(permutation(n, streams.shuffle), torch::kInt64);
    train::UpdateStats epochStats;
    net->train();
    for (std::size_t b = 0; b < batches; ++b) {
      globalCancelToken().throwIfCancelled();
      const auto idx = order.slice(0, static_cast<std::int64_t>(b * batch),
                                   static_cast<std::int64_t>(std::min(n, (b + 1) * batch)));
      (void)sgdStep(net, sgd, analog, c, response, cfg.learning_rate, x.index_select(0, idx),
                    y.index_select(0, idx), epochStats, &times);
      if (!ideal) {
        progress.update("train epoch " + std::to_string(epoch) + "/" + std::to_string(cfg.epochs),
                        b + 1, batches);
      }
    }
    if (ideal) progress.update("ideal", std::size_t(epoch), std::size_t(cfg.epochs));
    res.totals += epochStats;
    evaluate(epoch, epochStats, te0);
  }
  res.profile.forward_s = times.forward_s;
  res.profile.backward_s = times.backward_s;
  res.profile.update_s = times.update_s;
  if (ideal) {
    res.w_after = {linearWeights(ideal1), linearWeights(ideal2)};
  } else {
    for (const auto& w : analog) {
      const auto& l = *w->layer;
      res.g_after_s.push_back(l.conductances());
      res.pulses_per_cell.push_back(l.pulsesPerCell());
      res.x_after.push_back(l.states());
      res.x_belief.push_back(l.belief());
      res.w_after.push_back(l.exactWeights());
      res.energy_j += l.energy();
      res.reads += w->reads;
    }
    res.array_time_s = res.totals.array_time_s;
  }
  res.profile.total_s = secondsSince(t0);
  return res;
}

ResultTree runMushroomJob(const app::TrainJob& job, Progress& progress) {
  return app::runTrainJob(job, trainMushroomNetwork, progress);
}

}  // namespace ecramsim::nn

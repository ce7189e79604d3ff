#include "nn/engine.hpp"

#include <chrono>

#include "app/array_engine.hpp"
#include "array/factor_write.hpp"
#include "array/reduced_write.hpp"

namespace ecramsim::nn {
namespace {

/// Adds the wall time of its lifetime to `sink`, if any.
class Stopwatch {
 public:
  explicit Stopwatch(double* sink) : sink_(sink), t0_(std::chrono::steady_clock::now()) {}
  ~Stopwatch() {
    using std::chrono::duration;
    if (sink_) *sink_ += duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }
  Stopwatch(const Stopwatch&) = delete;
  Stopwatch& operator=(const Stopwatch&) = delete;

 private:
  double* sink_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace

std::shared_ptr<AnalogWeights> makeAnalogWeights(const AnalogConfig& c, Eigen::Index inputs,
                                                 Eigen::Index outputs, Rng& rng) {
  // The factory is called only while the layer is constructed: capturing c is safe.
  const train::BackendFactory backend = [&c](Eigen::Index rows, Eigen::Index cols, Rng& r) {
    CrossbarGeometry g = c.geometry;
    g.rows = rows;
    g.cols = cols;
    return app::makeBackend(c.engine, c.params, g, r);
  };
  auto w = std::make_shared<AnalogWeights>();
  w->layer = std::make_unique<train::DifferentialLayer>(inputs + 1, outputs, c.tile_rows,
                                                        c.tile_cols, backend, rng, c.map);
  w->layer->setThreads(c.threads);
  w->layer->useReadRefresh(c.read_refresh);
  w->periphery = c.periphery;
  if (c.periphery.read_noise > 0.0) w->noise = std::make_unique<Rng>(rng.split());
  if (c.write_model == train::WriteModel::Reduced) {
    w->layer->useWriteModel(makeReducedTileWrites, c.refresh_batches);
  } else if (c.write_model == train::WriteModel::Factors) {
    w->layer->useWriteModel(makeFactorTileWrites, c.refresh_batches);
  }
  w->dw = Eigen::MatrixXd::Zero(inputs + 1, outputs);
  return w;
}

Step sgdStep(torch::nn::Sequential& net, torch::optim::SGD& sgd,
             const std::vector<std::shared_ptr<AnalogWeights>>& analog, const AnalogConfig& c,
             const std::optional<train::PulseResponse>& response, double lr,
             const torch::Tensor& x, const torch::Tensor& y, train::UpdateStats& updates,
             StepTimes* times, std::vector<train::UpdateStats>* perMatrix) {
  Step s;
  sgd.zero_grad();
  {
    Stopwatch sw(times ? &times->forward_s : nullptr);
    s.out = net->forward(x);
    s.loss = torch::nn::functional::cross_entropy(s.out, y);
  }
  {
    Stopwatch sw(times ? &times->backward_s : nullptr);
    s.loss.backward();
  }
  Stopwatch sw(times ? &times->update_s : nullptr);
  sgd.step();  // the digital parameters (batch norm; every weight with --ideal)
  for (std::size_t k = 0; k < analog.size(); ++k) {
    const auto& w = analog[k];
    collectGradient(*w);
    const Eigen::MatrixXd dw = -lr * w->dw;
    const train::UpdateStats u = w->layer->update(dw, *response, c.pulses, c.threads);
    updates += u;
    if (perMatrix) (*perMatrix)[k] += u;
    w->dw.setZero();
  }
  return s;
}

}  // namespace ecramsim::nn

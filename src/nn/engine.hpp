#pragma once
/// The core the networks of the engine share (`train mushroom`, `train mlp`, `train vgg8`):
/// analog weight matrices on tiles as AnalogConfig describes them, and one plain-SGD step of a
/// network whose weights are libtorch parameters and analog tiles. Only src/nn/ includes this
/// header (it includes torch).

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <vector>

#include "nn/analog.hpp"
#include "nn/nn_job.hpp"

namespace ecramsim::nn {

/// An (inputs + 1) x outputs analog weight matrix (bias row last) on tiles of at most
/// c.tile_rows x c.tile_cols cells of the engine c.engine, written through c.write_model. Every
/// tile splits its random streams off `rng` (DifferentialLayer). The cells keep the states the
/// backend starts them in: the caller sets them (DifferentialLayer::setStates).
[[nodiscard]] std::shared_ptr<AnalogWeights> makeAnalogWeights(const AnalogConfig& c,
                                                               Eigen::Index inputs,
                                                               Eigen::Index outputs, Rng& rng);

/// Wall time of the parts of the SGD steps (s), summed over the steps; not results.
struct StepTimes {
  double forward_s = 0.0;   ///< forward pass and loss (reads through the tiles)
  double backward_s = 0.0;  ///< autograd: transposed reads of the tiles, dW
  double update_s = 0.0;    ///< libtorch's SGD step and the pulses of every analog matrix
};

/// What one step computed: the network's outputs for the batch and its mean cross-entropy.
struct Step {
  torch::Tensor out;
  torch::Tensor loss;
};

/// One plain-SGD step on the batch (x, y) with the mean cross-entropy: libtorch's SGD moves the
/// digital parameters (every weight when `analog` is empty), and each analog matrix gets
/// dW = -lr x (its accumulated gradient) as open-loop pulses (DifferentialLayer::update with
/// `response`, c.pulses and c.threads), in the order of `analog`. The pulse counts are added to
/// `updates` (and to perMatrix[k] for analog[k] when given), the wall times to `times` when
/// given.
Step sgdStep(torch::nn::Sequential& net, torch::optim::SGD& sgd,
             const std::vector<std::shared_ptr<AnalogWeights>>& analog, const AnalogConfig& c,
             const std::optional<train::PulseResponse>& response, double lr,
             const torch::Tensor& x, const torch::Tensor& y, train::UpdateStats& updates,
             StepTimes* times = nullptr, std::vector<train::UpdateStats>* perMatrix = nullptr);

}  // namespace ecramsim::nn

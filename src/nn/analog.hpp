#pragma once
/// Analog layers of the network engine: the weights of a fully connected or convolutional
/// layer live as differential pairs of ECRAM cells on tiles of simulated arrays
/// (train::DifferentialLayer: the mapping, the tiles, the open-loop controller of
/// control/train.hpp), and libtorch's autograd sees them as one operation.
///  - forward: the inputs (bias input 1 appended) through the tiles as read voltages, the
///    periphery's differential column currents scaled to weighted sums (the nodal engine's read
///    with the tiles' line resistance: DifferentialLayer::forward, or with a read refresh the
///    tiles' effective weights applied by libtorch's addmm / conv2d in the network's
///    precision); optionally the inputs
///    through a DAC and the outputs through read noise and an ADC (Periphery);
///  - backward: the error through the transposed read of the same tiles (the transpose of their
///    effective weights, DifferentialLayer::effectiveWeights: the line network is reciprocal),
///    and dW = inputs^T x error accumulated for the update;
///  - update (AnalogUpdater::step after backward): dW x -lr becomes pulses exactly as the
///    mushroom training does (DifferentialLayer::update: nominal pulse response, stochastic
///    rounding, cap, dead band, row-parallel under the bias scheme).
/// A convolution is one (C_in k k + 1) x C_out weight matrix applied to every patch (unfold).
/// Only src/nn/ includes this header (it includes torch).

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "control/train.hpp"
#include "nn/nn_job.hpp"

namespace ecramsim::nn {

/// One analog weight matrix and the dW its backward passes accumulate.
struct AnalogWeights {
  std::unique_ptr<train::DifferentialLayer> layer;  ///< (inputs + 1) x outputs
  Eigen::MatrixXd dw;                               ///< (inputs + 1) x outputs, sum over batch
  long long reads = 0;                              ///< input vectors applied
  Periphery periphery;
  std::unique_ptr<Rng> noise;  ///< the read noise's stream (periphery.read_noise > 0)
  /// A one-element tensor that requires a gradient, given to autograd with every product so
  /// that the backward pass reaches the layer even when nothing before it is trainable (the
  /// first layer of an MLP). It is no parameter: its gradient is never formed.
  torch::Tensor anchor = torch::zeros({1}, torch::requires_grad());
  /// With a read refresh: this batch's effective weights, the leaf whose gradient is dW.
  torch::Tensor leaf;
};

/// Adds the gradient of w.leaf (if any) to w.dw and releases the leaf: call after backward,
/// before the update. (With read refresh 0 the backward pass adds to dw itself.)
void collectGradient(AnalogWeights& w);

/// y = x W through the tiles: x is N x inputs (float or double), y N x outputs of x's type.
/// Read refresh 0: every vector through the tiles (DifferentialLayer::forward) in an autograd
/// Function whose backward adds dW to w.dw; otherwise x times the effective weights as a leaf
/// (collectGradient). The periphery's DAC, noise and ADC either way.
torch::Tensor analogMatmul(const torch::Tensor& x, const std::shared_ptr<AnalogWeights>& w);

class AnalogLinearImpl : public torch::nn::Module {
 public:
  explicit AnalogLinearImpl(std::shared_ptr<AnalogWeights> w) : w_(std::move(w)) {}
  torch::Tensor forward(const torch::Tensor& x) { return analogMatmul(x.flatten(1), w_); }
  [[nodiscard]] const std::shared_ptr<AnalogWeights>& weights() const { return w_; }

 private:
  std::shared_ptr<AnalogWeights> w_;
};
TORCH_MODULE(AnalogLinear);

/// A k x k convolution, stride 1, zero padding `padding`, on analog weights of
/// (in_channels k k + 1) x out_channels.
class AnalogConv2dImpl : public torch::nn::Module {
 public:
  AnalogConv2dImpl(std::shared_ptr<AnalogWeights> w, int kernel, int padding)
      : w_(std::move(w)), kernel_(kernel), padding_(padding) {}
  torch::Tensor forward(const torch::Tensor& x);
  [[nodiscard]] const std::shared_ptr<AnalogWeights>& weights() const { return w_; }

 private:
  std::shared_ptr<AnalogWeights> w_;
  int kernel_, padding_;
};
TORCH_MODULE(AnalogConv2d);

}  // namespace ecramsim::nn

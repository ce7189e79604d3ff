#include "nn/analog.hpp"

#include <cmath>
#include <cstdint>

namespace ecramsim::nn {
namespace {

using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// A 2-D tensor as a double matrix with a trailing column of ones (the bias input).
Eigen::MatrixXd withBias(const torch::Tensor& x) {
  const auto d = x.detach().to(torch::kFloat64).contiguous();
  Eigen::MatrixXd a(d.size(0), d.size(1) + 1);
  a.leftCols(d.size(1)) = Eigen::Map<const RowMajor>(d.data_ptr<double>(), d.size(0), d.size(1));
  a.col(d.size(1)).setOnes();
  return a;
}

Eigen::MatrixXd toEigen(const torch::Tensor& t) {
  const auto d = t.detach().to(torch::kFloat64).contiguous();
  return Eigen::Map<const RowMajor>(d.data_ptr<double>(), d.size(0), d.size(1));
}

torch::Tensor toTorch(const Eigen::MatrixXd& m, torch::ScalarType type) {
  RowMajor r = m;
  return torch::from_blob(r.data(), {r.rows(), r.cols()}, torch::kFloat64).clone().to(type);
}

/// t rounded to 2^(bits-1) - 1 levels per sign over its largest |value|.
torch::Tensor quantize(const torch::Tensor& t, int bits) {
  const double range = t.abs().max().item<double>();
  if (range <= 0.0) return t;
  const double levels = std::ldexp(1.0, bits - 1) - 1.0;
  return torch::round(t * (levels / range)) * (range / levels);
}

/// The input DAC (Periphery::dac_bits); the gradient passes straight through.
torch::Tensor dac(const torch::Tensor& x, const AnalogWeights& w) {
  if (w.periphery.dac_bits <= 0) return x;
  return x + (quantize(x.detach(), w.periphery.dac_bits) - x).detach();
}

/// Read noise and the output ADC (Periphery); the gradient passes straight through.
torch::Tensor adc(const torch::Tensor& y, AnalogWeights& w) {
  torch::Tensor out = y.detach();
  if (w.periphery.read_noise > 0.0) {
    const double sigma = w.periphery.read_noise * out.abs().max().item<double>();
    auto noise = torch::empty(out.sizes(), torch::kFloat64);
    double* p = noise.data_ptr<double>();
    for (std::int64_t k = 0; k < noise.numel(); ++k) p[k] = sigma * w.noise->normal();
    out = out + noise.to(out.scalar_type());
  }
  if (w.periphery.adc_bits > 0) out = quantize(out, w.periphery.adc_bits);
  if (w.periphery.read_noise <= 0.0 && w.periphery.adc_bits <= 0) return y;
  return y + (out - y.detach());
}

/// The tiles' effective weights ((inputs + 1) x outputs, bias row last) in `type`, as this
/// batch's leaf: their gradient is dW (collectGradient), and the backward pass multiplies the
/// error by their transpose (the transposed read of the same tiles).
torch::Tensor weightLeaf(AnalogWeights& w, torch::ScalarType type) {
  torch::Tensor weights = toTorch(w.layer->effectiveWeights(), type);
  if (torch::GradMode::is_enabled()) {
    weights.requires_grad_(true);
    w.leaf = weights;
  }
  return weights;
}

/// The tiles as one autograd operation, every input vector read through them (read refresh
/// 0; see analog.hpp). The weights object is passed as a raw pointer: the module that owns it
/// outlives every graph built through it.
struct AnalogFunction : public torch::autograd::Function<AnalogFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& /*anchor*/, AnalogWeights* w) {
    ctx->saved_data["weights"] = reinterpret_cast<std::int64_t>(w);
    ctx->save_for_backward({x});
    w->reads += x.size(0);
    return toTorch(w->layer->forward(withBias(x)), x.scalar_type());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* w = reinterpret_cast<AnalogWeights*>(ctx->saved_data["weights"].toInt());
    // In the network's precision (float32 for VGG-8, float64 in the tests).
    const auto x = ctx->get_saved_variables()[0];
    const auto g = grads[0].to(x.scalar_type()).contiguous();
    // dW: inputs^T x error, the bias row the error summed over the batch.
    const torch::Tensor dw = torch::cat({x.t().mm(g), g.sum(0, true)}, 0);
    w->dw += toEigen(dw);
    if (!ctx->needs_input_grad(0)) return {torch::Tensor(), torch::Tensor(), torch::Tensor()};
    // The error goes back through the transposed read of the same tiles; the bias row has no
    // input to return to.
    const torch::Tensor weights = toTorch(w->layer->effectiveWeights(), x.scalar_type());
    const torch::Tensor gx = g.mm(weights.slice(0, 0, weights.size(0) - 1).t());
    return {gx.to(grads[0].scalar_type()), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor analogMatmul(const torch::Tensor& x, const std::shared_ptr<AnalogWeights>& w) {
  const torch::Tensor in = dac(x, *w);
  if (w->layer->readRefresh() == 0) return adc(AnalogFunction::apply(in, w->anchor, w.get()), *w);
  w->reads += x.size(0);
  const torch::Tensor weights = weightLeaf(*w, x.scalar_type());
  const auto n = weights.size(0) - 1;
  return adc(torch::addmm(weights[n], in, weights.slice(0, 0, n)), *w);
}

void collectGradient(AnalogWeights& w) {
  if (w.leaf.defined() && w.leaf.grad().defined()) w.dw += toEigen(w.leaf.grad());
  w.leaf = torch::Tensor();
}

torch::Tensor AnalogConv2dImpl::forward(const torch::Tensor& x) {
  if (w_->layer->readRefresh() > 0) {
    // The effective weights as a convolution kernel (out, C, k, k): unfold orders a patch
    // channel-major, as the kernel's layout does, so this is the patches' product.
    const torch::Tensor in = dac(x, *w_);
    const torch::Tensor weights = weightLeaf(*w_, x.scalar_type());
    const auto n = weights.size(0) - 1;
    const auto kernel = weights.slice(0, 0, n).t().reshape(
        {weights.size(1), x.size(1), kernel_, kernel_});
    const torch::Tensor y = torch::conv2d(in, kernel, weights[n], 1, padding_);
    w_->reads += y.size(0) * y.size(2) * y.size(3);
    return adc(y, *w_);
  }
  const auto batch = x.size(0);
  const auto h = x.size(2) + 2 * padding_ - kernel_ + 1;
  const auto wd = x.size(3) + 2 * padding_ - kernel_ + 1;
  // B x (C k k) x L patches, one row per output position.
  const auto cols = torch::nn::functional::unfold(
      x, torch::nn::functional::UnfoldFuncOptions({kernel_, kernel_}).padding(padding_));
  const auto patches = cols.transpose(1, 2).reshape({-1, cols.size(1)});
  const auto y = analogMatmul(patches, w_);  // (B L) x out
  const auto out = y.size(1);
  return y.reshape({batch, h * wd, out}).transpose(1, 2).reshape({batch, out, h, wd});
}

}  // namespace ecramsim::nn

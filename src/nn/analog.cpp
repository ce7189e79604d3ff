#include "nn/analog.hpp"

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

/// The tiles as one autograd operation (see analog.hpp). The weights object is passed as a
/// raw pointer: the module that owns it outlives every graph built through it.
struct AnalogFunction : public torch::autograd::Function<AnalogFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& /*anchor*/, AnalogWeights* w) {
    ctx->saved_data["weights"] = reinterpret_cast<std::int64_t>(w);
    ctx->save_for_backward({x});
    const Eigen::MatrixXd a = withBias(x);
    w->reads += a.rows();
    return toTorch(w->layer->forward(a), x.scalar_type());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* w = reinterpret_cast<AnalogWeights*>(ctx->saved_data["weights"].toInt());
    const auto x = ctx->get_saved_variables()[0];
    const Eigen::MatrixXd g = toEigen(grads[0]);
    w->dw.noalias() += withBias(x).transpose() * g;
    if (!ctx->needs_input_grad(0)) return {torch::Tensor(), torch::Tensor(), torch::Tensor()};
    // The error goes back through the weights as the arrays report them (the read a transposed
    // VMM of the same cells uses); the bias row has no input to return to.
    const Eigen::MatrixXd weights = w->layer->readWeights();
    const Eigen::MatrixXd gx = g * weights.topRows(weights.rows() - 1).transpose();
    return {toTorch(gx, x.scalar_type()), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor analogMatmul(const torch::Tensor& x, const std::shared_ptr<AnalogWeights>& w) {
  return AnalogFunction::apply(x, w->anchor, w.get());
}

torch::Tensor AnalogConv2dImpl::forward(const torch::Tensor& x) {
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

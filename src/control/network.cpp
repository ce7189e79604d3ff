#include "control/network.hpp"

#include <cassert>
#include <cmath>

#include "core/error.hpp"

namespace ecramsim::train {

Activation parseActivation(const std::string& name) {
  if (name == "tanh") return Activation::Tanh;
  if (name == "relu") return Activation::Relu;
  throw InputError({}, "--activation",
                   "unknown activation '" + echoToken(name) + "' (tanh or relu)");
}

std::string activationName(Activation a) { return a == Activation::Tanh ? "tanh" : "relu"; }

Eigen::MatrixXd activate(const Eigen::MatrixXd& z, Activation a) {
  if (a == Activation::Tanh) return z.array().tanh().matrix();
  return z.array().max(0.0).matrix();
}

Eigen::MatrixXd activationSlope(const Eigen::MatrixXd& z, Activation a) {
  if (a == Activation::Tanh) return (1.0 - z.array().tanh().square()).matrix();
  return (z.array() > 0.0).cast<double>().matrix();
}

Eigen::MatrixXd withBias(const Eigen::MatrixXd& a) {
  Eigen::MatrixXd out(a.rows(), a.cols() + 1);
  out.leftCols(a.cols()) = a;
  out.col(a.cols()).setOnes();
  return out;
}

Eigen::MatrixXd softmax(const Eigen::MatrixXd& logits) {
  Eigen::MatrixXd p = logits.colwise() - logits.rowwise().maxCoeff();
  p = p.array().exp().matrix();
  const Eigen::VectorXd sum = p.rowwise().sum();
  return p.array().colwise() / sum.array();
}

double crossEntropy(const Eigen::MatrixXd& logits, std::span<const int> labels) {
  assert(static_cast<std::size_t>(logits.rows()) == labels.size());
  double loss = 0.0;
  for (Eigen::Index i = 0; i < logits.rows(); ++i) {
    const double m = logits.row(i).maxCoeff();
    const double lse = m + std::log((logits.row(i).array() - m).exp().sum());
    loss += lse - logits(i, labels[std::size_t(i)]);
  }
  return logits.rows() > 0 ? loss / double(logits.rows()) : 0.0;
}

long long correctCount(const Eigen::MatrixXd& logits, std::span<const int> labels) {
  long long n = 0;
  for (Eigen::Index i = 0; i < logits.rows(); ++i) {
    Eigen::Index best = 0;
    logits.row(i).maxCoeff(&best);
    if (best == labels[std::size_t(i)]) ++n;
  }
  return n;
}

Gradients backprop(const Eigen::MatrixXd& x, const Eigen::MatrixXd& z1,
                   const Eigen::MatrixXd& logits, std::span<const int> labels,
                   const Eigen::MatrixXd& w2, Activation act) {
  const Eigen::Index batch = x.rows(), hidden = z1.cols();
  assert(w2.rows() == hidden + 1 && w2.cols() == logits.cols());
  // d(mean CE)/d(logits) = (softmax - one-hot) / B.
  Eigen::MatrixXd d2 = softmax(logits);
  for (Eigen::Index i = 0; i < batch; ++i) d2(i, labels[std::size_t(i)]) -= 1.0;
  d2 /= double(batch);
  Gradients g;
  g.w2 = withBias(activate(z1, act)).transpose() * d2;
  const Eigen::MatrixXd d1 =
      ((d2 * w2.topRows(hidden).transpose()).array() * activationSlope(z1, act).array()).matrix();
  g.w1 = withBias(x).transpose() * d1;
  return g;
}

SoftwareForward forwardSoftware(const Eigen::MatrixXd& x, const Eigen::MatrixXd& w1,
                                const Eigen::MatrixXd& w2, Activation act) {
  SoftwareForward f;
  f.z1 = withBias(x) * w1;
  f.logits = withBias(activate(f.z1, act)) * w2;
  return f;
}

}  // namespace ecramsim::train

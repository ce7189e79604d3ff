/// The periphery's arithmetic: gradients against finite differences.

#include <doctest/doctest.h>

#include "control/network.hpp"
#include "core/rng.hpp"

using namespace ecramsim;
using namespace ecramsim::train;

TEST_CASE("backprop matches central finite differences of the mean cross-entropy") {
  Rng rng(3);
  const Eigen::Index batch = 5, nIn = 7, hidden = 4, nOut = 3;
  auto rand = [&](Eigen::Index r, Eigen::Index c) {
    Eigen::MatrixXd m(r, c);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = rng.normal();
    return m;
  };
  const Eigen::MatrixXd x = rand(batch, nIn);
  Eigen::MatrixXd w1 = 0.5 * rand(nIn + 1, hidden), w2 = 0.5 * rand(hidden + 1, nOut);
  const std::vector<int> y{0, 2, 1, 1, 0};
  for (Activation act : {Activation::Tanh, Activation::Relu}) {
    CAPTURE(activationName(act));
    const SoftwareForward f = forwardSoftware(x, w1, w2, act);
    const Gradients g = backprop(x, f.z1, f.logits, y, w2, act);
    auto loss = [&] { return crossEntropy(forwardSoftware(x, w1, w2, act).logits, y); };
    const double h = 1e-6;
    double worst = 0.0;
    for (auto* pair : {&w1, &w2}) {
      Eigen::MatrixXd& w = *pair;
      const Eigen::MatrixXd& gw = (pair == &w1) ? g.w1 : g.w2;
      for (Eigen::Index k = 0; k < w.size(); ++k) {
        const double keep = w.data()[k];
        w.data()[k] = keep + h;
        const double lp = loss();
        w.data()[k] = keep - h;
        const double lm = loss();
        w.data()[k] = keep;
        worst = std::max(worst, std::abs((lp - lm) / (2 * h) - gw.data()[k]));
      }
    }
    CHECK(worst < 1e-7);
  }
}

TEST_CASE("softmax rows sum to one and cross-entropy of a sure answer is near zero") {
  Eigen::MatrixXd logits(2, 2);
  logits << 50, 0, 0, 0;
  const Eigen::MatrixXd p = softmax(logits);
  CHECK(p.row(0).sum() == doctest::Approx(1.0));
  CHECK(p(1, 0) == doctest::Approx(0.5));
  const std::vector<int> y{0, 1};
  CHECK(crossEntropy(logits, y) == doctest::Approx((0.0 + std::log(2.0)) / 2).epsilon(1e-9));
  CHECK(correctCount(logits, y) == 1);  // a tie goes to the first index
}

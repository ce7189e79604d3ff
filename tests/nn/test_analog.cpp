// Analog layers (nn/analog.hpp): a product through the tiles is the tiles' nodal read, the
// backward pass goes through the transposed read of the same tiles, dW is the batch's outer
// product, and a small analog network trains end to end with pulses on its cells.
#include <doctest/doctest.h>

#include "app/array_engine.hpp"
#include "device/params.hpp"
#include "app/cards.hpp"
#include "core/rng.hpp"
#include "nn/analog.hpp"
#include "nn/nn_job.hpp"
#include "../support/geometry.hpp"
#include "../support/doctest_after_torch.hpp"

using namespace ecramsim;

namespace {

/// A 20-input, 6-output layer on 8 x 8 tiles (3 x 2 tiles) with the shipped lines, random states.
std::shared_ptr<nn::AnalogWeights> smallLayer(Rng& rng) {
  const auto card = app::resolveCard(app::defaultCardPath().string(), {});
  const EcramParams params = card.params;
  const train::BackendFactory make = [params](Eigen::Index rows, Eigen::Index cols, Rng& r) {
    CrossbarGeometry g = test::shippedLines(1);
    g.rows = rows;
    g.cols = cols;
    return app::makeBackend("nodal", params, g, r);
  };
  train::PairMapping map;
  map.gmin_s = params.gmin;
  map.gmax_s = params.gmax;
  map.w_scale = 2.0;
  auto w = std::make_shared<nn::AnalogWeights>();
  w->layer = std::make_unique<train::DifferentialLayer>(21, 6, 8, 8, make, rng, map);
  Eigen::MatrixXd x(21, 12);
  for (Eigen::Index j = 0; j < 12; ++j) {
    for (Eigen::Index i = 0; i < 21; ++i) x(i, j) = rng.uniform();
  }
  w->layer->setStates(x);
  w->dw = Eigen::MatrixXd::Zero(21, 6);
  return w;
}

}  // namespace

TEST_CASE("analog product: the tiles' nodal read, backward through their transposed read") {
  Rng rng(3);
  auto w = smallLayer(rng);
  CHECK(w->layer->tileCount() == 6);
  const auto x = torch::rand({5, 20}, torch::kFloat64).mul_(2.0).sub_(1.0).set_requires_grad(true);
  const auto y = nn::analogMatmul(x, w);
  REQUIRE(y.size(0) == 5);
  REQUIRE(y.size(1) == 6);
  // The nodal solve of every tile, driven directly with the same inputs (bias input 1).
  Eigen::MatrixXd a(5, 21);
  for (int i = 0; i < 5; ++i) {
    for (int k = 0; k < 20; ++k) a(i, k) = x[i][k].item<double>();
    a(i, 20) = 1.0;
  }
  const Eigen::MatrixXd direct = w->layer->forward(a);
  const Eigen::MatrixXd exact = a * w->layer->exactWeights();  // no line resistance
  const double fullScale = 2.0 * 21;                           // w_scale x rows
  double worst = 0.0, irDrop = 0.0;
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 6; ++j) {
      worst = std::max(worst, std::abs(y[i][j].item<double>() - direct(i, j)));
      irDrop = std::max(irDrop, std::abs(direct(i, j) - exact(i, j)));
    }
  }
  CHECK(worst <= 1e-9 * fullScale);
  CHECK(irDrop > 1e-6 * fullScale);  // the read sees the line resistance

  // Backward: dL/dx = g W_read^T with W_read the tiles' effective weights (their R unit inputs
  // read through them, line drops included: the transposed read of the reciprocal network);
  // dW = [x 1]^T g.
  const auto g = torch::rand({5, 6}, torch::kFloat64);
  y.backward(g);
  const Eigen::MatrixXd wRead = w->layer->effectiveWeights();
  CHECK((a * wRead - direct).cwiseAbs().maxCoeff() <= 1e-9 * fullScale);
  double gxErr = 0.0, dwErr = 0.0;
  for (int i = 0; i < 5; ++i) {
    for (int k = 0; k < 20; ++k) {
      double expected = 0.0;
      for (int j = 0; j < 6; ++j) expected += g[i][j].item<double>() * wRead(k, j);
      gxErr = std::max(gxErr, std::abs(x.grad()[i][k].item<double>() - expected));
    }
  }
  for (int k = 0; k < 21; ++k) {
    for (int j = 0; j < 6; ++j) {
      double expected = 0.0;
      for (int i = 0; i < 5; ++i) expected += a(i, k) * g[i][j].item<double>();
      dwErr = std::max(dwErr, std::abs(w->dw(k, j) - expected));
    }
  }
  CHECK(gxErr <= 1e-12);
  CHECK(dwErr <= 1e-12);
  CHECK(w->reads == 5);
}

TEST_CASE("analog convolution: every patch through the same tiles as one product") {
  Rng rng(4);
  auto w = smallLayer(rng);  // 20 inputs: 5 channels of a 2 x 2 kernel
  nn::AnalogConv2d conv(w, 2, 0);
  const auto img = torch::rand({2, 5, 3, 4}, torch::kFloat64);
  const auto y = conv->forward(img);
  REQUIRE(y.sizes() == torch::IntArrayRef({2, 6, 2, 3}));
  // Output (b, o, r, c) is the product of the patch at (r, c), channel-major like unfold.
  for (int b = 0; b < 2; ++b) {
    for (int r = 0; r < 2; ++r) {
      for (int c = 0; c < 3; ++c) {
        const auto patch = img[b].slice(1, r, r + 2).slice(2, c, c + 2).reshape({1, 20});
        const auto ref = nn::analogMatmul(patch, w);
        for (int o = 0; o < 6; ++o) {
          CHECK(y[b][o][r][c].item<double>() == doctest::Approx(ref[0][o].item<double>())
                                                    .epsilon(1e-12));
        }
      }
    }
  }
}

namespace {

/// One open-loop update of random dW on `w` (the default pulse policy).
void randomUpdate(nn::AnalogWeights& w, Rng& rng) {
  const auto card = app::resolveCard(app::defaultCardPath().string(), {});
  const train::PulsePolicy policy;
  const train::PulseResponse response(cellParams(card.params), policy.scheme,
                                      policy.amplitude_v, policy.width_s);
  Eigen::MatrixXd dw(21, 6);
  for (Eigen::Index k = 0; k < dw.size(); ++k) dw.data()[k] = 0.2 * (rng.uniform() - 0.5);
  (void)w.layer->update(dw, response, policy, 1);
}

double worstDifference(const torch::Tensor& a, const Eigen::MatrixXd& b) {
  double worst = 0.0;
  for (Eigen::Index i = 0; i < b.rows(); ++i) {
    for (Eigen::Index j = 0; j < b.cols(); ++j) {
      worst = std::max(worst, std::abs(a[i][j].item<double>() - b(i, j)));
    }
  }
  return worst;
}

Eigen::MatrixXd withOnes(const torch::Tensor& x) {
  Eigen::MatrixXd a(x.size(0), x.size(1) + 1);
  for (Eigen::Index i = 0; i < a.rows(); ++i) {
    for (Eigen::Index k = 0; k + 1 < a.cols(); ++k) a(i, k) = x[i][k].item<double>();
    a(i, a.cols() - 1) = 1.0;
  }
  return a;
}

}  // namespace

TEST_CASE("read refresh: exact at each read of the tiles, the line-drop correction held in between") {
  Rng rng(5), draw(6);
  auto w = smallLayer(rng);
  const double fullScale = 2.0 * 21;
  const auto x = torch::rand({7, 20}, torch::kFloat64).mul_(2.0).sub_(1.0);
  const Eigen::MatrixXd a = withOnes(x);
  w->layer->useReadRefresh(3);
  // Right after a read (the first product reads): every vector as if driven through the tiles.
  auto direct = [&] {
    w->layer->useReadRefresh(0);
    const Eigen::MatrixXd y = w->layer->forward(a);
    return y;
  };
  CHECK(worstDifference(nn::analogMatmul(x, w), direct()) <= 1e-9 * fullScale);
  w->layer->useReadRefresh(3);
  (void)nn::analogMatmul(x, w);  // the read at update 0
  const Eigen::MatrixXd correction = w->layer->effectiveWeights() - w->layer->exactWeights();
  CHECK(correction.cwiseAbs().maxCoeff() > 1e-6 * fullScale);  // the lines matter
  // Two updates later: the present conductances' exact weights plus the held correction, which
  // is no longer exactly the tiles' read (their conductances moved).
  randomUpdate(*w, draw);
  randomUpdate(*w, draw);
  const Eigen::MatrixXd held = w->layer->exactWeights() + correction;
  const auto y = nn::analogMatmul(x, w);
  CHECK(worstDifference(y, a * held) <= 1e-12 * fullScale);
  // The third update is due a read: exact again.
  randomUpdate(*w, draw);
  const auto y3 = nn::analogMatmul(x, w);
  const Eigen::MatrixXd after = a * (w->layer->exactWeights() + correction);
  CHECK(worstDifference(y3, after) > 1e-12 * fullScale);  // the correction was taken again
  CHECK(worstDifference(y3, direct()) <= 1e-9 * fullScale);
}

TEST_CASE("read periphery: DAC and ADC levels, read noise of the stated sigma") {
  Rng rng(7);
  auto w = smallLayer(rng);
  w->layer->useReadRefresh(1);
  const auto x = torch::rand({400, 20}, torch::kFloat64).mul_(2.0).sub_(1.0);
  const auto clean = nn::analogMatmul(x, w);
  // A 3-bit ADC: at most 2 (2^2 - 1) + 1 = 7 distinct outputs, within half a step of the clean.
  w->periphery.adc_bits = 3;
  const auto adc = nn::analogMatmul(x, w);
  const double range = clean.abs().max().item<double>();
  CHECK(std::get<0>(at::_unique(adc.flatten())).numel() <= 7);
  CHECK((adc - clean).abs().max().item<double>() <= 0.5 * range / 3.0 + 1e-12);
  // A 2-bit DAC: inputs of -r, 0 or r only; the product equals that of the rounded inputs.
  w->periphery.adc_bits = 0;
  w->periphery.dac_bits = 2;
  const auto dac = nn::analogMatmul(x, w);
  const double r = x.abs().max().item<double>();
  const auto rounded = torch::round(x / r) * r;
  w->periphery.dac_bits = 0;
  CHECK((dac - nn::analogMatmul(rounded, w)).abs().max().item<double>() <= 1e-12);
  // Read noise: zero-mean Gaussian, sigma = 0.02 of the largest |output|.
  w->periphery.read_noise = 0.02;
  w->noise = std::make_unique<Rng>(11);
  const auto noisy = nn::analogMatmul(x, w);
  const auto diff = noisy - clean;
  const double sigma = 0.02 * range;
  CHECK(diff.std().item<double>() == doctest::Approx(sigma).epsilon(0.1));
  CHECK(std::abs(diff.mean().item<double>()) < 0.1 * sigma);
}

TEST_CASE("with a read refresh a convolution runs libtorch's kernels on the effective weights: the same outputs, dW and input gradient") {
  Rng rng(8);
  auto w = smallLayer(rng);  // 20 inputs: 5 channels of a 2 x 2 kernel, 6 outputs
  nn::AnalogConv2d conv(w, 2, 1);
  const auto img = torch::rand({3, 5, 4, 5}, torch::kFloat64).set_requires_grad(true);
  // Read refresh 0: every patch through the tiles, dW added by the autograd Function.
  const auto y0 = conv->forward(img);
  const auto g = torch::rand(y0.sizes(), torch::kFloat64);
  y0.backward(g);
  const Eigen::MatrixXd dw0 = w->dw;
  const auto gx0 = img.grad().clone();
  // Read refresh 1: conv2d on the kernel made of the effective weights, dW from its leaf.
  w->dw.setZero();
  img.grad().zero_();
  w->layer->useReadRefresh(1);
  const auto y1 = conv->forward(img);
  y1.backward(g);
  nn::collectGradient(*w);
  const double fullScale = 2.0 * 21;
  CHECK((y1 - y0).abs().max().item<double>() <= 1e-9 * fullScale);
  CHECK((w->dw - dw0).cwiseAbs().maxCoeff() <= 1e-9 * dw0.cwiseAbs().maxCoeff());
  CHECK((img.grad() - gx0).abs().max().item<double>() <=
        1e-9 * gx0.abs().max().item<double>());
  CHECK(dw0.cwiseAbs().maxCoeff() > 0.0);
}

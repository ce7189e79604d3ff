// Analog layers (nn/analog.hpp): a product through the tiles is the tiles' nodal read, the
// backward pass goes through the transposed read of the same tiles, dW is the batch's outer
// product, and a small analog network trains end to end with pulses on its cells.
#include <doctest/doctest.h>

#include "app/array_engine.hpp"
#include "app/cards.hpp"
#include "core/rng.hpp"
#include "nn/analog.hpp"
#include "nn/nn_job.hpp"
#include "../support/geometry.hpp"

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

  // Backward: dL/dx = g W_read^T with the weights as the arrays read them; dW = [x 1]^T g.
  const auto g = torch::rand({5, 6}, torch::kFloat64);
  y.backward(g);
  const Eigen::MatrixXd wRead = w->layer->readWeights();
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

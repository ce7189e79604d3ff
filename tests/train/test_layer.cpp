/// The weight <-> conductance mapping of differential pairs, tiling, and the open-loop update
/// (stochastic rounding, cap, dead band), on the ideal card with ideal wires where the answer
/// is exact.

#include <doctest/doctest.h>

#include "array/nodal_backend.hpp"
#include "control/train.hpp"
#include "modelcard/modelcard.hpp"

using namespace ecramsim;
using namespace ecramsim::train;
using Index = Eigen::Index;

namespace {

EcramParams idealCard() {
  return loadModelCard(std::string(ECRAMSIM_SOURCE_DIR) + "/models/ideal.model").params;
}

BackendFactory factory(const EcramParams& p, double rSeg) {
  return [p, rSeg](Index rows, Index cols, Rng& rng) {
    CrossbarGeometry g;
    g.rows = rows;
    g.cols = cols;
    g.r_gate_seg = g.r_row_seg = g.r_col_seg = rSeg;
    return std::unique_ptr<ArrayBackend>(std::make_unique<NodalBackend>(p, g, rng));
  };
}

Eigen::MatrixXd randomStates(Index rows, Index cols, Rng& rng) {
  Eigen::MatrixXd x(rows, cols);
  for (Index k = 0; k < x.size(); ++k) x.data()[k] = 0.1 + 0.8 * rng.uniform();
  return x;
}

}  // namespace

TEST_CASE("mapping: w = w_scale (G+ - G-) / (gmax - gmin), forward equals the software product") {
  const EcramParams p = idealCard();
  PairMapping map{p.gmin, p.gmax, 2.0, 0.2};
  CHECK(map.weight(p.gmax, p.gmin) == doctest::Approx(2.0));
  CHECK(map.weight(3e-6, 3e-6) == 0.0);
  Rng rng(5);
  // 11 rows x 5 outputs in tiles of 4 x 4 cells (2 pairs): 3 x 3 tiles, ragged at both edges.
  DifferentialLayer layer(11, 5, 4, 5, factory(p, 0.0), rng, map);  // 5 columns round down to 4
  CHECK(layer.tileCount() == 9);
  const Eigen::MatrixXd x = randomStates(11, 10, rng);
  layer.setStates(x);
  const Eigen::MatrixXd w = layer.exactWeights();
  for (Index r = 0; r < 11; ++r) {
    for (Index j = 0; j < 5; ++j) {
      CHECK(w(r, j) == doctest::Approx(2.0 * (x(r, 2 * j) - x(r, 2 * j + 1))).epsilon(1e-12));
    }
  }
  Eigen::MatrixXd a(3, 11);
  for (Index k = 0; k < a.size(); ++k) a.data()[k] = 2.0 * rng.uniform() - 1.0;
  const Eigen::MatrixXd y = layer.forward(a);
  CHECK((y - a * w).cwiseAbs().maxCoeff() < 1e-9);
  CHECK((layer.effectiveWeights() - w).cwiseAbs().maxCoeff() < 1e-9);
  CHECK((layer.belief() - x).cwiseAbs().maxCoeff() == 0.0);
}

TEST_CASE("mapping with line resistance: the forward pass loses a little, not the sign") {
  const EcramParams p = idealCard();
  PairMapping map{p.gmin, p.gmax, 1.0, 0.1};
  Rng rng(6);
  DifferentialLayer layer(64, 4, 64, 8, factory(p, 2.0), rng, map);  // the shipped 2 Ohm lines
  layer.setStates(randomStates(64, 8, rng));
  const Eigen::MatrixXd a = Eigen::MatrixXd::Ones(1, 64);
  const Eigen::MatrixXd ideal = a * layer.exactWeights();
  const Eigen::MatrixXd y = layer.forward(a);
  const double rel = (y - ideal).cwiseAbs().maxCoeff() / ideal.cwiseAbs().maxCoeff();
  CHECK(rel > 1e-6);  // the wires matter ...
  CHECK(rel < 0.05);  // ... but do not swamp the product
}

TEST_CASE("open-loop update: stochastic rounding is unbiased, the cap and the dead band hold") {
  const EcramParams p = idealCard();
  const CellParams nominal = cellParams(p);
  PairMapping map{p.gmin, p.gmax, 1.0, 0.1};
  PulsePolicy policy;
  const PulseResponse response(nominal, policy.scheme, policy.amplitude_v, policy.width_s);
  const double step = response.step(0.5, true);
  CHECK(step > 0.0);
  CHECK(response.step(0.5, false) == doctest::Approx(-step).epsilon(1e-9));  // linear card
  CHECK(response.step(0.2, true) == doctest::Approx(step).epsilon(1e-9));

  Rng rng(7);
  const Index rows = 16, outs = 8;
  DifferentialLayer layer(rows, outs, 16, 16, factory(p, 0.0), rng, map);
  layer.setStates(Eigen::MatrixXd::Constant(rows, 2 * outs, 0.5));

  SUBCASE("half a pulse per cell: about half the cells get one") {
    // dw = 2 w_scale dx: each cell of a pair asks for 0.5 pulse.
    const Eigen::MatrixXd dw = Eigen::MatrixXd::Constant(rows, outs, 2.0 * 0.5 * step);
    const UpdateStats s = layer.update(dw, response, policy, 2);
    const double cells = double(rows * 2 * outs);  // 256
    CHECK(s.pulses > 0.5 * cells - 4 * 8);         // binomial(256, 0.5): sigma = 8
    CHECK(s.pulses < 0.5 * cells + 4 * 8);
    CHECK(s.capped == 0);
    // The ideal card moves exactly by the nominal step: the weights follow the pulse counts.
    const Eigen::MatrixXd n = layer.pulsesPerCell();
    const Eigen::MatrixXd x = layer.states();
    for (Index r = 0; r < rows; ++r) {
      for (Index c = 0; c < 2 * outs; ++c) {
        const double expect = 0.5 + (c % 2 == 0 ? 1.0 : -1.0) * n(r, c) * step;
        CHECK(x(r, c) == doctest::Approx(expect).epsilon(1e-4));  // half-select disturb aside
      }
    }
    CHECK((layer.belief() - x).cwiseAbs().maxCoeff() < 1e-4);
  }
  SUBCASE("ten pulses asked, two allowed") {
    policy.max_pulses = 2;
    const Eigen::MatrixXd dw = Eigen::MatrixXd::Constant(rows, outs, -2.0 * 10.0 * step);
    const UpdateStats s = layer.update(dw, response, policy, 1);
    CHECK(s.pulses == rows * 2 * outs * 2);
    CHECK(s.capped == rows * 2 * outs);
    CHECK(s.phases == rows * 2 * 2);  // per row: 2 polarities x 2 pulses
    CHECK(layer.exactWeights().maxCoeff() == doctest::Approx(-4.0 * step).epsilon(1e-3));
  }
  SUBCASE("below the dead band nothing moves") {
    policy.dead_band = 0.1;
    const Eigen::MatrixXd dw = Eigen::MatrixXd::Constant(rows, outs, 2.0 * 0.05 * step);
    const UpdateStats s = layer.update(dw, response, policy, 2);
    CHECK(s.pulses == 0);
    CHECK(s.phases == 0);
    CHECK(s.skipped == rows * 2 * outs);
    CHECK(layer.states().isApprox(Eigen::MatrixXd::Constant(rows, 2 * outs, 0.5)));
  }
}

TEST_CASE("the same seed gives the same tiles and the same updates, whatever the thread count") {
  const EcramParams p =
      loadModelCard(std::string(ECRAMSIM_SOURCE_DIR) + "/models/wox_ysz.model").params;
  PairMapping map{p.gmin, p.gmax, 1.0, 0.1};
  PulsePolicy policy;
  const PulseResponse response(cellParams(p), policy.scheme, policy.amplitude_v, policy.width_s);
  Eigen::MatrixXd result[2];
  for (int threads : {1, 2}) {
    Rng rng(11);
    DifferentialLayer layer(12, 3, 5, 4, factory(p, 2.0), rng, map);
    layer.setStates(Eigen::MatrixXd::Constant(12, 6, 0.5));
    Eigen::MatrixXd dw(12, 3);
    for (Index k = 0; k < dw.size(); ++k) dw.data()[k] = 0.03 * std::sin(double(k));
    (void)layer.update(dw, response, policy, threads);
    result[threads - 1] = layer.states();
  }
  CHECK(result[0] == result[1]);
}

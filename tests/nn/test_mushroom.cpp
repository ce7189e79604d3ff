/// `train mushroom` on the network engine (nn/mushroom.hpp), end to end on one seed and a short
/// budget (issue 6 acceptance A and B in small, issue 14 E; the five-seed figures are
/// tools/bench/train.sh): the default card with variation and line resistance learns the
/// mushroom table, the software baseline does, and the run's file holds what the schema promises;
/// the network's periphery (libtorch autograd) takes the analytic gradient step.

#include <doctest/doctest.h>
#include <unistd.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <string>

#include "app/cards.hpp"
#include "app/train_job.hpp"
#include "nn/mushroom.hpp"
#include "../support/mushroom.hpp"

using namespace ecramsim;

namespace {

/// The default job on `card` (a file in models/), seed 1.
app::TrainJob cardJob(const std::string& card) {
  app::TrainJob job = app::defaultTrainJob();
  job.card = app::resolveCard(std::string(ECRAMSIM_SOURCE_DIR) + "/models/" + card, {});
  job.seed = 1;
  return job;
}

/// The default run (two epochs, 128 x 128 tiles, reduced write model) with the software
/// baseline beside it.
app::TrainJob defaultJob(const std::string& card) {
  app::TrainJob job = cardJob(card);
  job.ideal = true;
  return job;
}

/// Acceptance B's job: the linear-device update rule most in-situ training uses (one nominal step
/// everywhere) and a weight range (w_scale 0.5) that drives cells towards their bounds.
app::TrainJob linearRuleJob(const std::string& card) {
  app::TrainJob job = cardJob(card);
  job.config.map.w_scale = 0.5;
  job.config.pulses.state_aware = false;
  // An array pulse under V/2 moves a cell about a fifth of what the two-point gate predicted
  // (device gate-iv: array_step_v2 against array_step_v2_two_point), so the cap allows five
  // times the default's pulses per step, keeping the rule's reach per step.
  job.config.pulses.max_pulses = 10;
  return job;
}

}  // namespace

namespace {

/// x with a trailing column of ones (the bias input).
Eigen::MatrixXd biased(const Eigen::MatrixXd& x) {
  Eigen::MatrixXd a(x.rows(), x.cols() + 1);
  a << x, Eigen::VectorXd::Ones(x.rows());
  return a;
}

}  // namespace

TEST_CASE("mushroom network --ideal: one SGD step is the analytic step of the mean cross-entropy") {
  // Six samples of four inputs, one batch: the step is W - lr dL/dW with L the batch's mean
  // cross-entropy, whatever the data order. The initial weights follow nn/mushroom.hpp's
  // streams: the first split of the Rng draws layer 1's then layer 2's states row by row.
  train::Samples tr;
  tr.x.resize(6, 4);
  tr.x << 1, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0;
  tr.y = {0, 1, 0, 1, 1, 0};
  for (const auto act : {train::Activation::Tanh, train::Activation::Relu}) {
    CAPTURE(train::activationName(act));
    app::TrainJob job = app::defaultTrainJob();
    job.config.hidden = 3;
    job.config.classes = 2;
    job.config.epochs = 1;
    job.config.batch = 6;
    job.config.learning_rate = 0.7;
    job.config.init_spread = 0.3;  // weights up to +-1.2: a step well away from the linear regime
    job.config.activation = act;
    NullProgress quiet;
    Rng rng(7);
    const train::TrainResult r = nn::trainMushroomNetwork(tr, tr, job, true, rng, quiet);

    Rng again(7);
    Rng init = again.split();
    auto weights = [&](Eigen::Index rows, Eigen::Index outputs) {
      Eigen::MatrixXd x(rows, 2 * outputs);
      for (Eigen::Index i = 0; i < rows; ++i) {
        for (Eigen::Index j = 0; j < 2 * outputs; ++j) {
          x(i, j) = 0.5 + 0.3 * (2.0 * init.uniform() - 1.0);
        }
      }
      Eigen::MatrixXd w(rows, outputs);
      for (Eigen::Index j = 0; j < outputs; ++j) w.col(j) = 2.0 * (x.col(2 * j) - x.col(2 * j + 1));
      return w;  // w_scale 2 (the default)
    };
    Eigen::MatrixXd w1 = weights(5, 3), w2 = weights(4, 2);
    const Eigen::MatrixXd z1 = biased(tr.x) * w1;
    const Eigen::MatrixXd h = act == train::Activation::Tanh
                                  ? Eigen::MatrixXd(z1.array().tanh())
                                  : Eigen::MatrixXd(z1.array().max(0.0));
    const Eigen::MatrixXd slope = act == train::Activation::Tanh
                                      ? Eigen::MatrixXd(1.0 - h.array().square())
                                      : Eigen::MatrixXd((z1.array() > 0.0).cast<double>());
    const Eigen::MatrixXd logits = biased(h) * w2;
    Eigen::MatrixXd d2(6, 2);
    double loss = 0.0;
    for (Eigen::Index i = 0; i < 6; ++i) {
      const Eigen::RowVectorXd e = (logits.row(i).array() - logits.row(i).maxCoeff()).exp();
      d2.row(i) = e / e.sum();
      loss -= std::log(d2(i, tr.y[std::size_t(i)])) / 6.0;
      d2(i, tr.y[std::size_t(i)]) -= 1.0;
    }
    d2 /= 6.0;
    const Eigen::MatrixXd g2 = biased(h).transpose() * d2;
    const Eigen::MatrixXd d1 = ((d2 * w2.topRows(3).transpose()).array() * slope.array()).matrix();
    const Eigen::MatrixXd g1 = biased(tr.x).transpose() * d1;
    w1 -= 0.7 * g1;
    w2 -= 0.7 * g2;

    REQUIRE(r.epochs.size() == 2);
    CHECK(r.epochs[0].loss == doctest::Approx(loss).epsilon(1e-12));
    REQUIRE(r.w_after.size() == 2);
    MESSAGE("step of layer 1 (max |lr g1|) " << (0.7 * g1).cwiseAbs().maxCoeff());
    CHECK((0.7 * g1).cwiseAbs().maxCoeff() > 1e-3);  // the step is not negligible
    CHECK((r.w_after[0] - w1).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((r.w_after[1] - w2).cwiseAbs().maxCoeff() < 1e-12);
  }
}

TEST_CASE("mushroom, the default run in situ on the default card: >= 99%, software baseline >= 99%") {
  NullProgress quiet;
  const ResultTree t = nn::runMushroomJob(defaultJob("wox_ysz.model"), quiet);
  const double acc = t.metricValue("test_accuracy");
  const double ideal = t.metricValue("ideal_test_accuracy");
  MESSAGE("in situ " << acc << ", software " << ideal << ", pulses "
                     << t.metricValue("pulses_total"));
  CHECK(acc >= 0.99);
  CHECK(ideal >= 0.99);
  // The curve starts untrained (chance level) and holds epochs 0, 1 and 2.
  const auto& curve = t.values("/training/test_accuracy");
  REQUIRE(curve.size() == 3);
  CHECK(curve[0] < 0.8);
  CHECK(t.metricValue("pulses_total") > 1000);
  CHECK(t.metricValue("energy_j") > 0.0);
  // Maps are rows x 2 outputs: layer 1 is (117 + 1) x 2H.
  const auto& g = t.datasets().at("/devices/layer1/g_after_s");
  CHECK(g.shape == std::vector<std::size_t>{118, 16});
  CHECK(std::get<std::string>(t.datasets().at("/training/loss").attrs.at("units")) == "1");
  // The controller's open-loop belief and the truth part ways, but not by much.
  CHECK(t.metricValue("belief_error_rms") > 0.0);
  CHECK(t.metricValue("belief_error_rms") < 0.05);
}

// Acceptance B: a strongly nonlinear card trains measurably worse (device-agnostic updates). The
// state-aware controller (the default) compensates the soft bound from the card, and mushroom
// absorbs the rest: there the p = 3 card pays only in pulses and energy. With the linear rule of
// linearRuleJob the soft bound shows. The two runs are two test cases (about 40 s each), held to
// one margin: the default card reaches 99.5% (99.7% on this seed), the p = 3 card stays at or
// under 98.5% (97.4%), so the drop is at least one point.

TEST_CASE("acceptance B: with the linear update rule the default card reaches 99.5%") {
  NullProgress quiet;
  const ResultTree good = nn::runMushroomJob(linearRuleJob("wox_ysz.model"), quiet);
  MESSAGE("test accuracy, default card: " << good.metricValue("test_accuracy"));
  CHECK(good.metricValue("test_accuracy") >= 0.995);
}

TEST_CASE("acceptance B: with the linear update rule a strongly nonlinear card stays at or under 98.5%") {
  NullProgress quiet;
  const ResultTree bad = nn::runMushroomJob(linearRuleJob("strong_nonlinear.model"), quiet);
  MESSAGE("test accuracy, strong nonlinearity: " << bad.metricValue("test_accuracy"));
  CHECK(bad.metricValue("test_accuracy") <= 0.985);
  CHECK(bad.metricValue("test_accuracy") >= 0.5);  // it still learns, only worse
}

// With the distributed gate (five quadrature segments per cell in the ngspice netlist) this
// comparison takes about 170 s of ngspice (1445 pulses): a benchmark, run by
// tools/bench/spice_crosscheck.sh (`--no-skip -tc='bench*'`).
TEST_CASE("bench --engine spice trains the same network as nodal (100 rows, one epoch)" *
          doctest::skip()) {
  // The first 100 samples, so the ngspice co-simulation of every write phase stays short.
  const std::filesystem::path data = test::mushroomCopy(
      std::filesystem::temp_directory_path(), "ecramsim_m100_" + std::to_string(::getpid()) + ".csv",
      100);
  NullProgress quiet;
  app::TrainJob job = defaultJob("wox_ysz.model");  // variation and line resistance on
  job.config.epochs = 1;
  job.ideal = false;
  job.data = data;
  job.config.hidden = 2;
  job.config.batch = 20;
  job.config.write_model = train::WriteModel::Circuit;  // the circuit on both engines
  job.engine = "nodal";
  const ResultTree nodal = nn::runMushroomJob(job, quiet);
  job.engine = "spice";
  const auto t0 = std::chrono::steady_clock::now();
  const ResultTree spice = nn::runMushroomJob(job, quiet);
  const double tSpice = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::filesystem::remove(data);
  const double range = job.card.params.gmax - job.card.params.gmin;
  double worst = 0.0;
  for (const char* layer : {"/devices/layer1/g_after_s", "/devices/layer2/g_after_s"}) {
    const auto& a = nodal.values(layer);
    const auto& b = spice.values(layer);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]) / range);
  }
  MESSAGE("train on spice vs nodal: max |dG| " << worst << " of the range, "
          << spice.metricValue("pulses_total") << " pulses, spice run " << tSpice << " s");
  CHECK(spice.metricValue("pulses_total") > 100);  // the network was really written
  CHECK(spice.metricValue("pulses_total") == nodal.metricValue("pulses_total"));
  CHECK(worst <= 1e-3);  // issue 4 acceptance D's bound
  CHECK(spice.metricValue("test_accuracy") == nodal.metricValue("test_accuracy"));
  CHECK(spice.metricValue("final_loss") == doctest::Approx(nodal.metricValue("final_loss")).epsilon(1e-4));
}

#include "app/train_job.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "app/array_engine.hpp"
#include "app/cards.hpp"
#include "app/program_job.hpp"
#include "core/error.hpp"
#include "core/memory_budget.hpp"
#include "io/tabular.hpp"

namespace ecramsim::app {

namespace {

using Index = Eigen::Index;

std::vector<double> rowMajor(const Eigen::MatrixXd& m) {
  std::vector<double> v(static_cast<std::size_t>(m.size()));
  for (Index r = 0; r < m.rows(); ++r) {
    for (Index c = 0; c < m.cols(); ++c) v[static_cast<std::size_t>(r * m.cols() + c)] = m(r, c);
  }
  return v;
}

void putMap(ResultTree& out, const std::string& path, const Eigen::MatrixXd& m,
            const std::string& unit, const std::string& description) {
  out.matrix(path, static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols()),
             rowMajor(m), unit, description);
}

/// The learning curve of a run under `group` ("/training", "/ideal/training", ...).
void putCurve(ResultTree& out, const std::string& group, const train::TrainResult& r, bool device) {
  std::vector<std::int64_t> epoch, pulses, phases;
  std::vector<double> loss, trainAcc, testAcc, testLoss, seconds, energy, time;
  for (const auto& e : r.epochs) {
    epoch.push_back(e.epoch);
    loss.push_back(e.loss);
    testLoss.push_back(e.test_loss);
    seconds.push_back(e.seconds);
    trainAcc.push_back(e.train_accuracy);
    testAcc.push_back(e.test_accuracy);
    pulses.push_back(e.updates.pulses);
    phases.push_back(e.updates.phases);
    energy.push_back(e.updates.energy_j);
    time.push_back(e.updates.array_time_s);
  }
  out.integers(group + "/epoch", epoch, "count", "epoch; 0 is the network before training");
  out.vector(group + "/loss", loss, "1", "mean cross-entropy over the training set, nats");
  out.vector(group + "/train_accuracy", trainAcc, "1",
             "fraction of training samples classified right");
  out.vector(group + "/test_accuracy", testAcc, "1", "fraction of test samples classified right");
  out.vector(group + "/test_loss", testLoss, "1", "mean cross-entropy over the test set, nats");
  out.vector(group + "/seconds", seconds, "s", "wall time of the epoch with its evaluation");
  out.dimensionsBelow(group, {"epoch"});  // epoch: its own coordinates
  if (!device) return;
  out.integers(group + "/pulses", pulses, "count", "write pulses applied during the epoch");
  out.integers(group + "/write_phases", phases, "count",
               "row-parallel write phases (one write operating point each) during the epoch");
  out.vector(group + "/write_energy_j", energy, "J",
             "energy drawn by the write drivers in the epoch");
  out.vector(group + "/write_time_s", time, "s", "array time of the epoch's write phases");
  out.dimensionsBelow(group, {"epoch"});
}

/// Histogram of every value of the matrices over fixed edges (values outside go to the end bins).
std::vector<double> histogram(const std::vector<Eigen::MatrixXd>& ms,
                              const std::vector<double>& edges) {
  std::vector<double> counts(edges.size() - 1, 0.0);
  const double lo = edges.front(), hi = edges.back();
  const auto bins = static_cast<double>(counts.size());
  for (const auto& m : ms) {
    for (Index k = 0; k < m.size(); ++k) {
      const double f = (m.data()[k] - lo) / (hi - lo) * bins;
      const auto b = static_cast<std::size_t>(std::clamp(f, 0.0, bins - 1.0));
      counts[b] += 1.0;
    }
  }
  return counts;
}

void putDevices(ResultTree& out, const train::TrainResult& r, const TrainJob& job) {
  const char* names[] = {"layer1", "layer2"};
  for (std::size_t l = 0; l < 2; ++l) {
    const std::string g = std::string("/devices/") + names[l];
    putMap(out, g + "/g_before_s", r.g_before_s[l], "S",
           "cell conductances before training (rows: inputs + bias; columns 2j, 2j+1: G+, G- of "
           "output j)");
    putMap(out, g + "/g_after_s", r.g_after_s[l], "S", "cell conductances after training");
    putMap(out, g + "/pulses_per_cell", r.pulses_per_cell[l], "count",
           "write pulses applied to each cell");
    putMap(out, g + "/x_after", r.x_after[l], "1", "true cell states after training");
    putMap(out, g + "/x_belief", r.x_belief[l], "1",
           "the open-loop controller's belief of the states after training");
    putMap(out, g + "/w_after", r.w_after[l], "1",
           "weights from the exact conductances after training (rows: inputs + bias)");
    out.dimensions(g + "/w_after", {"row", "output"});
    out.dimensionsBelow(g, {"row", "col"});
    out.attribute(g, "tiles", static_cast<std::int64_t>(r.tiles[l]));
  }
  const double gmin = job.card.params.gmin, gmax = job.card.params.gmax;
  std::vector<double> edges;
  constexpr int kBins = 60;
  const double lo = gmin - 0.1 * (gmax - gmin), hi = gmax + 0.1 * (gmax - gmin);
  for (int k = 0; k <= kBins; ++k) edges.push_back(lo + (hi - lo) * k / kBins);
  out.vector("/devices/g_hist/edges_s", edges, "S", "bin edges of the conductance histograms");
  out.vector("/devices/g_hist/before", histogram(r.g_before_s, edges), "count",
             "cells per conductance bin before training, both layers");
  out.vector("/devices/g_hist/after", histogram(r.g_after_s, edges), "count",
             "cells per conductance bin after training, both layers");
  std::vector<double> perCell;
  for (const auto& m : r.pulses_per_cell) {
    for (Index k = 0; k < m.size(); ++k) perCell.push_back(m.data()[k]);
  }
  out.vector("/devices/pulses_per_cell", perCell, "count",
             "write pulses per cell, layer 1 then layer 2, each row-major");
  out.dimensions("/devices/pulses_per_cell", {"cell"});
  out.dimensions("/devices/g_hist/before", {"bin"});  // edges_s: its own coordinates
  out.dimensions("/devices/g_hist/after", {"bin"});
}

train::Samples subset(const train::Samples& all, const std::vector<std::size_t>& idx) {
  train::Samples s;
  s.x.resize(static_cast<Index>(idx.size()), all.x.cols());
  s.y.resize(idx.size());
  for (std::size_t i = 0; i < idx.size(); ++i) {
    s.x.row(Index(i)) = all.x.row(Index(idx[i]));
    s.y[i] = all.y[idx[i]];
  }
  return s;
}

double rms(const std::vector<Eigen::MatrixXd>& a, const std::vector<Eigen::MatrixXd>& b) {
  double s = 0.0;
  Index n = 0;
  for (std::size_t l = 0; l < a.size(); ++l) {
    s += (a[l] - b[l]).squaredNorm();
    n += a[l].size();
  }
  return n ? std::sqrt(s / double(n)) : 0.0;
}

/// Estimated peak bytes of one in-situ training run with `inputs` features: the backends of
/// every tile of both differential layers, eight per-cell result maps per array, and the
/// activations of one batch.
double estimateTrainBytes(const TrainJob& job, Index inputs) {
  const train::TrainConfig& c = job.config;
  double bytes = 8.0 * 4.0 * double(c.batch) * (double(c.hidden) + double(c.classes));
  const auto layer = [&](double rows, double cols) {
    CrossbarGeometry tile = job.geometry;
    tile.rows = Index(std::min(rows, double(c.tile_rows)));
    tile.cols = Index(std::min(cols, double(c.tile_cols)));
    const double tiles = std::ceil(rows / double(tile.rows)) * std::ceil(cols / double(tile.cols));
    bytes += 2.0 * (tiles * estimateBackendBytes(job.engine, tile) + 8.0 * 8.0 * rows * cols);
  };
  layer(double(inputs) + 1.0, double(c.hidden));
  layer(double(c.hidden) + 1.0, double(c.classes));
  return bytes;
}

struct FoldOutcome {
  train::TrainResult device;
  train::TrainResult ideal;
  bool hasIdeal = false;
};

FoldOutcome runFold(const TrainJob& job, const NetworkTrainer& trainer,
                    const train::Samples& tr, const train::Samples& te, Rng& master,
                    Progress& progress) {
  const Rng start = master.split();
  FoldOutcome f;
  Rng rngDevice = start;
  f.device = trainer(tr, te, job, false, rngDevice, progress);
  if (job.ideal) {
    Rng rngIdeal = start;  // same initial weights and data order as the device run
    f.ideal = trainer(tr, te, job, true, rngIdeal, progress);
    f.hasIdeal = true;
  }
  return f;
}

void recordSettings(const TrainJob& job, const train::Samples& all, ResultTree& out) {
  const auto& c = job.config;
  const std::string g = "/config/train";
  out.attribute(g, "dataset", job.dataset);
  out.attribute(g, "data_file", job.data.string());
  out.attribute(g, "engine", job.engine);
  out.attribute(g, "inputs", static_cast<std::int64_t>(all.x.cols()));
  out.attribute(g, "samples", static_cast<std::int64_t>(all.x.rows()));
  out.attribute(g, "hidden", static_cast<std::int64_t>(c.hidden));
  out.attribute(g, "classes", static_cast<std::int64_t>(c.classes));
  out.attribute(g, "activation", train::activationName(c.activation));
  out.attribute(g, "epochs", static_cast<std::int64_t>(c.epochs));
  out.attribute(g, "batch", static_cast<std::int64_t>(c.batch));
  out.attribute(g, "learning_rate", c.learning_rate);
  out.attribute(g, "tile_rows", static_cast<std::int64_t>(c.tile_rows));
  out.attribute(g, "tile_cols", static_cast<std::int64_t>(c.tile_cols));
  out.attribute(g, "write_model", std::string(train::writeModelName(c.write_model)));
  out.attribute(g, "refresh_batches", static_cast<std::int64_t>(c.refresh_batches));
  out.attribute(g, "init_spread", c.init_spread);
  out.attribute(g, "init",
                std::string("states set directly (setStates) to 0.5 +- init_spread: "
                            "a simulation convenience, not a programming step"));
  out.attribute(g, "w_scale", c.map.w_scale);
  out.attribute(g, "read_v", c.map.read_v);
  out.attribute(g, "g_nominal_min_s", c.map.gmin_s);
  out.attribute(g, "g_nominal_max_s", c.map.gmax_s);
  out.attribute(g, "amplitude_v", c.pulses.amplitude_v);
  out.attribute(g, "width_s", c.pulses.width_s);
  out.attribute(g, "max_pulses", static_cast<std::int64_t>(c.pulses.max_pulses));
  out.attribute(g, "dead_band_pulses", c.pulses.dead_band);
  out.attribute(
      g, "bias_scheme",
      std::string(c.pulses.scheme.fraction == BiasFraction::Half ? "V/2" : "V/3") +
          (c.pulses.scheme.unselected == UnselectedLines::Floating ? " floating" : " grounded"));
  out.attribute(g, "pulse_order", std::string("row-parallel"));
  out.attribute(g, "rounding", std::string("stochastic pulse counts from the nominal response"));
  out.attribute(
      g, "controller",
      std::string(c.pulses.state_aware ? "state-aware: nominal step at the believed state"
                                       : "linear: nominal step at x = 0.5 for every cell"));
  out.attribute(g, "test_fraction", job.test_fraction);
  out.attribute(g, "folds", static_cast<std::int64_t>(job.folds));
  out.attribute(g, "threads", static_cast<std::int64_t>(c.threads));
  const auto& geo = job.geometry;
  out.attribute(g, "r_gate_seg_ohm", geo.r_gate_seg);
  out.attribute(g, "r_row_seg_ohm", geo.r_row_seg);
  out.attribute(g, "r_col_seg_ohm", geo.r_col_seg);
  out.attribute(g, "r_drv_ohm", geo.r_drv);
  out.attribute(g, "r_sense_ohm", geo.r_sense);
}

double mean(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / double(v.size());
}

double stddev(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean(v);
  double s = 0.0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size() - 1));
}

/// Refuses data too small for its split: every split needs a training row and a test row.
void checkSplits(const std::vector<io::Split>& splits, std::size_t rows, const TrainJob& job) {
  bool empty = false;
  for (const auto& s : splits) empty = empty || s.train.empty() || s.test.empty();
  if (!empty) return;
  // Rows of one class that the split needs: k folds need k; a split with test fraction f puts
  // round(f n) rows of a class of n rows into the test set and needs 1 <= round(f n) < n.
  std::string need;
  if (job.folds >= 2) {
    need = std::to_string(job.folds) + " rows of one class for " + std::to_string(job.folds) +
           " folds";
  } else {
    const double f = job.test_fraction;
    auto works = [f](double n) {
      const double t = std::round(f * n);
      return t >= 1.0 && t < n;
    };
    double n = std::max(1.0, std::floor(std::max(0.5 / f, 0.5 / (1.0 - f))) - 1.0);
    while (!works(n)) n += 1.0;
    char fraction[32];
    std::snprintf(fraction, sizeof fraction, "%g", f);
    need = std::to_string(static_cast<long long>(n)) +
           " rows of one class for a test fraction of " + fraction;
  }
  throw InputError({job.data.string(), 0}, "--data",
                   std::to_string(rows) + (rows == 1 ? " row is" : " rows are") +
                       " too few to train and test: the split needs at least " + need);
}

}  // namespace

const std::vector<std::string>& mushroomColumns() {
  static const std::vector<std::string> cols{"class",
                                             "cap-shape",
                                             "cap-surface",
                                             "cap-color",
                                             "bruises?",
                                             "odor",
                                             "gill-attachment",
                                             "gill-spacing",
                                             "gill-size",
                                             "gill-color",
                                             "stalk-shape",
                                             "stalk-root",
                                             "stalk-surface-above-ring",
                                             "stalk-surface-below-ring",
                                             "stalk-color-above-ring",
                                             "stalk-color-below-ring",
                                             "veil-type",
                                             "veil-color",
                                             "ring-number",
                                             "ring-type",
                                             "spore-print-color",
                                             "population",
                                             "habitat"};
  return cols;
}

EncodedData loadMushroom(const std::filesystem::path& csv) {
  const io::CsvTable table = io::readCsv(csv);
  for (const auto& col : mushroomColumns()) {
    if (std::find(table.header.begin(), table.header.end(), col) == table.header.end()) {
      throw InputError({table.file, 1}, col,
                       "column missing from the header (the mushroom table has 23 columns: "
                       "class and 22 attributes, see data/README.md)");
    }
  }
  for (const auto& col : table.header) {
    if (std::find(mushroomColumns().begin(), mushroomColumns().end(), col) ==
        mushroomColumns().end()) {
      throw InputError({table.file, 1}, col, "unexpected column in the mushroom table");
    }
  }
  io::EncodeOptions opt;
  opt.labelColumn = "class";
  opt.classes = {"edible", "poisonous"};
  opt.allowNumeric = false;
  const io::LabeledData d = io::encode(table, opt);
  EncodedData out;
  const auto n = static_cast<Index>(d.rows()), f = static_cast<Index>(d.features);
  out.all.x.resize(n, f);
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < f; ++j) out.all.x(i, j) = d.row(std::size_t(i))[j];
  }
  out.all.y = d.y;
  out.featureNames = d.featureNames;
  out.classNames = d.classNames;
  return out;
}

TrainJob defaultTrainJob() {
  TrainJob job;
  // Line resistance of the shipped arrays (2 Ohm segments, 20 Ohm drivers); rows and cols are
  // set per tile.
  job.geometry = defaultGeometry(1, 1);
  auto& c = job.config;
  // Defaults, and why (measured; see tools/bench/train.sh):
  //  - H = 8: mushroom is nearly linearly separable (software reaches 100% with H = 2); 8 hidden
  //    units leave margin for device errors while layer 1 stays 118 x 16 cells.
  //  - tanh: bounded activations are bounded read voltages for layer 2 (|v| < read_v).
  //  - tiles of 128 x 128 (a layer smaller than a tile gets a tile of its own size: layer 1 is
  //    one 118 x 16 array, layer 2 one 9 x 4), written through the reduced write model
  //    (array/reduced_write.hpp) refreshed every batch: a 118 x 16 phase through the full circuit
  //    costs several times the reduced one, and the reduced model moves every cell within 2 %
  //    of the circuit (tests/train/test_reduced_write.cpp). --write-model circuit is the exact
  //    path; tools/bench/train.sh times both.
  //  - lr 1, batch 128, 2 epochs (102 updates): the software network reaches 99.5-100% so;
  //    lr 3 diverges, lr 0.2 needs more epochs (more write phases).
  //  - w_scale 2: a pair spans weights in [-2, 2]; mushroom needs |w| < 1, so cells stay in the
  //    middle of the window, and a pulse moves a weight by ~0.02, half the pulses of w_scale 1
  //    for the same accuracy (measured: 26k vs 46k pulses, both 99.75% on seed 1).
  //  - at most 2 pulses per cell and update, dead band 0.1 pulse: late in training most
  //    requests are tiny and skipped, which keeps rows without real work out of the write phases.
  c.hidden = 8;
  c.activation = train::Activation::Tanh;
  c.epochs = 2;
  c.batch = 128;
  c.learning_rate = 1.0;
  c.tile_rows = 128;
  c.tile_cols = 128;
  c.write_model = train::WriteModel::Reduced;
  c.refresh_batches = 1;
  c.threads = 2;
  c.map.w_scale = 2.0;
  c.map.read_v = 0.1;
  c.pulses.amplitude_v = 5.0;
  c.pulses.width_s = 0.1;
  c.pulses.max_pulses = 2;
  c.pulses.dead_band = 0.1;
  return job;
}

ResultTree runTrainJob(const TrainJob& jobIn, const NetworkTrainer& trainer,
                       Progress& progress) {
  TrainJob job = jobIn;
  if (job.dataset != "mushroom") {
    throw InputError({}, "DATASET", "unknown data set '" + echoToken(job.dataset) + "' (mushroom)");
  }
  checkEngine(job.engine);
  requireReadableWiring(job.geometry.wiring, "training (its forward pass is a VMM)");
  if (job.engine == "spice" && job.config.write_model != train::WriteModel::Circuit) {
    throw InputError({}, "--write-model",
                     "the reduced write model stands in for the nodal engine's write solve; "
                     "with --engine spice use --write-model circuit");
  }
  if (job.data.empty()) job.data = projectRoot() / "data" / "mushroom.csv";
  if (job.folds == 1 || job.folds < 0) throw InputError({}, "--folds", "need 0 (a split) or >= 2");
  if (!(job.test_fraction > 0.0 && job.test_fraction < 1.0)) {
    throw InputError({}, "--test-fraction", "must lie in (0, 1)");
  }
  job.config.map.gmin_s = job.card.params.gmin;
  job.config.map.gmax_s = job.card.params.gmax;
  train::validate(job.config);
  {
    CrossbarGeometry g = job.geometry;
    g.rows = g.cols = 1;
    g.validate();
  }
  const EncodedData data = loadMushroom(job.data);
  job.config.classes = static_cast<int>(data.classNames.size());
  checkMemoryEstimate(estimateTrainBytes(job, data.all.x.cols()), "--hidden/--tile/--batch",
                      "training " + std::to_string(job.config.hidden) + " hidden units on " +
                          std::to_string(job.config.tile_rows) + " x " +
                          std::to_string(job.config.tile_cols) + " tiles");

  Rng master(job.seed);
  Rng splitRng = master.split();
  std::vector<io::Split> splits;
  if (job.folds >= 2) {
    splits = io::stratifiedFolds(data.all.y, job.folds, splitRng);
  } else {
    splits.push_back(io::stratifiedSplit(data.all.y, job.test_fraction, splitRng));
  }
  checkSplits(splits, data.all.y.size(), job);

  ResultTree out;
  std::vector<double> testAcc, trainAcc, idealTest, idealTrain;
  std::vector<FoldOutcome> outcomes;
  for (std::size_t k = 0; k < splits.size(); ++k) {
    const train::Samples tr = subset(data.all, splits[k].train);
    const train::Samples te = subset(data.all, splits[k].test);
    FoldOutcome f = runFold(job, trainer, tr, te, master, progress);
    testAcc.push_back(f.device.epochs.back().test_accuracy);
    trainAcc.push_back(f.device.epochs.back().train_accuracy);
    if (f.hasIdeal) {
      idealTest.push_back(f.ideal.epochs.back().test_accuracy);
      idealTrain.push_back(f.ideal.epochs.back().train_accuracy);
    }
    if (splits.size() > 1) {
      const std::string g = "/folds/fold_" + std::to_string(k);
      putCurve(out, g + "/training", f.device, true);
      if (f.hasIdeal) putCurve(out, g + "/ideal/training", f.ideal, false);
    }
    outcomes.push_back(std::move(f));
  }
  // The first split's run carries the curves, device maps and profile.
  const train::TrainResult& r = outcomes.front().device;
  putCurve(out, "/training", r, true);
  if (outcomes.front().hasIdeal) putCurve(out, "/ideal/training", outcomes.front().ideal, false);
  putDevices(out, r, job);
  recordCard(job.card, "/config/model", out);
  recordSettings(job, data.all, out);
  out.attribute("/config/train", "network", r.network);
  out.attribute("/config/train", "periphery",
                std::string("libtorch autograd in float64, plain SGD on the mean cross-entropy"));
  out.strings("/config/train/feature_names", data.featureNames,
              "one-hot input i (row i of layer 1)");
  out.strings("/config/train/class_names", data.classNames, "output j (class index)");
  out.dimensions("/config/train/feature_names", {"feature"});
  out.dimensions("/config/train/class_names", {"class"});
  out.attribute("/profile", "forward_s", r.profile.forward_s);
  out.attribute("/profile", "backward_s", r.profile.backward_s);
  out.attribute("/profile", "update_s", r.profile.update_s);
  out.attribute("/profile", "evaluate_s", r.profile.evaluate_s);
  out.attribute("/profile", "total_s", r.profile.total_s);
  out.attribute("/profile", "note", std::string("wall times of the first run, s; not results"));

  out.metric("test_accuracy", mean(testAcc), "1",
             splits.size() > 1 ? "mean test accuracy over the folds, in situ"
                               : "test accuracy after training, in situ");
  if (splits.size() > 1) {
    out.metric("test_accuracy_std", stddev(testAcc), "1", "standard deviation over the folds");
  }
  out.metric("train_accuracy", mean(trainAcc), "1",
             "training-set accuracy after training, in situ");
  out.metric("final_loss", r.epochs.back().loss, "1", "mean cross-entropy over the training set");
  if (!idealTest.empty()) {
    out.metric("ideal_test_accuracy", mean(idealTest), "1",
               "the same network in floating point (software baseline), test accuracy");
    out.metric("ideal_train_accuracy", mean(idealTrain), "1",
               "software baseline, training accuracy");
  }
  out.metric("pulses_total", double(r.totals.pulses), "count", "write pulses applied");
  out.metric("write_phases", double(r.totals.phases), "count", "row-parallel write phases");
  out.metric("pulses_skipped", double(r.totals.skipped), "count",
             "update requests below the dead band (no pulse)");
  out.metric("pulses_capped", double(r.totals.capped), "count",
             "update requests cut to --max-pulses");
  double maxPulses = 0.0;
  for (const auto& m : r.pulses_per_cell) maxPulses = std::max(maxPulses, m.maxCoeff());
  out.metric("pulses_per_cell_max", maxPulses, "count", "most pulses any cell received");
  out.metric("energy_j", r.energy_j, "J",
             "energy drawn from every driver of every tile (writes and reads)");
  out.metric("write_energy_j", r.totals.energy_j, "J", "energy drawn by the write pulses");
  out.metric("array_time_s", r.array_time_s, "s",
             "array time of the write phases (reads excluded)");
  out.metric("belief_error_rms", rms(r.x_belief, r.x_after), "1",
             "rms difference between the controller's believed and the true states at the end");
  return out;
}

}  // namespace ecramsim::app

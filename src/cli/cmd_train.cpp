#include <cstdio>
#include <memory>

#include "app/cards.hpp"
#include "app/train_job.hpp"
#include "cli/common.hpp"
#include "cli/plots.hpp"
#include "core/error.hpp"
#include "io/hdf5.hpp"
#include "io/image_data.hpp"
#include "nn/mushroom.hpp"
#include "nn/nn_job.hpp"

namespace ecramsim::cli {

namespace {

/// "RxC" -> rows, cols.
void parseTile(const std::string& text, Eigen::Index& rows, Eigen::Index& cols) {
  const auto x = text.find_first_of("xX");
  try {
    if (x == std::string::npos) throw std::invalid_argument(text);
    std::size_t used = 0;
    const long r = std::stol(text.substr(0, x), &used);
    if (used != x) throw std::invalid_argument(text);
    const std::string rest = text.substr(x + 1);
    const long c = std::stol(rest, &used);
    if (used != rest.size()) throw std::invalid_argument(text);
    rows = r;
    cols = c;
  } catch (const std::exception&) {
    throw InputError({}, "--tile", "expected ROWSxCOLS, e.g. 16x16, got '" + echoToken(text) + "'");
  }
  if (rows < 1 || cols < 2) throw InputError({}, "--tile", "need at least 1 row and 2 columns");
}

/// The weight mapping and the open-loop update of an in-situ training: --w-scale, --read-v,
/// --init-spread, --amplitude, the pulse width (`widthFlag`), --max-pulses, --dead-band and
/// --linear-controller.
void addUpdateOptions(CLI::App& cmd, train::PairMapping& map, train::PulsePolicy& pulses,
                      double& initSpread, bool& linearController, const std::string& widthFlag) {
  addQuantity(cmd, "--w-scale", map.w_scale, "1", "Weight of a pair at G+ - G- = gmax - gmin");
  addQuantity(cmd, "--read-v", map.read_v, "V", "Read voltage of an input of 1");
  addQuantity(cmd, "--init-spread", initSpread, "1", "Initial states 0.5 +- this (uniform)");
  addQuantity(cmd, "--amplitude", pulses.amplitude_v, "V", "Write amplitude");
  addQuantity(cmd, widthFlag, pulses.width_s, "s", "Write pulse width");
  cmd.add_option("--max-pulses", pulses.max_pulses, "Cap of pulses per cell and update")
      ->default_val(pulses.max_pulses);
  addQuantity(cmd, "--dead-band", pulses.dead_band, "pulses",
              "Update requests smaller than this many pulses are skipped");
  cmd.add_flag("--linear-controller", linearController,
               "Pulse counts from the nominal step at x = 0.5 for every cell (the device assumed "
               "linear) instead of the step at the believed state");
}

/// `train mlp` and `train vgg8`: image classifiers of the network engine (src/nn/, libtorch).
void addNnCommand(CLI::App& train, const std::string& network) {
  struct Options {
    nn::NnJob job;
    std::string out, model, tile = "128x128", writeModel = "factors";
    app::CardOverrides overrides;
    ArrayOptions array;
    bool noPlot = false, linearController = false;
    CommonFlags flags;
  };
  auto o = std::make_shared<Options>();
  auto& j = o->job;
  j.network = network;
  // Array, mapping and pulse defaults of `train mushroom` (see app/train_job.cpp for why).
  j.analog = nn::defaultAnalogConfig();
  auto& c = j.analog;
  CLI::App* cmd = nullptr;
  if (network == "vgg8") {
    cmd = train.add_subcommand(
        "vgg8",
        "NeuroSim's VGG-8 (conv 128-128-pool-256-256-pool-512-512-pool, FC 1024, FC classes), "
        "every width times --width, batch norm after each convolution, trained with plain SGD "
        "on Fashion-MNIST (default), MNIST or CIFAR-10. Example: ecramsim train vgg8 --ideal "
        "--width 0.25 --subset 4000 --epochs 1");
    cmd->add_option("--width", j.width, "Channel multiplier of every layer (0.25 trains on 2 cores)")
        ->default_val(j.width);
    cmd->add_flag("!--no-batchnorm", j.batchnorm,
                  "No batch normalization (plain SGD then does not train VGG-8)");
  } else {
    cmd = train.add_subcommand(
        "mlp",
        "Multilayer perceptron of the sizes --layers (input first, classes last), ReLU between, "
        "trained with plain SGD; every weight a differential pair of ECRAM cells on tiles "
        "(or --ideal: floating point). Example: ecramsim train mlp --layers 784,64,10 "
        "--subset 2000 --epochs 1");
    cmd->add_option("--layers", j.layers, "Layer sizes, comma-separated, e.g. 784,256,10")
        ->delimiter(',')
        ->required();
  }
  cmd->add_option("--dataset", j.dataset, "fashion-mnist (Debian's dataset-fashion-mnist), mnist "
                                          "or cifar10 (binary batches; needs --data)")
      ->check(CLI::IsMember({"fashion-mnist", "mnist", "cifar10"}))
      ->default_val(j.dataset);
  cmd->add_option("--data", j.data,
                  "Directory of the data set's files (default for fashion-mnist: " +
                      io::defaultFashionMnistDir().string() + ")");
  cmd->add_option("--subset", j.subset, "Train on the first N samples only (0: all)")
      ->default_val(0);
  cmd->add_option("--test-subset", j.test_subset, "Test on the first N test samples (0: all)")
      ->default_val(0);
  cmd->add_option("--epochs", j.epochs, "Passes over the training samples")->default_val(j.epochs);
  cmd->add_option("--batch", j.batch, "Samples per SGD step")->default_val(j.batch);
  addQuantity(*cmd, "--lr", j.learning_rate, "1", "Learning rate of plain SGD");
  cmd->add_option("--threads", j.threads, "libtorch threads (0: one per core)")->default_val(0);
  cmd->add_flag("--ideal", j.ideal, "Floating-point weights: the software baseline");
  cmd->add_option("-m,--model", o->model,
                  "Model card of the cells, FILE or FILE:NAME (default: models/wox_ysz.model)");
  cmd->add_option("--set", o->overrides.sets, "Override a card parameter, key=value (repeatable)")
      ->type_name("KEY=VALUE");
  cmd->add_flag("--no-variation", o->overrides.noVariation, "Switch off c2c and d2d variation");
  cmd->add_option("--tile", o->tile, "Largest array, ROWSxCOLS; weight matrices are cut into "
                                     "such tiles")
      ->default_str(o->tile);
  cmd->add_option("--tile-threads", c.threads, "Tiles read and written at once")
      ->default_val(c.threads);
  addUpdateOptions(*cmd, c.map, c.pulses, c.init_spread, o->linearController, "--pulse-width");
  cmd->add_option("--write-model", o->writeModel,
                  "How pulses move the cells: factors (the pulse-factor model of each tile: "
                  "per-cell gate-current factors and column responses taken every --refresh "
                  "batches, the cost of the pulses alone), reduced (the reduced write model: "
                  "line drops solved in every phase, each cell integrated) or circuit (a "
                  "nonlinear write solve of every phase, the exact path and far slower)")
      ->check(CLI::IsMember({"circuit", "reduced", "factors"}))
      ->default_str("factors");
  cmd->add_option("--refresh", c.refresh_batches,
                  "Batches between refreshes of the write model's factors")
      ->default_val(c.refresh_batches);
  cmd->add_option("--read-refresh", c.read_refresh,
                  "Batches between reads of the tiles' effective weights (every tile's R unit "
                  "inputs through the nodal engine, line drops included); in between, the "
                  "weights of the present conductances plus the line-drop correction of the "
                  "last read. 0: every input vector through the tiles (exact, far slower). "
                  "Example: --read-refresh 1")
      ->default_val(c.read_refresh)
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--dac-bits", c.periphery.dac_bits,
                  "Input DAC resolution, bits including sign, range the batch's largest |input| "
                  "(0: ideal)")
      ->default_val(0)
      ->check(CLI::Range(0, 24));
  cmd->add_option("--adc-bits", c.periphery.adc_bits,
                  "Output ADC resolution, bits including sign, range the batch's largest "
                  "|output| (0: ideal)")
      ->default_val(0)
      ->check(CLI::Range(0, 24));
  cmd->add_option("--read-noise", c.periphery.read_noise,
                  "Gaussian read noise on every output, sigma as a fraction of the batch's "
                  "largest |output|, e.g. 0.01 (0: none)")
      ->default_val(0.0)
      ->check(CLI::Range(0.0, 1.0));
  addArrayOptions(*cmd, o->array, c.geometry, true);
  cmd->add_option("--seed", j.seed, "Seed of the initial weights and the data order")
      ->default_val(j.seed);
  cmd->add_option("--resume", j.resume,
                  "Continue the run of an earlier file of the same job (same flags; an "
                  "interrupted run, or one with fewer --epochs) after its last completed epoch, "
                  "bit for bit with --threads 1 (analog runs: from its /resume state)");
  cmd->add_option("-o,--out", o->out, "HDF5 file to write (default: train_" + network + ".h5)");
  cmd->add_flag("--no-plot", o->noPlot, "Skip the PNG of the learning curves");
  addCommonFlags(*cmd, o->flags);
  cmd->callback([o] {
    StderrProgress progress(o->flags.quiet);
    auto& a = o->job.analog;
    const auto card = app::resolveCard(
        o->model.empty() ? app::defaultCardPath().string() : o->model, o->overrides);
    a.card = card.name;
    a.params = card.params;
    a.map.gmin_s = card.params.gmin;
    a.map.gmax_s = card.params.gmax;
    parseTile(o->tile, a.tile_rows, a.tile_cols);
    a.pulses.scheme = biasScheme(o->array);
    a.pulses.state_aware = !o->linearController;
    a.engine = o->array.engine;
    a.write_model = train::parseWriteModel(o->writeModel);
    applyArrayOptions(o->array, a.geometry);
    const auto run = nn::runNnJob(o->job, progress, globalCancelToken());
    const std::filesystem::path path =
        o->out.empty() ? "train_" + o->job.network + ".h5" : o->out;
    io::writeResultFile(run.tree, path,
                        {context().commandLine, o->job.seed, io::isoTimeNow(),
                         run.interrupted ? "interrupted" : "complete",
                         run.interrupted ? nullptr : &globalCancelToken()});
    if (!o->noPlot && !run.interrupted) {
      std::filesystem::path png = path;
      png.replace_extension(".png");
      const int rc = runPlotScript("train.py", {path.string(), png.string()}, o->flags.quiet);
      if (rc != 0) {
        throw IoError("tools/plot/train.py failed with status " + std::to_string(rc) + "; " +
                      path.string() + " is complete (rerun with --no-plot)");
      }
    }
    if (run.interrupted) throw Interrupted();
    if (o->flags.json) {
      printJsonSummary(path, run.tree);
    } else {
      std::printf("train %s (%s):\n", o->job.network.c_str(),
                  o->job.ideal ? "ideal weights" : "ECRAM tiles");
      printMetrics(run.tree);
      std::printf("wrote %s\n", path.string().c_str());
    }
  });
}

}  // namespace

void addTrainCommand(CLI::App& app) {
  struct Options {
    std::string model, out, data, tile = "128x128", activation = "tanh",
                writeModel;
    app::CardOverrides overrides;
    app::TrainJob job = app::defaultTrainJob();
    ArrayOptions array;
    bool noPlot = false, linearController = false;
    CommonFlags flags;
  };
  auto o = std::make_shared<Options>();
  auto* train = app.add_subcommand(
      "train",
      "Train a network in situ on simulated ECRAM arrays (forward VMMs through the "
      "arrays, backpropagation in the periphery, open-loop pulse updates)");
  train->require_subcommand(1);
  auto* cmd = train->add_subcommand(
      "mushroom",
      "117 -> H -> 2 classifier of the UCI mushroom data (paper: 99.4% in situ); each weight a "
      "differential pair of cells; writes HDF5 and a PNG of the learning curves");
  auto& j = o->job;
  auto& c = j.config;
  cmd->add_option("--data", o->data, "Mushroom CSV (default: data/mushroom.csv)");
  cmd->add_option("-m,--model", o->model,
                  "Model card FILE or FILE:NAME (default: models/wox_ysz.model)");
  cmd->add_option("--set", o->overrides.sets, "Override a card parameter, key=value (repeatable)")
      ->type_name("KEY=VALUE");
  cmd->add_flag("--no-variation", o->overrides.noVariation, "Switch off c2c and d2d variation");
  cmd->add_option("--epochs", c.epochs, "Passes over the training set")->default_val(c.epochs);
  addQuantity(*cmd, "--lr", c.learning_rate, "1", "Learning rate of SGD");
  cmd->add_option("--batch", c.batch, "Samples per update")->default_val(c.batch);
  cmd->add_option("--hidden", c.hidden, "Hidden units H")->default_val(c.hidden);
  cmd->add_option("--activation", o->activation, "Hidden nonlinearity: tanh or relu")
      ->check(CLI::IsMember({"tanh", "relu"}))
      ->default_str("tanh");
  cmd->add_option("--tile", o->tile, "Largest array, ROWSxCOLS; layers are cut into such tiles")
      ->default_str("128x128");
  cmd->add_option("--write-model", o->writeModel,
                  "How pulses move the cells: reduced (line IR drop from the conductances taken "
                  "every --refresh batches, each cell by its own physics at those terminals; "
                  "within 2 % of the circuit) or circuit (the full nonlinear write solve of every "
                  "phase, the exact path); factors (the pulse-factor model: gate-current "
                  "factors and column responses per --refresh, no per-phase solve). Default: "
                  "reduced; circuit with --engine spice")
      ->check(CLI::IsMember({"circuit", "reduced", "factors"}));
  cmd->add_option("--refresh", c.refresh_batches,
                  "Batches between refreshes of the reduced write model's factors, e.g. 10")
      ->default_val(c.refresh_batches);
  cmd->add_option("--threads", c.threads, "Tiles worked on at once")->default_val(c.threads);
  addUpdateOptions(*cmd, c.map, c.pulses, c.init_spread, o->linearController, "--width");
  addArrayOptions(*cmd, o->array, j.geometry, true);
  addQuantity(*cmd, "--test-fraction", j.test_fraction, "1", "Test share of the stratified split");
  cmd->add_option("--folds", j.folds, "k-fold cross-validation (k >= 2) instead of one split")
      ->default_val(0);
  cmd->add_flag("--ideal", j.ideal, "Also train the same network in floating point (baseline)");
  cmd->add_option("--seed", j.seed, "Seed of the random number generator")->default_val(1);
  cmd->add_option("-o,--out", o->out, "HDF5 file to write (default: train_mushroom.h5)");
  cmd->add_flag("--no-plot", o->noPlot, "Skip the PNG of the learning curves");
  addCommonFlags(*cmd, o->flags);
  addNnCommand(*train, "mlp");
  addNnCommand(*train, "vgg8");
  cmd->callback([o] {
    StderrProgress progress(o->flags.quiet);
    auto& job = o->job;
    job.dataset = "mushroom";
    job.data = o->data;
    job.card = app::resolveCard(o->model.empty() ? app::defaultCardPath().string() : o->model,
                                o->overrides);
    parseTile(o->tile, job.config.tile_rows, job.config.tile_cols);
    job.config.activation = train::parseActivation(o->activation);
    job.config.pulses.scheme = biasScheme(o->array);
    job.config.pulses.state_aware = !o->linearController;
    job.engine = o->array.engine;
    job.config.write_model = train::parseWriteModel(
        !o->writeModel.empty() ? o->writeModel : (job.engine == "spice" ? "circuit" : "reduced"));
    applyArrayOptions(o->array, job.geometry);
    const ResultTree tree = nn::runMushroomJob(job, progress);
    const std::filesystem::path path = o->out.empty() ? "train_mushroom.h5" : o->out;
    writeResult(tree, path, job.seed);
    std::filesystem::path png = path;
    png.replace_extension(".png");
    if (!o->noPlot) {
      const int rc = runPlotScript("train.py", {path.string(), png.string()}, o->flags.quiet);
      if (rc != 0) {
        throw IoError("tools/plot/train.py failed with status " + std::to_string(rc) + "; " +
                      path.string() + " is complete (rerun with --no-plot)");
      }
    }
    if (o->flags.json) {
      printJsonSummary(path, tree);
    } else {
      std::printf("train mushroom on %s (H = %d, %d epochs):\n", job.card.name.c_str(),
                  job.config.hidden, job.config.epochs);
      printMetrics(tree);
      std::printf("wrote %s%s\n", path.string().c_str(),
                  o->noPlot ? "" : (" and " + png.string()).c_str());
    }
  });
}

}  // namespace ecramsim::cli

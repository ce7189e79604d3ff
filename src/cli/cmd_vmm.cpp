#include "app/cards.hpp"
#include "app/program_job.hpp"
#include "app/vmm_job.hpp"
#include "cli/common.hpp"
#include "core/error.hpp"

namespace ecramsim::cli {

void addVmmCommand(CLI::App& app) {
  struct Options {
    std::string model, out, weights, inputs;
    app::CardOverrides overrides;
    app::VmmJob job;
    Eigen::Index rows = 10, cols = 10;
    std::string readSolver = "fast";
    ArrayOptions array;
    CommonFlags flags;
  };
  auto o = std::make_shared<Options>();
  o->job.geometry = app::defaultGeometry(10, 10);
  auto* cmd = app.add_subcommand(
      "vmm",
      "Analog vector-matrix multiplication through the array (paper Fig. 2e-g): the "
      "multiplication map of one cell, random input vectors against the ideal product, and the "
      "sneak-path read error with unselected lines grounded or floating (floating: arrays up to "
      "256 x 256 cells; larger arrays skip it and say so). Example: ecramsim vmm --rows 512 "
      "--cols 512 --vectors 10");
  cmd->add_option("--rows", o->rows, "Array rows (source lines)")->default_val(10);
  cmd->add_option("--cols", o->cols, "Array columns (drain lines)")->default_val(10);
  cmd->add_option("--vectors", o->job.vectors, "Random input vectors")->default_val(1000);
  addQuantity(*cmd, "--v-max", o->job.v_max, "V", "Largest input (read) voltage (default 0.1)");
  cmd->add_option("--weights", o->weights,
                  "States of the cells, .csv or .pgm in [0, 1], rows x cols (default: random)");
  cmd->add_option("--inputs", o->inputs,
                  "Input vectors, .csv with one vector of `rows` voltages per line "
                  "(default: --vectors random vectors uniform in [0, v-max])");
  cmd->add_option("-m,--model", o->model, "Model card FILE or FILE:NAME (default: models/wox_ysz.model)");
  cmd->add_option("--set", o->overrides.sets, "Override a card parameter, key=value (repeatable)");
  cmd->add_flag("--no-variation", o->overrides.noVariation, "Switch off c2c and d2d variation");
  addArrayOptions(*cmd, o->array, o->job.geometry, false);
  cmd->add_option("--read-solver", o->readSolver,
                  "Read network solver of the nodal engine: fast (exact tridiagonal solves along "
                  "every line, iterated to 1e-12; agrees with exact to 1e-10 of full scale and "
                  "falls back to it if it does not converge) or exact (sparse Cholesky of the "
                  "whole network, the reference). Example: --read-solver exact")
      ->check(CLI::IsMember({"fast", "exact"}))
      ->default_str("fast");
  cmd->add_option("--seed", o->job.seed, "Seed of the random number generator")->default_val(1);
  cmd->add_option("-o,--out", o->out, "HDF5 file to write (default: vmm.h5)");
  addCommonFlags(*cmd, o->flags);
  cmd->callback([o] {
    StderrProgress progress(o->flags.quiet);
    auto& job = o->job;
    job.geometry.rows = o->rows;
    job.geometry.cols = o->cols;
    applyArrayOptions(o->array, job.geometry);
    job.engine = o->array.engine;
    job.read_solver = parseReadSolver(o->readSolver, "--read-solver");
    job.weights = o->weights;
    job.inputs = o->inputs;
    job.card = app::resolveCard(o->model.empty() ? app::defaultCardPath().string() : o->model,
                                o->overrides);
    const ResultTree tree = app::runVmmJob(job, progress);
    const std::filesystem::path path = o->out.empty() ? "vmm.h5" : o->out;
    writeResult(tree, path, job.seed);
    if (o->flags.json) {
      printJsonSummary(path, tree);
    } else {
      std::printf("vmm on a %lldx%lld array with %s (full scale R gmax v_max):\n",
                  static_cast<long long>(o->rows), static_cast<long long>(o->cols),
                  job.card.name.c_str());
      printMetrics(tree);
      std::printf("wrote %s\n", path.string().c_str());
    }
  });
}

}  // namespace ecramsim::cli

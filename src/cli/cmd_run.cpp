#include <iostream>

#include "app/run_job.hpp"
#include "cli/common.hpp"
#include "core/error.hpp"

namespace ecramsim::cli {

void addRunCommand(CLI::App& app) {
  struct Options {
    std::string netlist, model, out;
    app::RunJob job;
    bool emit = false;
    CommonFlags flags;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "run",
      "Run an ngspice netlist whose `ecram` instances (N<name> gate drain source MODEL) are "
      "co-simulated: node voltages, source currents and every cell's x, G and currents at each "
      "accepted time point go to /waveforms");
  cmd->add_option("netlist", o->netlist, "Netlist file (ngspice syntax; .control blocks refused)")
      ->required();
  cmd->add_option("-m,--model", o->model,
                  "Model file read before the netlist (as `.include FILE`), for netlists that "
                  "name an ecram model without defining it");
  cmd->add_option("--set", o->job.sets,
                  "name=value: a .param of the netlist, else a parameter of every ecram card "
                  "(repeatable)");
  cmd->add_option("--save", o->job.save,
                  "Glob of node voltages (g_5_*, v(out)) and source currents (i(vsense*)) to "
                  "write; default all (repeatable)");
  cmd->add_flag("--no-variation", o->job.noVariation, "Switch off the cards' d2d and c2c variation");
  addQuantity(*cmd, "--state-reltol", o->job.options.state_reltol, "1",
              "Largest predicted change of any cell's state per accepted step, fraction of the "
              "range of x");
  cmd->add_option("--seed", o->job.seed, "Seed of the device-to-device variation")->default_val(1);
  cmd->add_flag("--emit-netlist", o->emit,
                "Print the expanded netlist (includes inlined, ecram stubs) on stdout and stop");
  cmd->add_option("-o,--out", o->out, "HDF5 file to write (default: run.h5)");
  addCommonFlags(*cmd, o->flags);
  cmd->callback([o] {
    auto& job = o->job;
    job.netlist = o->netlist;
    job.model = o->model;
    const app::PreparedRun prepared = app::prepareRun(job);
    if (o->emit) {
      std::cout << prepared.expandedText() << std::flush;
      return;
    }
    StderrProgress progress(o->flags.quiet);
    const ResultTree tree = app::runPrepared(job, prepared, progress);
    const std::filesystem::path path = o->out.empty() ? "run.h5" : o->out;
    writeResult(tree, path, job.seed);
    if (o->flags.json) {
      printJsonSummary(path, tree);
    } else {
      std::printf("run %s:\n", o->netlist.c_str());
      printMetrics(tree);
      std::printf("wrote %s\n", path.string().c_str());
    }
  });
}

}  // namespace ecramsim::cli

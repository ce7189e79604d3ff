#include <iostream>

#include "app/paper.hpp"
#include "cli/common.hpp"
#include "cli/plots.hpp"
#include "core/error.hpp"
#include "nn/mushroom.hpp"
#include "nn/nn_job.hpp"

namespace ecramsim::cli {

void addPaperCommand(CLI::App& app) {
  struct Options {
    std::string out = "results/paper";
    std::uint64_t seed = 1;
    std::string engine = "nodal";
    std::vector<std::string> only;
    bool noPlots = false;
    CommonFlags flags;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "paper",
      "Reproduce the seed paper's experiments on the shipped 10x10 array and cards: HDF5 files, "
      "summary.json and PNG figures in one folder");
  cmd->add_option("-o,--out", o->out, "Results folder")->default_str("results/paper");
  cmd->add_option("--seed", o->seed, "Seed of the random number generator")->default_val(1);
  cmd->add_flag("--no-plots", o->noPlots, "Skip the PNG figures (tools/plot/paper.py)");
  cmd->add_option("--engine", o->engine,
                  "Array engine of the programming, VMM and training experiments: nodal, or spice "
                  "(ngspice co-simulation; the training alone then takes hours)")
      ->check(CLI::IsMember({"nodal", "spice"}))
      ->default_str("nodal");
  cmd->add_option("--only", o->only,
                  "Run only these experiments (file stems, comma-separated) and merge their "
                  "metrics into the folder's summary.json; their metrics are printed. Example: "
                  "--only wirings (the wiring comparison, minutes); no PNG figures are made then")
      ->delimiter(',');
  addCommonFlags(*cmd, o->flags);
  cmd->callback([o] {
    StderrProgress progress(o->flags.quiet);
    const app::PaperResult r =
        app::runPaper({o->out, o->seed, context().commandLine, o->engine, o->only,
                       nn::trainMushroomNetwork,
                       [](std::uint64_t seed) {
                         NullProgress quiet;
                         return nn::paperVgg8(seed, quiet);
                       }},
                      progress);
    if (!o->noPlots && o->only.empty()) {
      const int rc = runPlotScript("paper.py", {o->out}, o->flags.quiet);
      if (rc != 0) {
        throw IoError("tools/plot/paper.py failed with status " + std::to_string(rc) +
                      "; the HDF5 files in " + o->out + " are complete (rerun with --no-plots)");
      }
    }
    if (o->flags.json) {
      std::cout << "{\"folder\": " << jsonQuote(o->out) << ", \"metrics\": "
                << r.summary.metricsJson() << "}" << std::endl;
    } else {
      std::cout << r.files.size() << " result files\n";
      if (!o->only.empty()) printMetrics(r.summary);
      std::cout << "results (HDF5, summary.json" << (o->noPlots || !o->only.empty() ? "" : ", PNG figures")
                << "): " << std::filesystem::absolute(o->out).string() << std::endl;
    }
  });
}

}  // namespace ecramsim::cli

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "app/cards.hpp"
#include "cli/common.hpp"
#include "cli/plots.hpp"
#include "core/error.hpp"
#include "fit/fit.hpp"
#include "io/output_file.hpp"

namespace ecramsim::cli {

void addFitCommand(CLI::App& app) {
  struct Options {
    std::vector<std::string> data, up, down, keys;
    std::string model, out = "fit.h5", cardOut, plot, objective = "ramps", name;
    app::CardOverrides overrides;
    fit::FitOptions fit;
    bool exact = false, noPlot = false;
    CommonFlags flags;
  };
  auto o = std::make_shared<Options>();
  std::string keyList;
  for (auto k : fit::fittableKeys()) keyList += (keyList.empty() ? "" : ",") + std::string(k);
  auto* cmd = app.add_subcommand(
      "fit",
      "Fit a model card to measured pulse data: the card's physics simulates every ramp, Ceres\n"
      "Solver fits gmin, gmax, q_c (the step), p_up, p_dn by least squares, and dg_c2c follows\n"
      "from the step-to-step spread. Writes FIT.h5 (data, prediction, residuals, covariance,\n"
      "metrics), the fitted card (every fitted value commented with the data files, their\n"
      "sha256, the date and its standard error) and a PNG overlay. A branch whose residuals\n"
      "trend along G is reported as a mismatch. Exit 1 (files still written, marked) when the\n"
      "fit does not converge or a value ends at a bound of its range.\n"
      "Example: ecramsim fit --up data/measured/crosssim_example/set.csv\n"
      "           --down data/measured/crosssim_example/reset.csv -o fit.h5");
  cmd->add_option("DATA", o->data,
                  "Data files: a traces CSV (header of ramp names, one row per pulse, G in S;\n"
                  "polarity from each ramp's trend), a two-column CSV (pulse number or signed\n"
                  "pulse -1/0/+1, G in S), a CrossSim LUT folder (or dG_increasing.txt), or an\n"
                  "ecramsim HDF5 device file (device pulses / device windows)");
  cmd->add_option("--up", o->up,
                  "Traces CSV of potentiating (set) ramps (repeatable: the k-th --up and --down "
                  "files are device k)");
  cmd->add_option("--down", o->down, "Traces CSV of depressing (reset) ramps (repeatable)");
  cmd->add_option("-m,--model", o->model,
                  "Start card FILE or FILE:NAME (default: models/wox_ysz.model); keys not fitted "
                  "keep its values");
  cmd->add_option("--set", o->overrides.sets, "Override a start-card parameter, key=value")
      ->type_name("KEY=VALUE");
  cmd->add_option("--fit", o->keys,
                  "Keys to fit, comma separated (default: all of " + keyList +
                      "; the _d2d keys need several devices)")
      ->delimiter(',');
  cmd->add_option("-o,--out", o->out, "Result file")->default_str("fit.h5");
  cmd->add_option("--card-out", o->cardOut, "Fitted card (default: FIT.model beside -o)");
  cmd->add_option("--name", o->name, "Name of the fitted card (default: START_fit)");
  cmd->add_option("--plot", o->plot, "PNG overlay (default: FIT.png beside -o)");
  cmd->add_flag("--no-plot", o->noPlot, "No PNG");
  auto& s = o->fit.shape;
  auto* amp = addQuantity(*cmd, "--amplitude", s.amplitude_v, "V",
                          "|Gate voltage| of the data's pulses (default 5; an HDF5 file's own)");
  auto* width = addQuantity(*cmd, "--width", s.width_s, "s", "Pulse width (default 100ms)");
  auto* interval = addQuantity(*cmd, "--interval", s.interval_s, "s",
                               "Gate grounded between pulses (default 100ms)");
  auto* read = addQuantity(*cmd, "--read-v", s.read_v, "V", "Read voltage (default 0.1)");
  cmd->add_option("--objective", o->objective,
                  "ramps: every reading against its ramp simulated from the ramp's start; "
                  "steps: every step against one pulse from the reading before")
      ->check(CLI::IsMember({"ramps", "steps"}))
      ->default_str("ramps");
  cmd->add_flag("--exact", o->exact,
                "Run the device bench for every pulse instead of the per-pulse response table "
                "(slow reference path)");
  cmd->add_option("--max-iterations", o->fit.maxIterations, "Levenberg-Marquardt iterations")
      ->default_val(o->fit.maxIterations)
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--replicates", o->fit.replicates,
                  "Noisy simulations of every ramp for the +-1 sigma band and final-G sigma")
      ->default_val(o->fit.replicates)
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--seed", o->fit.seed, "Seed of the noisy simulations")->default_val(o->fit.seed);
  addCommonFlags(*cmd, o->flags);
  cmd->callback([o, amp, width, interval, read] {
    StderrProgress progress(o->flags.quiet);
    fit::MeasuredData data;
    for (const auto& f : o->data) data.append(fit::readData(f));
    // The k-th --up and the k-th --down file are one device.
    for (std::size_t k = 0; k < std::max(o->up.size(), o->down.size()); ++k) {
      fit::MeasuredData device;
      if (k < o->up.size()) device.append(fit::readTraces(o->up[k], 1));
      if (k < o->down.size()) device.append(fit::readTraces(o->down[k], -1), true);
      data.append(std::move(device));
    }
    if (data.files.empty()) throw InputError({}, "DATA", "no data: give DATA, --up or --down");
    if (data.shape) {
      // An HDF5 device file knows its pulses; flags given on the command line win.
      fit::FitOptions& f = o->fit;
      if (amp->count() == 0) f.shape.amplitude_v = data.shape->amplitude_v;
      if (width->count() == 0) f.shape.width_s = data.shape->width_s;
      if (interval->count() == 0) f.shape.interval_s = data.shape->interval_s;
      if (read->count() == 0) f.shape.read_v = data.shape->read_v;
    }
    const std::string spec = o->model.empty() ? app::defaultCardPath().string() : o->model;
    const ModelCard start = app::resolveCard(spec, o->overrides);
    if (!o->keys.empty()) o->fit.keys = o->keys;
    o->fit.objective = o->objective == "steps" ? fit::Objective::Steps : fit::Objective::Ramps;
    if (o->exact) o->fit.tableNodes = 0;
    o->fit.cardName = o->name;
    o->fit.date = io::isoTimeNow();
    o->fit.commandLine = context().commandLine;
    progress.note("fitting " + std::to_string(data.ramps.size()) + " ramps and " +
                  std::to_string(data.tables.size()) + " tables");
    const fit::FitResult result = fit::fitCard(data, start, o->fit);

    const std::filesystem::path path = o->out;
    std::filesystem::path cardPath = o->cardOut;
    if (cardPath.empty()) cardPath = std::filesystem::path(path).replace_extension(".model");
    std::filesystem::path png = o->plot;
    if (png.empty()) png = std::filesystem::path(path).replace_extension(".png");
    io::OutputFile cardFile(cardPath);
    {
      std::ofstream f(cardFile.temporary(), std::ios::binary);
      f << result.cardText;
      if (!f.flush()) throw IoError(cardPath.string() + ": cannot write");
    }
    io::writeResultFile(result.tree, path,
                        {context().commandLine, o->fit.seed, io::isoTimeNow(),
                         result.ok() ? "complete" : "failed", &globalCancelToken()});
    cardFile.commit();
    if (!o->noPlot) {
      const int rc = runPlotScript("fit.py", {path.string(), png.string()}, o->flags.quiet);
      if (rc != 0) {
        throw IoError("tools/plot/fit.py failed with status " + std::to_string(rc) + "; " +
                      path.string() + " is complete (rerun with --no-plot)");
      }
    }
    if (o->flags.json) {
      printJsonSummary(path, result.tree);
    } else {
      std::printf("fit of %s to %zu ramps, %zu tables (%s):\n", start.name.c_str(),
                  data.ramps.size(), data.tables.size(),
                  result.ok() ? "converged" : result.converged ? "AT BOUND" : "NOT CONVERGED");
      for (const auto& v : result.values) {
        std::printf("  %-7s = %-13.6g +- %-11.3g %s%s\n", v.key.c_str(), v.value, v.stderror,
                    v.unit.c_str(), v.atBound ? "  (at a bound of its range)" : "");
      }
      printMetrics(result.tree);
      std::printf("wrote %s, %s%s\n", path.string().c_str(), cardPath.string().c_str(),
                  o->noPlot ? "" : (" and " + png.string()).c_str());
    }
    for (const auto& d : result.diagnostics) std::fprintf(stderr, "ecramsim: fit: %s\n", d.c_str());
    if (!result.ok()) {
      throw SimulationError(std::string("the fit ") +
                            (result.converged ? "ended with a value at a bound of its range"
                                              : "did not converge") +
                            "; the files are written and marked so");
    }
  });
}

}  // namespace ecramsim::cli

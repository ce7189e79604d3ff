#include "app/cards.hpp"
#include "app/program_job.hpp"
#include "cli/common.hpp"
#include "core/error.hpp"

namespace ecramsim::cli {

void addProgramCommand(CLI::App& app) {
  struct Options {
    std::string target, model, scheme = "pwm", order = "serial";
    std::string start = "reset", out, compensate = "none";
    app::CardOverrides overrides;
    app::ProgramJob job;
    std::vector<double> window;
    ArrayOptions array;
    CommonFlags flags;
  };
  auto o = std::make_shared<Options>();
  o->job.geometry = app::defaultGeometry(0, 0);
  auto* cmd = app.add_subcommand(
      "program",
      "Write a target conductance map (PGM image or CSV) into an array, open loop (count, pwm) "
      "or closed loop (verify), and report accuracy, disturb, pulses, time and energy");
  cmd->add_option("-t,--target", o->target, "Target map: .pgm (P2/P5) or .csv of values in [0, 1]")
      ->required();
  cmd->add_option("-m,--model", o->model, "Model card FILE or FILE:NAME (default: models/wox_ysz.model)");
  cmd->add_option("--set", o->overrides.sets, "Override a card parameter, key=value (repeatable)");
  cmd->add_flag("--no-variation", o->overrides.noVariation, "Switch off c2c and d2d variation");
  cmd->add_option("--scheme", o->scheme,
                  "count: pulses of fixed width, count from the nominal device; pwm: one pulse per "
                  "cell, width from the nominal device; verify: pulse-read-repeat (closed loop)")
      ->check(CLI::IsMember({"count", "pwm", "verify"}))->default_str("pwm");
  cmd->add_option("--order", o->order, "serial (cell by cell, row-major) or row (row-parallel)")
      ->check(CLI::IsMember({"serial", "row"}))->default_str("serial");
  cmd->add_option("--start", o->start, "reset (all states 0 first) or keep (the states as they are)")
      ->check(CLI::IsMember({"reset", "keep"}))->default_str("reset");
  addArrayOptions(*cmd, o->array, o->job.geometry, true, true);
  cmd->add_option("--compensate", o->compensate,
                  "pwm widths for the IR drop and half-select disturb the controller predicts "
                  "(no cell is read). none: widths of the nominal cell at ideal lines. lines: "
                  "every width planned before the first pulse on a model of the lines (ladder "
                  "sums of the channel currents; the same line and driver resistances, the "
                  "nominal card, its belief of the states, the run's phases, the disturb of "
                  "later phases); grounded unselected lines. nodal: each batch's widths scaled "
                  "on a nominal nodal model of the array, three times (slower, no disturb). "
                  "Example: --scheme pwm --order row --compensate lines")
      ->check(CLI::IsMember({"none", "lines", "nodal"}))->default_str("none");
  addQuantity(*cmd, "--amplitude", o->job.config.amplitude_v, "V", "Write amplitude");
  addQuantity(*cmd, "--width", o->job.config.count_width_s, "s", "Pulse width of the count scheme");
  addQuantity(*cmd, "--max-width", o->job.config.max_width_s, "s",
              "Longest PWM pulse, e.g. 200 (under V/2 a 5 V array pulse moves the default "
              "card about 1.2e-3 of its range per 100 ms: device gate-iv, array_step_v2)");
  addQuantity(*cmd, "--tol", o->job.config.verify_tol, "1", "verify: tolerance, fraction of the window");
  addQuantityList(*cmd, "--window", o->window, "S", "Target window low,high (default: gmin,gmax)");
  cmd->add_option("--seed", o->job.seed, "Seed of the random number generator")->default_val(1);
  cmd->add_option("-o,--out", o->out, "HDF5 file to write (default: program.h5)");
  addCommonFlags(*cmd, o->flags);
  cmd->callback([o] {
    StderrProgress progress(o->flags.quiet);
    auto& job = o->job;
    job.target = o->target;
    job.card = app::resolveCard(o->model.empty() ? app::defaultCardPath().string() : o->model, o->overrides);
    job.config.scheme = o->scheme == "count" ? ProgramScheme::Count
                        : o->scheme == "pwm" ? ProgramScheme::Pwm : ProgramScheme::Verify;
    job.config.bias = biasScheme(o->array);
    job.engine = o->array.engine;
    job.write_solver = writeSolverKind(o->array);
    job.threads = o->array.threads;
    job.compensate = o->compensate;
    applyArrayOptions(o->array, job.geometry);
    job.config.order = o->order == "serial" ? PulseOrder::Serial : PulseOrder::RowParallel;
    job.config.reset = o->start == "reset";
    if (!o->window.empty()) {
      if (o->window.size() != 2) throw InputError({}, "--window", "needs two values: low,high");
      job.g_low = o->window[0];
      job.g_high = o->window[1];
    }
    const ResultTree tree = app::runProgramJob(job, progress);
    const std::filesystem::path path = o->out.empty() ? "program.h5" : o->out;
    writeResult(tree, path, job.seed);
    if (o->flags.json) {
      printJsonSummary(path, tree);
    } else {
      std::printf("program %s (%s, %s, %s) on %s:\n", o->target.c_str(), o->scheme.c_str(),
                  o->array.bias.c_str(), o->array.wiring.c_str(), job.card.name.c_str());
      printMetrics(tree);
      std::printf("wrote %s\n", path.string().c_str());
    }
  });
}

}  // namespace ecramsim::cli

#include <memory>

#include "app/cards.hpp"
#include "app/device_job.hpp"
#include "cli/common.hpp"

namespace ecramsim::cli {

namespace {

struct DeviceOptions {
  std::string model;
  std::vector<std::string> cards;
  app::CardOverrides overrides;
  std::uint64_t seed = 1;
  std::string out;
  CommonFlags flags;
  app::DeviceJob job;
  std::string gate = "floating";
};

void addShape(CLI::App& cmd, PulseShape& s, bool width = true, bool interval = true) {
  addQuantity(cmd, "--amplitude", s.amplitude_v, "V", "Gate pulse amplitude; down pulses use -amplitude");
  if (width) addQuantity(cmd, "--width", s.width_s, "s", "Gate pulse width");
  if (interval) addQuantity(cmd, "--interval", s.interval_s, "s", "Time between pulses, gate grounded");
  addQuantity(cmd, "--read-v", s.read_v, "V", "Drain-source voltage of the read after each pulse");
}

void run(DeviceOptions& o) {
  StderrProgress progress(o.flags.quiet);
  o.job.cards.clear();
  if (o.job.protocol == "windows") {
    std::vector<std::string> specs = o.cards;
    if (specs.empty()) {
      for (const auto& p : app::windowCardPaths()) specs.push_back(p.string());
    }
    for (const auto& s : specs) o.job.cards.push_back(app::resolveCard(s, o.overrides));
  } else {
    const std::string spec = o.model.empty() ? app::defaultCardPath().string() : o.model;
    o.job.cards.push_back(app::resolveCard(spec, o.overrides));
  }
  o.job.seed = o.seed;
  o.job.retention.floating = (o.gate == "floating");
  const ResultTree tree = app::runDeviceJob(o.job, progress);
  std::string stem = "device_" + o.job.protocol;
  for (char& c : stem) c = (c == '-') ? '_' : c;
  const std::filesystem::path path = o.out.empty() ? stem + ".h5" : o.out;
  writeResult(tree, path, o.seed);
  if (o.flags.json) {
    printJsonSummary(path, tree);
  } else {
    std::printf("%s on %s:\n", o.job.protocol.c_str(), o.job.cards.front().name.c_str());
    printMetrics(tree);
    std::printf("wrote %s\n", path.string().c_str());
  }
}

}  // namespace

void addDeviceCommand(CLI::App& app) {
  auto* device = app.add_subcommand(
      "device", "Pulse protocols on one ECRAM cell (paper Fig. 1c, 2a-d); one HDF5 file each");
  // Not require_subcommand: CLI11 would then say only "A subcommand is required". An unknown
  // protocol is reported by CLI11 as an unexpected argument, naming it; a missing one here.
  device->callback([device] {
    if (!device->get_subcommands().empty()) return;
    std::string names;
    for (const auto& n : app::deviceProtocols()) names += (names.empty() ? "" : ", ") + n;
    throw InputError({}, "PROTOCOL", "missing; one of: " + names);
  });
  auto opts = std::make_shared<DeviceOptions>();

  auto protocol = [&](const std::string& name, const std::string& help) {
    auto* cmd = device->add_subcommand(name, help);
    auto* o = opts.get();
    if (name != "windows") {
      cmd->add_option("-m,--model", o->model,
                      "Model card FILE or FILE:NAME (default: models/wox_ysz.model)");
    } else {
      cmd->add_option("--cards", o->cards,
                      "Model cards FILE[:NAME], one per window (default: models/windows/*.model)");
    }
    cmd->add_option("--set", o->overrides.sets, "Override a card parameter, key=value (repeatable)")
        ->type_name("KEY=VALUE");
    cmd->add_flag("--no-variation", o->overrides.noVariation,
                  "Switch off cycle-to-cycle and device-to-device variation");
    cmd->add_option("--seed", o->seed, "Seed of the random number generator")->default_val(1);
    cmd->add_option("-o,--out", o->out, "HDF5 file to write (default: device_<protocol>.h5)");
    addCommonFlags(*cmd, o->flags);
    cmd->callback([opts, name] {  // the callbacks own the options
      opts->job.protocol = name;
      run(*opts);
    });
    return cmd;
  };

  auto& j = opts->job;
  auto* pulses = protocol("pulses", "Cycles of n up then n down pulses (paper Fig. 1c)");
  pulses->add_option("--counts", j.pulses.counts, "Pulses per branch, comma-separated")
      ->delimiter(',')->default_str("20,25,30,35");
  pulses->add_option("--repeats", j.pulses.repeats, "Times the list of cycles is run")->default_val(1);
  addQuantity(*pulses, "--x-start", j.pulses.x_start, "1", "Normalized state before the first pulse");
  addShape(*pulses, j.pulses.shape);

  auto* windows = protocol("windows", "100 up then 100 down pulses on each window card (Fig. 2a)");
  windows->add_option("--pulses", j.windows.pulses, "Pulses per branch")->default_val(100);
  addShape(*windows, j.windows.shape);

  auto* uni = protocol("uniformity", "Devices drawn with d2d spread, cycled (paper Fig. 2b)");
  uni->add_option("--devices", j.uniformity.devices, "Number of devices")->default_val(10);
  uni->add_option("--cycles", j.uniformity.cycles, "Up/down cycles per device")->default_val(5);
  uni->add_option("--pulses", j.uniformity.pulses, "Pulses per branch")->default_val(100);
  addShape(*uni, j.uniformity.shape);

  auto* states = protocol("states", "Monotonically potentiated states with read I-V sweeps (Fig. 2c)");
  states->add_option("--states", j.states.states, "Number of states")->default_val(256);
  addQuantity(*states, "--width", j.states.shape.width_s, "s",
              "Pulse width per state; 0 chooses it so the states span ~98% of the window");
  addQuantity(*states, "--iv-max", j.states.iv_max_v, "V", "Read I-V sweep from -iv-max to +iv-max");
  states->add_option("--iv-points", j.states.iv_points, "Points of the read I-V sweep")->default_val(21);
  addShape(*states, j.states.shape, false);

  auto* ret = protocol("retention", "States held with the gate floating or grounded (Fig. 2d)");
  ret->add_option("--states", j.retention.states, "Number of states")->default_val(20);
  addQuantity(*ret, "--hold", j.retention.hold_s, "s", "Hold time");
  ret->add_option("--samples", j.retention.samples, "Log-spaced reads over the hold")->default_val(40);
  ret->add_option("--gate", opts->gate, "Gate during the hold")
      ->check(CLI::IsMember({"floating", "grounded"}))->default_str("floating");
  addShape(*ret, j.retention.shape);

  auto* pwm = protocol("pwm", "Single up and down pulses of several widths from one state");
  addQuantityList(*pwm, "--widths", j.pwm.widths_s, "s", "Pulse widths");
  addQuantity(*pwm, "--x-start", j.pwm.x_start, "1", "Normalized state before each pulse");
  addShape(*pwm, j.pwm.shape, false);

  auto* giv = protocol("gate-iv", "Gate current against voltage; update-rate ratios V:V/2, V:V/3");
  addQuantity(*giv, "--v-max", j.gateIv.v_max, "V", "Sweep from -v-max to +v-max");
  giv->add_option("--points", j.gateIv.points, "Points of the sweep")->default_val(241);
  addQuantity(*giv, "--v-program", j.gateIv.v_program, "V",
              "The V of the rate ratios and of the array figures (selectivity_v2, _v3: the "
              "selected cell's rate over the largest other cell's, ideal lines; array_step_v2, "
              "_v3: its step in one pulse; _two_point: the same with the two-point gate)");
  addQuantity(*giv, "--width", j.gateIv.width_s, "s",
              "Pulse width of the array_step and bench_step figures, e.g. 0.1");
}

}  // namespace ecramsim::cli

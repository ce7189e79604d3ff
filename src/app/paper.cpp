#include "app/paper.hpp"

#include <algorithm>
#include <fstream>
#include <functional>
#include <stdexcept>

#include "app/array_engine.hpp"
#include "app/array_experiment.hpp"
#include "app/cards.hpp"
#include "app/device_job.hpp"
#include "app/program_job.hpp"
#include "app/train_job.hpp"
#include "app/vmm_job.hpp"
#include "app/wirings.hpp"
#include "core/error.hpp"
#include "core/input_file.hpp"
#include "io/hdf5.hpp"
#include "io/output_file.hpp"

namespace ecramsim::app {

namespace {

/// The device experiments of the paper (Fig. 1c, 2a-d) as device jobs.
std::vector<DeviceJob> deviceExperiments(std::uint64_t seed) {
  const ModelCard card = resolveCard(defaultCardPath().string(), {});
  const ModelCard card150 =
      resolveCard((projectRoot() / "models" / "wox_ysz_150ms.model").string(), {});
  std::vector<DeviceJob> jobs;
  auto job = [&](const std::string& protocol, const ModelCard& c) {
    DeviceJob j;
    j.protocol = protocol;
    j.cards = {c};
    j.seed = seed;
    return j;
  };
  jobs.push_back(job("pulses", card150));  // Fig. 1c: 20/25/30/35-pulse cycles at 150 ms
  DeviceJob windows = job("windows", card);
  windows.cards.clear();
  for (const auto& path : windowCardPaths()) windows.cards.push_back(resolveCard(path.string(), {}));
  jobs.push_back(windows);                 // Fig. 2a
  jobs.push_back(job("uniformity", card));  // Fig. 2b
  jobs.push_back(job("states", card));      // Fig. 2c
  jobs.push_back(job("retention", card));   // Fig. 2d
  jobs.push_back(job("pwm", card));
  jobs.push_back(job("gate-iv", card));
  return jobs;
}

std::string fileStem(const std::string& protocol) {
  std::string s = "device_" + protocol;
  for (char& c : s) c = (c == '-') ? '_' : c;
  return s;
}

/// One result file of the paper run: its stem and the job that fills it.
struct Experiment {
  std::string stem;
  std::function<ResultTree()> run;
};

/// Issue 5 / Fig. 1d-e: the five shipped patterns written open loop (pwm serial, count
/// row-parallel) and closed loop (verify), with variation and line resistance, in one file.
ResultTree programPatterns(std::uint64_t seed, const std::string& engine) {
  ResultTree out;
  const ModelCard card = resolveCard(defaultCardPath().string(), {});
  for (const auto& pattern : shippedPatterns()) {
    for (const auto& s : patternSchemes()) {
      globalCancelToken().throwIfCancelled();
      ProgramJob job;
      job.target = projectRoot() / "data" / "patterns" / (pattern + ".pgm");
      job.card = card;
      job.geometry = defaultGeometry(0, 0);
      job.config.scheme = s.scheme;
      job.config.order = s.order;
      job.seed = seed;
      job.engine = engine;
      NullProgress quiet;
      const ResultTree one = runProgramJob(job, quiet);
      const std::string group = "/" + pattern + "/" + s.name;
      for (const auto& [path, d] : one.datasets()) {
        if (path.rfind("/maps/", 0) == 0) out.dataset(group + path.substr(5), d);
      }
      for (const auto& m : one.metrics()) {
        out.metric(pattern + "/" + s.name + "/" + m.name, m.value, m.unit, m.description);
      }
    }
  }
  recordCard(card, "/config/model", out);
  out.attribute("/config", "schemes", std::string("pwm: serial; count: row-parallel; verify: serial"));
  return out;
}

/// The members of a JSON object as (key text with its quotes, value text), in order. The object
/// is one metricsJson() wrote: keys without escapes, values numbers or objects.
std::vector<std::pair<std::string, std::string>> topLevelMembers(const std::string& json,
                                                                 const std::string& where) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = json.find('{');
  if (i == std::string::npos) throw InputError({where, 0}, "summary.json", "not a JSON object");
  ++i;
  while (true) {
    const std::size_t k0 = json.find('"', i);
    if (k0 == std::string::npos) break;
    const std::size_t k1 = json.find('"', k0 + 1);
    const std::size_t colon = json.find(':', k1 == std::string::npos ? k0 : k1);
    if (k1 == std::string::npos || colon == std::string::npos) {
      throw InputError({where, 0}, "summary.json", "malformed member");
    }
    std::size_t j = colon + 1;
    int depth = 0;
    bool inString = false;
    for (; j < json.size(); ++j) {
      const char c = json[j];
      if (c == '"') inString = !inString;
      if (inString) continue;
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (depth == 0) break;  // the end of the enclosing object
        --depth;
      }
      if (c == ',' && depth == 0) break;
    }
    if (j >= json.size()) throw InputError({where, 0}, "summary.json", "unterminated object");
    std::string value = json.substr(colon + 1, j - colon - 1);
    value.erase(0, value.find_first_not_of(" \n"));
    value.erase(value.find_last_not_of(" \n") + 1);
    out.emplace_back(json.substr(k0, k1 - k0 + 1), value);
    if (json[j] == '}') break;
    i = j + 1;
  }
  return out;
}

/// `existing` with the members of `update` put in (replacing those of the same key).
std::string mergeSummary(const std::string& existing, const std::string& update,
                         const std::string& where) {
  auto members = topLevelMembers(existing, where);
  for (const auto& [key, value] : topLevelMembers(update, "metrics")) {
    const auto it = std::find_if(members.begin(), members.end(),
                                 [&](const auto& m) { return m.first == key; });
    if (it != members.end()) it->second = value;
    else members.emplace_back(key, value);
  }
  std::string out = "{";
  for (std::size_t k = 0; k < members.size(); ++k) {
    out += (k ? ", " : "") + members[k].first + ": " + members[k].second;
  }
  return out + "}";
}

}  // namespace

PaperResult runPaper(const PaperConfig& cfg, Progress& progress) {
  checkEngine(cfg.engine);
  if (!cfg.trainer) throw std::invalid_argument("runPaper: no network trainer given");
  if (!cfg.vgg8) throw std::invalid_argument("runPaper: no VGG-8 run given");
  std::vector<Experiment> experiments;
  for (const auto& job : deviceExperiments(cfg.seed)) {
    experiments.push_back({fileStem(job.protocol), [job] {
                             NullProgress quiet;
                             return runDeviceJob(job, quiet);
                           }});
  }
  experiments.push_back({"program_patterns", [&] { return programPatterns(cfg.seed, cfg.engine); }});
  // Issue 3, part 7: one pulse on cell (5,5) of the 10x10 array under V/2 and V/3, co-simulated.
  experiments.push_back({"array_program", [&] {
                           ArrayExperimentConfig array;
                           array.seed = cfg.seed;
                           NullProgress quiet;
                           return runArrayExperiment(array, quiet);
                         }});
  // Issue 6: the two-layer mushroom classifier trained in situ (default card, variation and
  // line resistance) beside its software baseline; train_mushroom.h5, "train_mushroom/" metrics.
  experiments.push_back({"train_mushroom", [&] {
                           TrainJob job = defaultTrainJob();
                           job.card = resolveCard(defaultCardPath().string(), {});
                           job.ideal = true;
                           job.seed = cfg.seed;
                           job.engine = cfg.engine;
                           // The reduced write model stands in for the nodal write solve only.
                           if (job.engine == "spice") {
                             job.config.write_model = train::WriteModel::Circuit;
                           }
                           NullProgress quiet;
                           return runTrainJob(job, cfg.trainer, quiet);
                         }});

  // Issue 4: Fig. 2e-g, the multiplication map and 1000 random vectors through the 10x10 array
  // (default card with its variation, shipped line resistance); vmm.h5, "vmm/" metrics.
  experiments.push_back({"vmm", [&] {
                           VmmJob job;
                           job.card = resolveCard(defaultCardPath().string(), {});
                           job.geometry = defaultGeometry(10, 10);
                           job.seed = cfg.seed;
                           job.engine = cfg.engine;
                           NullProgress quiet;
                           return runVmmJob(job, quiet);
                         }});

  // Issue 14: a short VGG-8 run on ECRAM tiles beside its software baseline (width 0.125, 2,000
  // Fashion-MNIST samples, one epoch; always the nodal engine); train_vgg8.h5.
  experiments.push_back({"train_vgg8", [&] { return cfg.vgg8(cfg.seed); }});

  // Issue 13: the wirings of the array side by side; wirings.h5, "wirings/" metrics.
  experiments.push_back({"wirings", [&] {
                           NullProgress quiet;
                           return compareWirings({cfg.seed, cfg.engine}, quiet);
                         }});
  if (!cfg.only.empty()) {
    std::vector<Experiment> chosen;
    for (const auto& stem : cfg.only) {
      const auto it = std::find_if(experiments.begin(), experiments.end(),
                                   [&](const Experiment& e) { return e.stem == stem; });
      if (it == experiments.end()) {
        std::string known;
        for (const auto& e : experiments) known += (known.empty() ? "" : ", ") + e.stem;
        throw InputError({}, "--only", "unknown experiment '" + echoToken(stem) + "' (" + known + ")");
      }
      chosen.push_back(*it);
    }
    experiments = chosen;
  }
  std::error_code ec;
  std::filesystem::create_directories(cfg.outDir, ec);
  if (ec) throw IoError(cfg.outDir.string() + ": cannot create the results folder: " + ec.message());

  PaperResult result;
  std::size_t done = 0;
  for (const auto& e : experiments) {
    globalCancelToken().throwIfCancelled();
    const ResultTree tree = e.run();
    const auto path = cfg.outDir / (e.stem + ".h5");
    io::writeResultFile(tree, path, {cfg.commandLine, cfg.seed, io::isoTimeNow(), "complete",
                                     &globalCancelToken()});
    result.files.push_back(path);
    for (const auto& m : tree.metrics()) {
      result.summary.metric(e.stem + "/" + m.name, m.value, m.unit, m.description);
    }
    progress.update("paper", ++done, experiments.size());
    progress.note("wrote " + path.string());
  }
  const auto summaryPath = cfg.outDir / "summary.json";
  std::string summary = result.summary.metricsJson();
  if (!cfg.only.empty() && std::filesystem::exists(summaryPath)) {
    summary = mergeSummary(readInputFile(summaryPath, "--out", "paper summary"), summary,
                           summaryPath.string());
  }
  io::writeTextFile(summaryPath, summary + "\n");
  return result;
}

}  // namespace ecramsim::app

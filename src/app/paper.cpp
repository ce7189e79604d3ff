#include "app/paper.hpp"

#include <fstream>

#include "app/cards.hpp"
#include "app/device_job.hpp"
#include "core/error.hpp"
#include "io/hdf5.hpp"

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

}  // namespace

PaperResult runPaper(const PaperConfig& cfg, Progress& progress) {
  std::error_code ec;
  std::filesystem::create_directories(cfg.outDir, ec);
  if (ec) throw IoError(cfg.outDir.string() + ": cannot create the results folder: " + ec.message());
  PaperResult result;
  const auto jobs = deviceExperiments(cfg.seed);
  std::size_t done = 0;
  for (const auto& job : jobs) {
    globalCancelToken().throwIfCancelled();
    const std::string stem = fileStem(job.protocol);
    NullProgress quiet;
    const ResultTree tree = runDeviceJob(job, quiet);
    const auto path = cfg.outDir / (stem + ".h5");
    io::writeResultFile(tree, path, {cfg.commandLine, cfg.seed, io::isoTimeNow(), "complete"});
    result.files.push_back(path);
    for (const auto& m : tree.metrics()) {
      result.summary.metric(stem + "/" + m.name, m.value, m.unit, m.description);
    }
    progress.update("paper", ++done, jobs.size());
    progress.note("wrote " + path.string());
  }
  const auto summaryPath = cfg.outDir / "summary.json";
  {
    std::ofstream out(summaryPath.string() + ".tmp");
    out << result.summary.metricsJson() << "\n";
    if (!out) throw IoError(summaryPath.string() + ": cannot write");
  }
  std::filesystem::rename(summaryPath.string() + ".tmp", summaryPath, ec);
  if (ec) throw IoError(summaryPath.string() + ": cannot write: " + ec.message());
  return result;
}

}  // namespace ecramsim::app

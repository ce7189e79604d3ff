#pragma once
/// `ecramsim paper`: the seed paper's experiments on the shipped cards and arrays, one HDF5
/// file each, and a summary of every metric. Plots are made from the files by tools/plot/.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "app/train_job.hpp"
#include "core/progress.hpp"
#include "core/result.hpp"

namespace ecramsim::app {

struct PaperConfig {
  std::filesystem::path outDir;  ///< created if missing
  std::uint64_t seed = 1;
  std::string commandLine;       ///< recorded in every file
  /// Array engine of the programming, VMM and training experiments ("nodal" or "spice");
  /// array_program is a co-simulation of the shipped netlists either way.
  std::string engine = "nodal";
  /// When not empty: run only the experiments with these file stems (e.g. "wirings"), and merge
  /// their metrics into an existing summary.json (the other stems' entries are kept).
  std::vector<std::string> only;
  /// Trains the networks of train_mushroom: the network engine's (nn::trainMushroomNetwork;
  /// src/app/ does not link libtorch, so the caller passes it in). Required.
  NetworkTrainer trainer;
  /// Runs the short VGG-8 study of train_vgg8 (nn::paperVgg8: libtorch, passed in as `trainer`)
  /// from a seed. Required.
  std::function<ResultTree(std::uint64_t seed)> vgg8;
};

struct PaperResult {
  std::vector<std::filesystem::path> files;  ///< HDF5 files written, in order
  ResultTree summary;                        ///< every file's metrics, under the file's stem
};

/// Runs every experiment (or those of cfg.only; InputError naming --only for an unknown stem),
/// writing each file as soon as it is complete (an interruption keeps the finished ones), then
/// summary.json. Throws on the first failure.
[[nodiscard]] PaperResult runPaper(const PaperConfig& cfg, Progress& progress);

}  // namespace ecramsim::app

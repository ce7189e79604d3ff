#pragma once
/// `ecramsim train mushroom`: the two-layer mushroom classifier trained in situ on simulated
/// ECRAM arrays (issue 6), with an optional software baseline of the same network. This part
/// owns the data, the splits and the result file; the network engine (src/nn/, libtorch, which
/// src/app/ does not link) trains the network of each split: nn::runMushroomJob puts them
/// together.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "array/geometry.hpp"
#include "control/train.hpp"
#include "core/progress.hpp"
#include "core/result.hpp"
#include "modelcard/modelcard.hpp"

namespace ecramsim::app {

/// The 23 columns data/mushroom.csv must have ("class" first; UCI names).
[[nodiscard]] const std::vector<std::string>& mushroomColumns();

/// The mushroom table encoded for training: one-hot inputs (117 for the UCI file), labels
/// 0 = edible, 1 = poisonous. InputError naming file and line for an empty or malformed file,
/// a missing column, or an unknown class label.
struct EncodedData {
  train::Samples all;
  std::vector<std::string> featureNames;
  std::vector<std::string> classNames;
};
[[nodiscard]] EncodedData loadMushroom(const std::filesystem::path& csv);

struct TrainJob {
  std::string dataset = "mushroom";
  std::filesystem::path data;  ///< empty: data/mushroom.csv under projectRoot()
  ModelCard card;
  CrossbarGeometry geometry;     ///< line and driver resistances; rows/cols come from the tiles
  std::string engine = "nodal";  ///< "nodal" or "spice" (app/array_engine.hpp)
  train::TrainConfig config;
  double test_fraction = 0.2;  ///< of a stratified split
  int folds = 0;               ///< >= 2: stratified k-fold cross-validation instead
  bool ideal = false;          ///< also train the software baseline
  std::uint64_t seed = 1;
};

/// The default settings of `ecramsim train mushroom` (see train_job.cpp for why).
[[nodiscard]] TrainJob defaultTrainJob();

/// Trains the network of one split: on the job's ECRAM tiles, or with `ideal` the same network,
/// initial weights and data order in floating point; `rng` seeds both alike
/// (nn::trainMushroomNetwork).
using NetworkTrainer = std::function<train::TrainResult(
    const train::Samples& train, const train::Samples& test, const TrainJob& job, bool ideal,
    Rng& rng, Progress& progress)>;

/// Runs the job, each split's network trained by `trainer`: /training (learning curve),
/// /devices (conductance maps and histograms before and after, pulses per cell),
/// /ideal/training with --ideal, /folds with --folds, /config (card, settings), /profile (wall
/// times, attributes only), /metrics.
[[nodiscard]] ResultTree runTrainJob(const TrainJob& job, const NetworkTrainer& trainer,
                                     Progress& progress);

}  // namespace ecramsim::app

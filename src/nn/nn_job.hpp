#pragma once
/// `ecramsim train mlp|vgg8`: image classifiers trained with plain SGD (issue 14). The module
/// src/nn/ is the only one that includes libtorch (digital layers, autograd, loss); this header
/// is torch-free so that the CLI and other modules compile without it.
///
/// Networks (NeuroSim's VGG-8 and a multilayer perceptron):
///  - vgg8: conv 128-128-pool-256-256-pool-512-512-pool, FC 1024, FC classes, every layer's
///    width times `width` (rounded, at least 1), 3 x 3 convolutions with padding 1, ReLU, and
///    batch normalization after each convolution when `batchnorm` (plain SGD does not train the
///    network without it; see README);
///  - mlp: fully connected layers of the sizes `layers` (input first, classes last), ReLU between.
/// Pixels are scaled to [0, 1] and standardized with the training split's mean and standard
/// deviation per channel (a digital preprocessing step of the periphery).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "array/geometry.hpp"
#include "control/train.hpp"
#include "core/progress.hpp"
#include "core/result.hpp"
#include "device/params.hpp"

namespace ecramsim::nn {

/// The converters and noise of a layer's read periphery; 0 switches each off.
///  - dac_bits: every input is rounded to one of 2^(b-1) - 1 levels per sign over the batch's
///    largest |input| (a DAC whose range follows the layer's activations);
///  - read_noise: Gaussian noise on every output, sigma = read_noise times the batch's largest
///    |output| (thermal and shot noise of the column currents, lumped);
///  - adc_bits: every output (after the noise) rounded to 2^(b-1) - 1 levels per sign over the
///    batch's largest |output|.
/// The backward pass (the transposed read) is taken without them.
struct Periphery {
  int dac_bits = 0;
  int adc_bits = 0;
  double read_noise = 0.0;
};

/// Where the weights of the analog layers live and how they are written (ideal = false): as
/// `train mushroom` does it (control/train.hpp), per layer.
struct AnalogConfig {
  std::string card;              ///< the card's name, for the record
  EcramParams params;            ///< the card, variation included
  CrossbarGeometry geometry;     ///< line and driver resistances; rows and cols set per tile
  std::string engine = "nodal";  ///< array engine (app/array_engine.hpp)
  Eigen::Index tile_rows = 128;  ///< cells; a layer is cut into tiles of at most this size
  Eigen::Index tile_cols = 128;
  train::PairMapping map;        ///< w_scale, read_v (gmin, gmax: the card's)
  train::PulsePolicy pulses;     ///< amplitude, width, cap, dead band, bias scheme
  double init_spread = 0.05;     ///< 1, cells start at x = 0.5 +- this (uniform)
  int threads = 2;               ///< tiles read and written at once
  /// How the pulses move the cells: the pulse-factor model (array/factor_write.hpp) or the
  /// reduced write model (array/reduced_write.hpp) of each tile, refreshed every
  /// refresh_batches batches, or a circuit solve of every phase.
  train::WriteModel write_model = train::WriteModel::Factors;
  int refresh_batches = 1;
  /// Batches between reads of the tiles' effective weights (DifferentialLayer::useReadRefresh);
  /// 0: every input vector through the tiles (the exact path, far slower).
  int read_refresh = 50;
  Periphery periphery;  ///< DAC, ADC and read noise (nn/analog.hpp); default: off
};

struct NnJob {
  std::string network = "vgg8";         ///< "vgg8" or "mlp"
  std::vector<int> layers;              ///< mlp: sizes, input first and classes last
  double width = 0.25;                  ///< vgg8: channel multiplier
  bool batchnorm = true;                ///< vgg8: batch normalization after each convolution
  std::string dataset = "fashion-mnist";  ///< "fashion-mnist", "mnist" (IDX) or "cifar10"
  std::filesystem::path data;           ///< directory; empty: Debian's Fashion-MNIST
  std::size_t subset = 0;               ///< training samples used (the first N), 0: all
  std::size_t test_subset = 0;          ///< test samples used, 0: all
  int epochs = 5;
  int batch = 32;
  double learning_rate = 0.05;          ///< of plain SGD (no momentum, no weight decay)
  std::uint64_t seed = 1;               ///< initial weights and data order
  int threads = 0;                      ///< intra-op threads of libtorch, 0: the cores
  bool ideal = false;                   ///< floating-point weights (the baseline)
  AnalogConfig analog;                  ///< with ideal = false
  /// A file of an earlier run of the same job (an interrupted one, or one with fewer epochs):
  /// training continues after its last completed epoch from its saved state (/state: the
  /// network's parameters; /resume, analog runs: every tile's cells, the controller's belief,
  /// the random streams, the write model's refresh state and warm starts, the totals), and the
  /// result is the run an uninterrupted job would have made (data order per epoch depends on
  /// the seed and the epoch only; bit for bit with one thread). Analog runs resume with the
  /// factors or reduced write model (InputError for circuit writes).
  std::filesystem::path resume;
};

/// What a run produced: the result tree holds every completed epoch; `interrupted` when a
/// cancellation stopped it before the last epoch (the tree is then still complete up to there).
struct NnRun {
  ResultTree tree;
  bool interrupted = false;
};

/// The analog settings `train mlp|vgg8` start from: `train mushroom`'s array (shipped lines),
/// mapping and pulse defaults (app/train_job.cpp), the default card.
[[nodiscard]] AnalogConfig defaultAnalogConfig();

/// `ecramsim paper`'s short VGG-8 run (minutes): width 0.125, the first 2,000 Fashion-MNIST
/// training and 1,000 test samples, one epoch, on the default card's 128 x 128 tiles (nodal
/// engine, pulse-factor write model) and, from the same seed, with --ideal. The analog run's
/// tree, with the ideal run's learning curve under /ideal and its final test accuracy as metric
/// ideal_test_accuracy. InputError when the data set is missing.
[[nodiscard]] ResultTree paperVgg8(std::uint64_t seed, Progress& progress);

/// Trains the network; the tree ends with /state (every parameter and buffer after the last
/// completed epoch, float32 values as float64, shapes as the layers hold them) and, for analog
/// weights, /resume (the rest of the state after that epoch; an interrupted run's tiles are put
/// back to it, so /layers describes them there too). InputError for a job the engine cannot
/// run (unknown network or data set, layer sizes that do not match the data, non-positive
/// sizes, a --resume file of another job), and from the data readers (io/image_data.hpp).
/// Progress per batch; `cancel` is checked between batches.
[[nodiscard]] NnRun runNnJob(const NnJob& job, Progress& progress, const CancelToken& cancel);

}  // namespace ecramsim::nn

#pragma once
/// `ecramsim train mushroom` on the network engine: the 117 -> H -> 2 classifier (tanh or ReLU
/// hidden layer) as a libtorch network whose two weight matrices are analog layers
/// (nn/analog.hpp) on the tiles, mapping, pulse policy and write model of the job, trained with
/// plain SGD on the mean cross-entropy by the step every network of the engine takes
/// (nn/engine.hpp). The periphery (activations, softmax cross-entropy, autograd) runs in float64.
/// app/train_job.hpp owns the data, the splits and the result file; this header is torch-free.

#include "app/train_job.hpp"

namespace ecramsim::nn {

/// Trains the network of one split (an app::NetworkTrainer). The random streams are split off
/// `rng` in a fixed order (initial states, data order, tiles), so that the ECRAM run and its
/// ideal twin start from the same weights (the ideal weights are the nominal weights of the
/// same initial states, w = w_scale (x+ - x-)) and see the batches in the same order:
///  - initial states: layer 1 then layer 2, each (inputs + 1) x 2 outputs row by row,
///    0.5 + uniform(-init_spread, init_spread);
///  - data order: a Fisher-Yates shuffle of the training rows per epoch;
///  - tiles: layer 1's then layer 2's (each tile two streams, DifferentialLayer).
/// The learning curve starts with epoch 0 (the untrained network); loss and accuracies are
/// taken over the whole training and test sets after each epoch, in slices of 2048 rows.
/// Checks globalCancelToken between batches.
[[nodiscard]] train::TrainResult trainMushroomNetwork(const train::Samples& train,
                                                      const train::Samples& test,
                                                      const app::TrainJob& job, bool ideal,
                                                      Rng& rng, Progress& progress);

/// `train mushroom`: app::runTrainJob with the network engine.
[[nodiscard]] ResultTree runMushroomJob(const app::TrainJob& job, Progress& progress);

}  // namespace ecramsim::nn

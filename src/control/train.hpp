#pragma once
/// The analog weights of in-situ training on ECRAM arrays (DESIGN.md section 6), written
/// against ArrayBackend so that any engine can carry it; the networks that use them are those of
/// the network engine (src/nn/: `train mushroom`, `train mlp`, `train vgg8`).
///
/// Mapping. Each weight is a differential pair of cells on the same array, columns 2j (G+) and
/// 2j+1 (G-) of its layer: w = w_scale (G+ - G-) / (gmax - gmin), with the card's nominal gmin
/// and gmax. A layer with n inputs and m outputs is an (n + 1) x 2m cell matrix (the last row is
/// the bias, driven at the read voltage), cut into tiles of at most tile_rows x tile_cols cells
/// (tile_cols rounded down to even so that a pair never straddles two arrays). A forward pass
/// drives row i of every tile at read_v * a_i (a: one-hot inputs, or hidden activations in
/// (-1, 1); the channel is linear, so negative read voltages are fine), senses the column
/// currents, and the periphery forms y_j = (I_2j - I_2j+1) w_scale / (read_v (gmax - gmin)),
/// adding the partial sums of the tiles stacked along the rows.
///
/// Periphery. Activations, softmax cross-entropy and backpropagation are the network engine's
/// (libtorch autograd, src/nn/). The error is carried back through a layer's effective weights
/// (effectiveWeights: its tiles' R unit inputs read through them; their transpose is the
/// transposed read of the same reciprocal network).
///
/// Updates (open loop). SGD gives dW = -lr dL/dW per batch. Each weight's change is split
/// between its pair: the G+ cell is asked to move by +dw / (2 w_scale) in state and the G- cell
/// by -dw / (2 w_scale). The controller keeps its own belief of every cell's state (it never
/// reads a cell back) and converts the requested state change into a count of identical pulses
/// (amplitude, width) from the nominal device's response to one pulse at the believed state:
/// the card without variation, integrated (advanceHeld) at the selected cell's terminal voltages
/// of the bias scheme (biasLevels: in the V/2 scheme gate-source V/2 and gate-drain V), with no
/// line resistance. Rounding of pulse counts: stochastic. r = |requested| / |nominal step| is
/// rounded to floor(r) + 1 with probability r - floor(r), else floor(r), so the expected change
/// equals the requested one however small (deterministic rounding would freeze every weight
/// whose update is below half a pulse, which late in training is nearly all of them). Then the
/// count is capped at max_pulses per cell and step, and requests with r below dead_band pulses
/// are skipped (no pulse, no write phase for a row with nothing else to do). The belief then
/// advances by the nominal response of each pulse. Pulses go through ArrayBackend::applyPulses
/// with the bias scheme and PulseOrder::RowParallel: one write phase per row, polarity and pulse
/// index. Why counts and not PWM widths: in a row-parallel phase every distinct width splits
/// the phase into one more write solve, so per-cell PWM costs up to one solve per column, while
/// counts of one common width cost one solve per phase; and a fixed pulse is what the card is
/// calibrated for.
///
/// Write model (how a tile's cells move under the pulses): Circuit applies them through the
/// backend (ArrayBackend::applyPulses: NodalBackend solves the nonlinear write network of every
/// phase); Reduced applies them through the reduced write model of each tile
/// (array/reduced_write.hpp: line IR drop from the channel conductances taken at the last
/// refresh, each cell moved by its own physics at the resulting terminals, c2c noise as the
/// backend draws it), refreshed from the array every refresh_batches updates. Reduced needs a
/// backend that exposes its cells (CellArrayBackend).
///
/// Initialization (a simulation convenience, said so in every result file): both cells of every
/// pair are set with setStates to x = 0.5 plus a uniform offset in +-init_spread, drawn from the
/// run's Rng; the controller's belief starts equal to these states (as after a programming step).

#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "control/backend.hpp"
#include "control/network.hpp"
#include "control/tile_write.hpp"
#include "core/checkpoint.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "device/params.hpp"

namespace ecramsim::train {

/// Creates the array of one tile (rows x cols cells). The backend draws its device variation and
/// cycle-to-cycle noise from `rng`, which outlives it.
using BackendFactory =
    std::function<std::unique_ptr<ArrayBackend>(Eigen::Index rows, Eigen::Index cols, Rng& rng)>;

/// The controller's model of one pulse: the nominal device's state change per pulse against
/// the state, tabulated once (advanceHeld at every grid point) and interpolated linearly.
class PulseResponse {
 public:
  /// `nominal`: the card without variation; the selected cell's terminals come from
  /// biasLevels(scheme, +-amplitude_v). Throws InputError if a pulse does not move the state.
  PulseResponse(const CellParams& nominal, const BiasScheme& scheme, double amplitude_v,
                double width_s, int points = 1025);
  /// 1, state change of one pulse from state x: > 0 for potentiation (up), < 0 for depression.
  [[nodiscard]] double step(double x, bool up) const;

 private:
  std::vector<double> up_, down_;
};

/// Weight <-> conductance mapping of a layer (see the header comment).
struct PairMapping {
  double gmin_s = 2e-6;  ///< S, nominal (card) conductance at x = 0
  double gmax_s = 4e-6;  ///< S, nominal conductance at x = 1
  double w_scale = 1.0;  ///< 1, weight of a pair at G+ - G- = gmax - gmin
  double read_v = 0.1;   ///< V, read voltage of an input of 1

  /// Weight of a pair of conductances.
  [[nodiscard]] double weight(double g_plus_s, double g_minus_s) const {
    return w_scale * (g_plus_s - g_minus_s) / (gmax_s - gmin_s);
  }
  /// Scale from a column-current difference (A) to a weighted sum.
  [[nodiscard]] double currentToOutput() const { return w_scale / (read_v * (gmax_s - gmin_s)); }
};

/// How updates become pulses.
struct PulsePolicy {
  double amplitude_v = 5.0;  ///< V, selected cell's gate-to-drain voltage; sign = direction
  double width_s = 0.1;      ///< s
  int max_pulses = 2;        ///< cap per cell and update step
  double dead_band = 0.1;    ///< pulses: requests below this many pulses are skipped
  BiasScheme scheme;         ///< V/2, unselected lines grounded by default
  /// true: the nominal step at the believed state (the controller knows the soft-bound window);
  /// false: the nominal step at x = 0.5 for every cell, the linear-device assumption of most
  /// in-situ training demonstrations (the belief is still tracked, for the record).
  bool state_aware = true;
};

/// How the pulses of an update move the cells (see the header comment): the circuit, the
/// reduced write model (array/reduced_write.hpp) or the pulse-factor model
/// (array/factor_write.hpp), the last two through DifferentialLayer::useWriteModel.
enum class WriteModel { Circuit, Reduced, Factors };

/// "circuit", "reduced" or "factors".
[[nodiscard]] const char* writeModelName(WriteModel m);
/// Parses "circuit", "reduced" or "factors"; InputError naming --write-model otherwise.
[[nodiscard]] WriteModel parseWriteModel(const std::string& text);

/// Counts of one update (or a sum of updates).
struct UpdateStats {
  long long pulses = 0;       ///< write pulses applied
  long long phases = 0;       ///< row-parallel write phases (one write solve each, at least)
  long long skipped = 0;      ///< nonzero requests below the dead band
  long long capped = 0;       ///< requests cut to max_pulses
  double array_time_s = 0.0;  ///< s, sum of the phase durations
  double energy_j = 0.0;      ///< J, drawn by the write drivers
  /// 1: the summed |state change| of the cells that got no pulse in their update (half-select
  /// disturb, and retention where the card has it)
  double disturb = 0.0;

  UpdateStats& operator+=(const UpdateStats& o);
};

/// One weight matrix ((n + 1) x m, bias row last) as differential pairs in tiles of arrays.
class DifferentialLayer {
 public:
  /// Creates the tiles with `make`; every tile gets two Rng streams split off `rng` (one for the
  /// backend, one for the controller's stochastic rounding), so results do not depend on the
  /// order in which tiles run.
  DifferentialLayer(Eigen::Index rows, Eigen::Index outputs, Eigen::Index tile_rows,
                    Eigen::Index tile_cols, const BackendFactory& make, Rng& rng,
                    const PairMapping& map);
  ~DifferentialLayer();
  DifferentialLayer(DifferentialLayer&&) noexcept;
  DifferentialLayer& operator=(DifferentialLayer&&) noexcept;
  DifferentialLayer(const DifferentialLayer&) = delete;
  DifferentialLayer& operator=(const DifferentialLayer&) = delete;

  [[nodiscard]] Eigen::Index rows() const { return rows_; }
  [[nodiscard]] Eigen::Index outputs() const { return outputs_; }
  [[nodiscard]] std::size_t tileCount() const;

  /// Sets every cell (rows x 2m states; columns 2j, 2j+1 = pair j) and the controller's belief.
  void setStates(const Eigen::MatrixXd& x);
  /// B x m outputs for B x rows inputs (bias column included), through the arrays: every
  /// input vector driven through every tile (read refresh 0), or a x effectiveWeights().
  [[nodiscard]] Eigen::MatrixXd forward(const Eigen::MatrixXd& a);
  /// rows x m: the weights the arrays apply in a read, line drops included (the transposed read
  /// of the same tiles applies their transpose). Read refresh 0: read now through every tile
  /// (its R unit inputs: the tile's transfer matrix). Read refresh K: the exact weights of the
  /// present conductances plus the arrays' correction (read weights - exact weights) taken at
  /// the last read, every K updates; exact (as refresh 0) right after each such read.
  [[nodiscard]] Eigen::MatrixXd effectiveWeights();
  /// Updates between reads of the arrays' effective weights (0: every forward drives the
  /// arrays; the exact path). InputError for a negative value.
  void useReadRefresh(int updates);
  [[nodiscard]] int readRefresh() const { return readRefresh_; }
  /// s (wall): spent reading the arrays' effective weights (arrayWeights), and refreshing the
  /// write model's factors (summed over the tiles), since construction.
  [[nodiscard]] double readSeconds() const { return readSeconds_; }
  [[nodiscard]] double writeRefreshSeconds() const;
  /// rows x m: weights from the model's exact conductances (diagnostics, no cost).
  [[nodiscard]] Eigen::MatrixXd exactWeights() const;
  /// rows x 2m: exact conductances (S) and true states; the controller's believed states.
  [[nodiscard]] Eigen::MatrixXd conductances() const;
  [[nodiscard]] Eigen::MatrixXd states() const;
  [[nodiscard]] Eigen::MatrixXd belief() const;
  /// rows x 2m: pulses applied to each cell since construction.
  [[nodiscard]] Eigen::MatrixXd pulsesPerCell() const;
  /// J: energy drawn from the drivers of every tile so far (pulses and reads).
  [[nodiscard]] double energy() const;

  /// Applies dW (rows x m) as open-loop pulses. `threads` tiles run at once.
  UpdateStats update(const Eigen::MatrixXd& dw, const PulseResponse& response,
                     const PulsePolicy& policy, int threads);

  /// Switches the layer's writes to the write model `make` builds for each tile, its factors
  /// taken from the tile's states at the first update and then every `refresh_batches` updates.
  void useWriteModel(const TileWriteFactory& make, int refresh_batches);

  /// Everything the layer changes while it trains, below `prefix`: per tile the cells' states,
  /// the controller's belief, the pulse counts, the energy so far, both random streams and the
  /// write model's state; the update count and the last read's correction. restore() of it on a
  /// layer built as this one was (same sizes, cards and seed) continues bit for bit. InputError
  /// naming the key for a saved state of another layer.
  void save(Checkpoint& cp, const std::string& prefix) const;
  void restore(const Checkpoint& cp, const std::string& prefix);

  /// Runs f(tile index) for every tile, `threads` at a time.
  void forEachTile(const std::function<void(std::size_t)>& f, int threads) const;
  void setThreads(int threads) { threads_ = threads; }

 private:
  struct Tile;
  /// The layer's rows x 2 outputs map assembled from each tile's block `part(tile)`.
  [[nodiscard]] Eigen::MatrixXd gather(const std::function<Eigen::MatrixXd(const Tile&)>& part) const;
  /// Tile t's outputs (B x its pairs) for read voltages `v` (B x its rows) on its rows.
  [[nodiscard]] Eigen::MatrixXd readTile(Tile& t, const Eigen::MatrixXd& v) const;
  /// rows x m: every tile's R unit inputs read through it.
  [[nodiscard]] Eigen::MatrixXd arrayWeights();

  Eigen::Index rows_, outputs_;
  PairMapping map_;
  std::vector<std::unique_ptr<Tile>> tiles_;
  int threads_ = 1;
  int refreshBatches_ = 0;  ///< 0: circuit writes; else reduced, refreshed every this many updates
  long long updates_ = 0;
  int readRefresh_ = 0;           ///< updates between reads of the effective weights; 0: none
  long long readAt_ = -1;         ///< updates_ at the last read of the effective weights
  Eigen::MatrixXd readCorrection_;  ///< rows x m: read weights - exact weights at that read
  Eigen::MatrixXd weights_;         ///< rows x m: effectiveWeights() until the states change
  bool weightsValid_ = false;
  double readSeconds_ = 0.0;
};

/// Training data as the periphery sees it: one sample per row.
struct Samples {
  Eigen::MatrixXd x;   ///< N x n_in
  std::vector<int> y;  ///< class index per row
};

/// The settings of `train mushroom`'s network (app/train_job.hpp, nn/mushroom.hpp).
struct TrainConfig {
  int hidden = 8;  ///< H
  int classes = 2;
  int epochs = 2;
  int batch = 128;
  double learning_rate = 1.0;
  Activation activation = Activation::Tanh;
  Eigen::Index tile_rows = 128;
  Eigen::Index tile_cols = 128;
  double init_spread = 0.05;  ///< 1, half-width of the uniform state offset around x = 0.5
  int threads = 2;            ///< tiles updated / read at once
  WriteModel write_model = WriteModel::Reduced;
  int refresh_batches = 1;  ///< updates between refreshes of the reduced write model's factors
  PairMapping map;
  PulsePolicy pulses;
};

/// One row of the learning curve; epoch 0 is the untrained network.
struct EpochRecord {
  int epoch = 0;
  double loss = 0.0;  ///< mean cross-entropy over the training set (after the epoch)
  double train_accuracy = 0.0;
  double test_accuracy = 0.0;
  UpdateStats updates;  ///< of this epoch
  double test_loss = 0.0;  ///< mean cross-entropy over the test set (after the epoch)
  double seconds = 0.0;    ///< s, wall time of the epoch with its evaluation
};

/// Wall time spent in each part of a run (s); not part of the results' numbers.
struct Profile {
  double forward_s = 0.0;   ///< VMMs of the batches (both layers)
  double backward_s = 0.0;  ///< autograd: transposed reads of the weights, dW
  double update_s = 0.0;    ///< the pulses: write solves and state integration
  double evaluate_s = 0.0;  ///< accuracy of the whole training and test sets per epoch
  double total_s = 0.0;
};

struct TrainResult {
  std::vector<EpochRecord> epochs;
  UpdateStats totals;
  /// Per layer (0: hidden, 1: output): cells' exact conductances before and after (S), pulses
  /// per cell, final true and believed states.
  std::vector<Eigen::MatrixXd> g_before_s, g_after_s, pulses_per_cell, x_after, x_belief;
  std::vector<Eigen::MatrixXd> w_after;  ///< exact weights after training, per layer
  double energy_j = 0.0;                 ///< J, every driver of every tile: pulses and reads
  double array_time_s = 0.0;             ///< s, pulses (phase durations) and reads
  long long reads = 0;                   ///< input vectors applied
  std::vector<std::size_t> tiles;        ///< tiles per layer
  Profile profile;
  std::string network;                   ///< the layers in order, as the engine built them
};

/// Throws InputError naming the option for an out-of-range setting.
void validate(const TrainConfig& cfg);

}  // namespace ecramsim::train

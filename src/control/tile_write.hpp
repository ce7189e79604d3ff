#pragma once
/// A tile's writes without the backend's circuit solve: the seam between the training loop
/// (control/train.hpp) and a reduced write model (array/reduced_write.hpp implements it), so
/// that control stays free of the array module.

#include <Eigen/Core>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "control/backend.hpp"
#include "core/checkpoint.hpp"
#include "core/rng.hpp"

namespace ecramsim {

/// What applying a batch of pulses through a TileWriteModel cost.
struct TileWriteOutcome {
  double duration_s = 0.0;  ///< s, sum of the phases' longest widths
  double energy_j = 0.0;    ///< J, drawn from the drivers
};

class TileWriteModel {
 public:
  virtual ~TileWriteModel() = default;
  /// Takes the model's factors from the tile's states `x` (R x C).
  virtual void refresh(const Eigen::MatrixXd& x) = 0;
  /// Applies `pulses` row-parallel under `scheme` to the states `x` (R x C, in place).
  virtual TileWriteOutcome apply(std::span<const PulseRequest> pulses, const BiasScheme& scheme,
                                 Eigen::MatrixXd& x) = 0;
  /// Writes what the model holds since its construction (its factors' source, warm starts)
  /// below `prefix`; restore() of it makes the next apply() give the same bits.
  virtual void save(Checkpoint& cp, const std::string& prefix) const = 0;
  virtual void restore(const Checkpoint& cp, const std::string& prefix) = 0;

 protected:
  TileWriteModel() = default;
  TileWriteModel(const TileWriteModel&) = default;
  TileWriteModel& operator=(const TileWriteModel&) = default;
};

/// Creates the write model of one tile from its backend; `rng` is the Rng the backend draws its
/// cycle-to-cycle noise from (it outlives both).
using TileWriteFactory =
    std::function<std::unique_ptr<TileWriteModel>(const ArrayBackend& tile, Rng& rng)>;

}  // namespace ecramsim

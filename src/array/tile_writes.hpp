#pragma once
/// A write model of a CellArrayBackend tile (ReducedWriteModel, FactorWriteModel) as the
/// training loop's TileWriteModel: built from the tile's cells, lines and cycle-to-cycle sigma,
/// drawing its noise from the Rng the tile draws from. Included by their .cpp files only.

#include <memory>
#include <span>
#include <string>

#include "array/cell_array.hpp"
#include "control/tile_write.hpp"
#include "core/error.hpp"

namespace ecramsim {

/// `Model` has Model(cells, geometry, c2c), refresh(x), apply(pulses, scheme, x, rng)
/// returning duration_s and energy_j, and save(cp, prefix) / restore(cp, prefix). InputError
/// naming --write-model (`what`: the model's name) if `tile` does not expose its cells.
template <class Model>
std::unique_ptr<TileWriteModel> makeCellTileWrites(const ArrayBackend& tile, Rng& rng,
                                                   const std::string& what) {
  class Adapter final : public TileWriteModel {
   public:
    Adapter(const CellArrayBackend& cells, Rng& r)
        : model_(cells.cellParameters(), cells.geometry(), cells.cycleToCycleSigma()), rng_(r) {}
    void refresh(const Eigen::MatrixXd& x) override { model_.refresh(x); }
    TileWriteOutcome apply(std::span<const PulseRequest> pulses, const BiasScheme& scheme,
                           Eigen::MatrixXd& x) override {
      const auto r = model_.apply(pulses, scheme, x, rng_);
      return {r.duration_s, r.energy_j};
    }
    void save(Checkpoint& cp, const std::string& prefix) const override {
      model_.save(cp, prefix);
    }
    void restore(const Checkpoint& cp, const std::string& prefix) override {
      model_.restore(cp, prefix);
    }

   private:
    Model model_;
    Rng& rng_;
  };
  const auto* cells = dynamic_cast<const CellArrayBackend*>(&tile);
  if (!cells) {
    throw InputError({}, "--write-model", what + " needs an engine that exposes its cells");
  }
  return std::make_unique<Adapter>(*cells, rng);
}

}  // namespace ecramsim

#pragma once
/// From a read netlist to a co-simulation Circuit: the `ecram` cells are split out, their
/// `.model ... ecram` cards are turned into parameters through the model-card table (so errors
/// name the card's file and line), instance parameters (`N1 g d s m x0=0.3`, any key of the
/// table) override the card for that instance, and each cell draws its device-to-device
/// variation from the caller's Rng in instance order.

#include <string>
#include <vector>

#include "core/rng.hpp"
#include "cosim/stub.hpp"
#include "modelcard/modelcard.hpp"
#include "netlist/netlist.hpp"

namespace ecramsim::cosim {

struct BuildOptions {
  /// key=value applied to every ecram card (e.g. from `--set`), with where it came from.
  std::vector<CardEntry> cardSets;
  bool noVariation = false;  ///< zero every *_d2d and dg_c2c before drawing
};

struct [[nodiscard]] BuiltCircuit {
  Circuit circuit;
  std::vector<ModelCard> cards;  ///< the ecram cards after cardSets, in netlist order
};

/// Builds the circuit. Throws InputError (file:line) for a bad card, instance parameter or
/// value.
[[nodiscard]] BuiltCircuit buildCircuit(const netlist::Netlist& net, Rng& rng,
                                        const BuildOptions& options = {});

}  // namespace ecramsim::cosim

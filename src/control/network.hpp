#pragma once
/// The hidden-layer nonlinearity of `train mushroom`'s network (the network engine, src/nn/,
/// computes it; the periphery's arithmetic is libtorch's there).

#include <string>

namespace ecramsim::train {

/// Hidden-layer nonlinearity.
enum class Activation { Tanh, Relu };

/// "tanh" or "relu"; InputError otherwise.
[[nodiscard]] Activation parseActivation(const std::string& name);
[[nodiscard]] std::string activationName(Activation a);

}  // namespace ecramsim::train

#include "control/network.hpp"

#include "core/error.hpp"

namespace ecramsim::train {

Activation parseActivation(const std::string& name) {
  if (name == "tanh") return Activation::Tanh;
  if (name == "relu") return Activation::Relu;
  throw InputError({}, "--activation",
                   "unknown activation '" + echoToken(name) + "' (tanh or relu)");
}

std::string activationName(Activation a) { return a == Activation::Tanh ? "tanh" : "relu"; }

}  // namespace ecramsim::train

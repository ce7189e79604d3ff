// libFuzzer harness: `.model ... ecram` cards (modelcard/modelcard.cpp).
#include "fuzz/support.hpp"
#include "modelcard/modelcard.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ecramsim;
  return fuzz::expectOnlyErrors([&] {
    const auto cards = parseModelText(std::string(fuzz::asText(data, size)), "fuzz.model");
    for (const auto& card : cards) validateCard(card);
  });
}

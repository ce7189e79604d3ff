// libFuzzer harness: target maps (io/targets.cpp). Built twice, with ECRAMSIM_FUZZ_EXTENSION
// ".pgm" (P2/P5 images) and ".csv", since the reader picks its format by the file's extension.
#include "fuzz/support.hpp"
#include "io/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ecramsim;
  const auto path = fuzz::writeScratch(std::string("target") + ECRAMSIM_FUZZ_EXTENSION, data, size);
  return fuzz::expectOnlyErrors([&] { (void)io::readTargetMap(path); });
}

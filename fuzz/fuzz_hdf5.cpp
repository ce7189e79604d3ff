// libFuzzer harness: the HDF5 result reader (io::readResultFile), which also runs on sweep
// resume, merge and export. The input is written to a scratch file and read back.
#include "fuzz/support.hpp"
#include "io/hdf5.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ecramsim;
  const auto path = fuzz::writeScratch("result.h5", data, size);
  return fuzz::expectOnlyErrors([&] { (void)io::readResultFile(path); });
}

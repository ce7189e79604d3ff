// libFuzzer harness: the HDF5 result reader (io::readResultFile), which also runs on sweep
// resume, merge and export. The input is written to a scratch file and read back through the
// shipped path: a forked reader process (io/isolated.hpp). libFuzzer sees the coverage of this
// process only (the unpacking of the reader's reply and the tree it builds), not of the child.
// The child gets 1 s of CPU here instead of the product's 60 s, so that a file on which libhdf5
// spins is rejected within the harness's -timeout; such a rejection is an IoError, as in use.
#include "fuzz/support.hpp"
#include "io/hdf5.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ecramsim;
  const auto path = fuzz::writeScratch("result.h5", data, size);
  return fuzz::expectOnlyErrors(
      [&] { (void)io::readResultFile(path, io::ReadBounds{.cpuSeconds = 1}); });
}

// libFuzzer harness: the netlist reader (netlist/netlist.cpp) and the ECRAM split after it.
// Relative includes resolve against an empty scratch folder.
#include "fuzz/support.hpp"
#include "netlist/netlist.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ecramsim;
  return fuzz::expectOnlyErrors([&] {
    const netlist::Netlist parsed =
        netlist::parseNetlist(fuzz::asText(data, size), fuzz::scratchDir() / "fuzz.cir");
    (void)parsed.lineMap();
    (void)netlist::splitEcram(parsed);
  });
}

#include "spice/memory.hpp"

#include <unistd.h>

#include <fstream>

namespace ecramsim::spice {

std::size_t residentSetBytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t totalPages = 0;
  std::size_t residentPages = 0;
  if (!(statm >> totalPages >> residentPages)) return 0;
  const long pageSize = sysconf(_SC_PAGESIZE);
  return residentPages * static_cast<std::size_t>(pageSize > 0 ? pageSize : 4096);
}

}  // namespace ecramsim::spice

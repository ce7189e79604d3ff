#include "core/memory_budget.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <limits>

#include "core/error.hpp"

namespace ecramsim {

std::uint64_t memoryBudgetBytes() {
  std::uint64_t budget = std::numeric_limits<std::uint64_t>::max();
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long pageSize = sysconf(_SC_PAGESIZE);
  if (pages > 0 && pageSize > 0) {
    budget = static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(pageSize);
  }
  for (const int resource : {RLIMIT_AS, RLIMIT_DATA}) {
    rlimit lim{};
    if (getrlimit(resource, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
      budget = std::min<std::uint64_t>(budget, lim.rlim_cur);
    }
  }
  return budget;
}

std::string formatBytes(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  std::size_t u = 0;
  while (bytes >= 1024.0 && u + 1 < std::size(units)) {
    bytes /= 1024.0;
    ++u;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.3g %s", bytes, units[u]);
  return buf;
}

void checkMemoryEstimate(double estimateBytes, const std::string& parameter,
                         const std::string& what) {
  const auto budget = static_cast<double>(memoryBudgetBytes());
  if (!(estimateBytes <= budget)) {
    throw InputError({}, parameter,
                     what + " needs about " + formatBytes(estimateBytes) + ", more than the " +
                         formatBytes(budget) +
                         " this process may use (physical memory, or ulimit -v/-d when lower)");
  }
}

}  // namespace ecramsim

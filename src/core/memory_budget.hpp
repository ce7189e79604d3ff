#pragma once
/// Memory estimates checked before large allocations: a run that cannot fit is refused as bad
/// input (exit 2) with the estimate, instead of ending in std::bad_alloc or swapping.

#include <cstdint>
#include <string>

namespace ecramsim {

/// Bytes a run may allocate: the machine's physical memory (sysconf: _SC_PHYS_PAGES times
/// _SC_PAGESIZE), lowered to the soft RLIMIT_AS or RLIMIT_DATA when one is set (`ulimit -v`,
/// `ulimit -d`), so a user caps a run with ulimit.
[[nodiscard]] std::uint64_t memoryBudgetBytes();

/// Throws InputError naming `parameter` when `estimateBytes` exceeds memoryBudgetBytes(); the
/// message says what needs the memory (`what`), the estimate and the budget.
void checkMemoryEstimate(double estimateBytes, const std::string& parameter,
                         const std::string& what);

/// "1.5 GiB", "300 MiB": a byte count a person reads.
[[nodiscard]] std::string formatBytes(double bytes);

}  // namespace ecramsim

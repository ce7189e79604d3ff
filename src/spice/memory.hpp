#pragma once
/// Process memory figures, for leak tests and run reports.

#include <cstddef>

namespace ecramsim::spice {

/// Resident set size of this process in bytes, read from /proc/self/statm; 0 when unavailable
/// (not Linux).
[[nodiscard]] std::size_t residentSetBytes();

}  // namespace ecramsim::spice

#pragma once
/// Running risky work in a child process. libhdf5 can crash (segfault) on a corrupt file instead
/// of returning an error; reading such a file in a forked child turns the crash into an IoError
/// naming the file, and the caller goes on with its other files.

#include <cstdint>
#include <functional>
#include <string>

namespace ecramsim::io {

/// Bounds on the child: memory beyond what the process already maps, and CPU time.
struct ChildLimits {
  std::uint64_t extraMemoryBytes = std::uint64_t{1} << 30;
  unsigned cpuSeconds = 60;
};

/// Runs `work` in a forked child within `limits` and returns the bytes it returned. An Error (or
/// any exception) thrown by `work` is rethrown here as an IoError with the same message; a child
/// killed by a signal (a crash, or the CPU limit) is an IoError naming `what`. `work` must name
/// `what` in its own errors.
[[nodiscard]] std::string runIsolated(const std::string& what, const ChildLimits& limits,
                                      const std::function<std::string()>& work);

}  // namespace ecramsim::io

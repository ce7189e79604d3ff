#pragma once
/// Whether the tests run in an AddressSanitizer build (ECRAMSIM_SANITIZE). ASan's shadow memory
/// takes terabytes of address space, so an RLIMIT_AS cap (`ulimit -v`) would stop a process
/// before main, and LeakSanitizer's scan at exit adds seconds to every process end.

namespace ecramsim::test {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif

}  // namespace ecramsim::test

#pragma once
/// Whether this build runs under AddressSanitizer (ECRAMSIM_SANITIZE with GCC, or clang's
/// -fsanitize=address as in the fuzz build). ASan's shadow memory takes terabytes of address
/// space, so an RLIMIT_AS cap stops a sanitized process from mapping memory, and LeakSanitizer's
/// scan at exit adds seconds to every process end.

#if defined(__SANITIZE_ADDRESS__)
#define ECRAMSIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ECRAMSIM_ASAN 1
#endif
#endif
#ifndef ECRAMSIM_ASAN
#define ECRAMSIM_ASAN 0
#endif

namespace ecramsim {

inline constexpr bool kAddressSanitizer = ECRAMSIM_ASAN != 0;

}  // namespace ecramsim

#pragma once
/// One checked way to open a top-level input file (netlist, model card, sweep spec, CSV, PGM):
/// it must be a regular file no larger than a stated cap, so a device (/dev/zero), a FIFO or a
/// directory is refused with an InputError naming the file instead of being read forever.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace ecramsim {

/// Largest text or data input accepted, bytes (64 MiB).
inline constexpr std::uintmax_t kMaxInputBytes = std::uintmax_t{64} << 20;

/// Opens `path` for binary reading. Throws InputError naming the file and `parameter` unless it
/// exists, is a regular file (after symlinks) of at most `maxBytes` bytes and can be opened.
/// `what` names the input in messages ("netlist", "model card file", ...).
[[nodiscard]] std::ifstream openInputFile(const std::filesystem::path& path,
                                          const std::string& parameter, const std::string& what,
                                          std::uintmax_t maxBytes = kMaxInputBytes);

/// The whole text of `path`, checked as openInputFile; throws IoError when reading fails.
[[nodiscard]] std::string readInputFile(const std::filesystem::path& path,
                                        const std::string& parameter, const std::string& what,
                                        std::uintmax_t maxBytes = kMaxInputBytes);

}  // namespace ecramsim

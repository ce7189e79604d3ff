#pragma once

namespace ecramsim {

/// The tool's version, from CMake's project(VERSION).
inline constexpr const char* kToolVersion = ECRAMSIM_VERSION;
/// Version of the HDF5 layout described in README.md; bumped when a group or dataset changes.
inline constexpr int kSchemaVersion = 2;

}  // namespace ecramsim

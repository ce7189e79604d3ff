#pragma once
/// SHA-256 (FIPS 180-4) of a byte string, for the provenance header of exported models.

#include <string>
#include <string_view>

namespace ecramsim::modelexport {

/// Lower-case hex digest (64 characters) of `data`.
[[nodiscard]] std::string sha256Hex(std::string_view data);

}  // namespace ecramsim::modelexport

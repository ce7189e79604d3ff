#pragma once
/// SHA-256 (FIPS 180-4) of a byte string, for provenance: exported models, fitted cards.

#include <string>
#include <string_view>

namespace ecramsim {

/// Lower-case hex digest (64 characters) of `data`.
[[nodiscard]] std::string sha256Hex(std::string_view data);

}  // namespace ecramsim

#pragma once
/// SPICE number syntax and number formatting.

#include <optional>
#include <string>
#include <string_view>

namespace ecramsim {

/// Parses a SPICE number: a decimal with optional exponent, an optional scale factor
/// (f p n u m k meg g t, case-insensitive; "mil" = 25.4e-6) and optional trailing unit letters
/// that SPICE ignores ("100ms" = 0.1, "2uS" = 2e-6, "5V" = 5). Returns nullopt for anything else
/// ("1.2.3", "abc", "1e", "2u5", empty).
[[nodiscard]] std::optional<double> parseSpiceNumber(std::string_view text);

/// A double written with 17 significant digits, so that it reads back bit-identical.
[[nodiscard]] std::string formatExact(double value);

/// A value with an engineering prefix and unit for people, e.g. formatEng(2e-6, "S") = "2 uS".
[[nodiscard]] std::string formatEng(double value, std::string_view unit, int digits = 4);

/// Lower-cases ASCII.
[[nodiscard]] std::string toLower(std::string_view text);

}  // namespace ecramsim

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

/// A double written with 17 significant digits, so that it reads back bit-identical (for
/// machines: JSON, netlists handed to ngspice).
[[nodiscard]] std::string formatExact(double value);

/// A double for people: the shortest decimal that reads back to the same double
/// (std::to_chars), exponent without '+' or leading zeros: 0.1, 2.5e-12, 1e-7, 1e22, -3. When
/// that takes more than `maxDigits` significant digits (a computed value, 0.1 + 0.2), the value
/// rounded to `maxDigits` (15 is the most a decimal keeps through a double): pass 17 for text
/// that must read back bit-identical. Non-finite values print as inf, -inf, nan.
[[nodiscard]] std::string formatShort(double value, int maxDigits = 15);

/// A value in SPICE engineering notation with its unit, for people and for SPICE alike:
/// formatSpice(0.1, "s") = "100ms", formatSpice(2.5e-12, "F") = "2.5pF", formatSpice(1e6, "Ohm")
/// = "1megOhm". The digits are formatShort's: the shortest that read back (through
/// parseSpiceNumber) to the same double, or `maxDigits` of them. The unit is left off where
/// SPICE would misread it as a scale factor (no prefix and a unit starting with f p n u m k g t:
/// 1 F prints "1"). A dimensionless value (unit "1", "count" or "") prints as formatShort (0.3,
/// not 300m). Values outside [1e-15, 1e15) or non-finite print as formatShort.
[[nodiscard]] std::string formatSpice(double value, std::string_view unit, int maxDigits = 15);

/// A value with an engineering prefix and unit for people, e.g. formatEng(2e-6, "S") = "2 uS".
[[nodiscard]] std::string formatEng(double value, std::string_view unit, int digits = 4);

/// Lower-cases ASCII.
[[nodiscard]] std::string toLower(std::string_view text);

}  // namespace ecramsim

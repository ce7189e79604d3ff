#include "core/units.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace ecramsim {

std::string toLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<double> parseSpiceNumber(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string_view body = text;
  if (body.front() == '+') body.remove_prefix(1);  // from_chars rejects a leading '+'
  if (body.empty() || body.front() == '+') return std::nullopt;
  double value = 0.0;
  const char* first = body.data();
  const char* last = body.data() + body.size();
  auto [ptr, ec] = std::from_chars(first, last, value, std::chars_format::general);
  if (ec != std::errc{} || ptr == first) return std::nullopt;
  // from_chars accepts "inf"/"nan": SPICE does not.
  if (!std::isfinite(value)) return std::nullopt;
  std::string rest = toLower(std::string_view(ptr, static_cast<std::size_t>(last - ptr)));
  int power = 0;  // the scale factor 10^power, or "mil"
  bool mil = false;
  std::size_t used = 0;
  if (rest.rfind("meg", 0) == 0) {
    power = 6;
    used = 3;
  } else if (rest.rfind("mil", 0) == 0) {
    mil = true;
    used = 3;
  } else if (!rest.empty()) {
    switch (rest.front()) {
      case 'f': power = -15; used = 1; break;
      case 'p': power = -12; used = 1; break;
      case 'n': power = -9; used = 1; break;
      case 'u': power = -6; used = 1; break;
      case 'm': power = -3; used = 1; break;
      case 'k': power = 3; used = 1; break;
      case 'g': power = 9; used = 1; break;
      case 't': power = 12; used = 1; break;
      default: break;
    }
  }
  // What follows the scale factor may only be unit letters, which SPICE ignores.
  for (std::size_t i = used; i < rest.size(); ++i) {
    if (!std::isalpha(static_cast<unsigned char>(rest[i]))) return std::nullopt;
  }
  // A bare exponent letter ("1e") leaves 'e' unparsed: reject it rather than treat it as a unit.
  if (used == 0 && !rest.empty() && rest.front() == 'e') return std::nullopt;
  if (mil) return value * 25.4e-6;
  if (power == 0) return value;
  // A power-of-ten scale shifts the decimal exponent, so "100m" reads as exactly as "100e-3".
  const std::string_view digits(first, static_cast<std::size_t>(ptr - first));
  const std::size_t e = digits.find_first_of("eE");
  int exponent = 0;
  if (e != std::string_view::npos) {
    const char* end = digits.data() + digits.size();
    const char* start = digits.data() + e + 1 + (digits[e + 1] == '+' ? 1 : 0);
    const auto [p, err] = std::from_chars(start, end, exponent);
    if (err != std::errc{} || p != end) return value * std::pow(10.0, power);
  }
  const std::string shifted =
      std::string(digits.substr(0, e)) + "e" + std::to_string(exponent + power);
  double scaled = 0.0;
  const auto [p, err] = std::from_chars(shifted.data(), shifted.data() + shifted.size(), scaled);
  if (err != std::errc{} || !std::isfinite(scaled)) return std::nullopt;
  return scaled;
}

std::string formatExact(double value) {
  std::array<char, 40> buf{};
  std::snprintf(buf.data(), buf.size(), "%.17g", value);
  return buf.data();
}

namespace {

/// The shortest decimal of a finite `value` that reads back to it, as sign, digits (no leading
/// or trailing zeros, at least one) and the decimal exponent of the first digit.
struct Decimal {
  bool negative = false;
  std::string digits;
  int exponent = 0;
};

Decimal shortestDecimal(double value, int maxDigits) {
  std::array<char, 64> buf{};
  auto [end, ec] =
      std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::scientific);
  // Significant digits: the mantissa's characters less the sign and the point.
  const auto mantissa = static_cast<int>(std::string_view(buf.data(), end).find('e'));
  if (mantissa - (value < 0 ? 1 : 0) - (mantissa > 1 + (value < 0 ? 1 : 0) ? 1 : 0) > maxDigits) {
    end = std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::scientific,
                        maxDigits - 1).ptr;
  }
  Decimal d;
  const char* p = buf.data();
  if (*p == '-') {
    d.negative = true;
    ++p;
  }
  for (; p != end && *p != 'e'; ++p) {
    if (*p != '.') d.digits += *p;
  }
  if (p != end) {
    ++p;
    if (*p == '+') ++p;
    std::from_chars(p, end, d.exponent);
  }
  while (d.digits.size() > 1 && d.digits.back() == '0') d.digits.pop_back();
  return d;
}

/// `digits` with the decimal point after `intDigits` of them (zero-padded on either side).
std::string placePoint(const std::string& digits, int intDigits) {
  if (intDigits <= 0) return "0." + std::string(static_cast<std::size_t>(-intDigits), '0') + digits;
  const auto n = static_cast<std::size_t>(intDigits);
  if (n >= digits.size()) return digits + std::string(n - digits.size(), '0');
  return digits.substr(0, n) + "." + digits.substr(n);
}

}  // namespace

std::string formatShort(double value, int maxDigits) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  const Decimal d = shortestDecimal(value, maxDigits);
  const std::string sign = d.negative ? "-" : "";
  const auto n = static_cast<int>(d.digits.size());
  // Plain when that is no longer than std::to_chars' exponent form ("1e-05", "1e+22"); the
  // exponent is then written without '+' and leading zeros.
  const std::string scientific = sign + placePoint(d.digits, 1) + "e" + std::to_string(d.exponent);
  const std::size_t paddedSize = scientific.size() + (d.exponent >= 0 ? 1 : 0) +
                                 (std::abs(d.exponent) < 10 ? 1 : 0);
  if (d.exponent >= -5 && d.exponent < n + 5) {
    std::string plain = sign + placePoint(d.digits, d.exponent + 1);
    if (plain.size() <= paddedSize) return plain;
  }
  return scientific;
}

std::string formatSpice(double value, std::string_view unit, int maxDigits) {
  if (!std::isfinite(value) || unit.empty() || unit == "1" || unit == "count") {
    return formatShort(value, maxDigits);
  }
  static constexpr std::array<std::pair<int, const char*>, 10> kPrefixes{{
      {12, "T"}, {9, "G"}, {6, "meg"}, {3, "k"}, {0, ""},
      {-3, "m"}, {-6, "u"}, {-9, "n"}, {-12, "p"}, {-15, "f"}}};
  const Decimal d = shortestDecimal(value, maxDigits);
  if (value != 0.0 && (d.exponent < -15 || d.exponent >= 15)) return formatShort(value, maxDigits);
  const int power = value == 0.0 ? 0 : 3 * static_cast<int>(std::floor(d.exponent / 3.0));
  const char* prefix = "";
  for (const auto& [p, name] : kPrefixes) {
    if (p == power) prefix = name;
  }
  std::string out = (d.negative ? "-" : "") + placePoint(d.digits, d.exponent - power + 1);
  out += prefix;
  bool letters = true;
  for (char c : unit) letters = letters && std::isalpha(static_cast<unsigned char>(c)) != 0;
  const bool misread = *prefix == '\0' && letters &&
                       std::string_view("fpnumkgt").find(static_cast<char>(std::tolower(
                           static_cast<unsigned char>(unit.front())))) != std::string_view::npos;
  if (letters && !misread) out += unit;
  return out;
}

std::string formatEng(double value, std::string_view unit, int digits) {
  static constexpr std::array<std::pair<double, const char*>, 9> kPrefixes{{
      {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}, {1.0, ""},
      {1e-3, "m"}, {1e-6, "u"}, {1e-9, "n"}, {1e-12, "p"}}};
  std::array<char, 64> buf{};
  const double mag = std::fabs(value);
  const char* prefix = "";
  double scaled = value;
  if (mag >= 1e-15 && std::isfinite(mag)) {
    prefix = "f";
    scaled = value / 1e-15;
    for (const auto& [factor, name] : kPrefixes) {
      if (mag >= factor * (1.0 - 1e-12)) {
        prefix = name;
        scaled = value / factor;
        break;
      }
    }
  }
  std::snprintf(buf.data(), buf.size(), "%.*g %s%.*s", digits, scaled, prefix,
                static_cast<int>(unit.size()), unit.data());
  return buf.data();
}

}  // namespace ecramsim

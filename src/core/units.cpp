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
  double scale = 1.0;
  std::size_t used = 0;
  if (rest.rfind("meg", 0) == 0) {
    scale = 1e6;
    used = 3;
  } else if (rest.rfind("mil", 0) == 0) {
    scale = 25.4e-6;
    used = 3;
  } else if (!rest.empty()) {
    switch (rest.front()) {
      case 'f': scale = 1e-15; used = 1; break;
      case 'p': scale = 1e-12; used = 1; break;
      case 'n': scale = 1e-9; used = 1; break;
      case 'u': scale = 1e-6; used = 1; break;
      case 'm': scale = 1e-3; used = 1; break;
      case 'k': scale = 1e3; used = 1; break;
      case 'g': scale = 1e9; used = 1; break;
      case 't': scale = 1e12; used = 1; break;
      default: break;
    }
  }
  // What follows the scale factor may only be unit letters, which SPICE ignores.
  for (std::size_t i = used; i < rest.size(); ++i) {
    if (!std::isalpha(static_cast<unsigned char>(rest[i]))) return std::nullopt;
  }
  // A bare exponent letter ("1e") leaves 'e' unparsed: reject it rather than treat it as a unit.
  if (used == 0 && !rest.empty() && rest.front() == 'e') return std::nullopt;
  return value * scale;
}

std::string formatExact(double value) {
  std::array<char, 40> buf{};
  std::snprintf(buf.data(), buf.size(), "%.17g", value);
  return buf.data();
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

#include "core/error.hpp"

namespace ecramsim {

std::string SourceLocation::str() const {
  if (file.empty()) return line > 0 ? "line " + std::to_string(line) : std::string{};
  return line > 0 ? file + ":" + std::to_string(line) : file;
}

namespace {
std::string formatInputError(const SourceLocation& where, const std::string& parameter,
                             const std::string& message) {
  std::string out;
  const std::string loc = where.str();
  if (!loc.empty()) out += loc + ": ";
  if (!parameter.empty()) out += parameter + ": ";
  return out + message;
}
}  // namespace

InputError::InputError(SourceLocation where, std::string parameter, const std::string& message)
    : Error(formatInputError(where, parameter, message)),
      where_(std::move(where)),
      parameter_(std::move(parameter)),
      detail_(message) {}

}  // namespace ecramsim

#include "core/error.hpp"

namespace ecramsim {

std::string SourceLocation::str() const {
  if (file.empty()) return line > 0 ? "line " + std::to_string(line) : std::string{};
  return line > 0 ? file + ":" + std::to_string(line) : file;
}

std::string echoToken(std::string_view token, std::size_t limit) {
  if (token.size() <= limit) return std::string(token);
  return std::string(token.substr(0, limit)) + "... (" + std::to_string(token.size()) +
         " characters)";
}

std::string echoWords(std::string_view message, std::size_t limit) {
  std::string out;
  std::size_t i = 0;
  while (i < message.size()) {
    const std::size_t end = message.find_first_of(" \t\n", i);
    const std::size_t stop = end == std::string_view::npos ? message.size() : end;
    const std::string_view word = message.substr(i, stop - i);
    out += word.size() > limit + 20 ? echoToken(word, limit) : std::string(word);
    if (stop < message.size()) out += message[stop];
    i = stop + 1;
  }
  return out;
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
    : Error(formatInputError(where, echoToken(parameter), message)),
      where_(std::move(where)),
      parameter_(echoToken(parameter)),
      detail_(message) {}

}  // namespace ecramsim

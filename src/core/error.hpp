#pragma once
/// Typed errors. User errors (bad netlists, model cards, flags, data) are InputError and carry a
/// source location and the parameter concerned; numerical failures are SimulationError; file
/// system and HDF5 failures are IoError. Broken internal invariants are asserts, not exceptions.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ecramsim {

/// Where a piece of input came from. line 0 means "the file as a whole".
struct SourceLocation {
  std::string file;
  int line = 0;

  [[nodiscard]] std::string str() const;  ///< "file:line", "file", or "" when unknown
};

/// Characters of a user's token that an error message shows.
inline constexpr std::size_t kEchoLimit = 80;

/// A token (a field, value or name from the user's input) as an error message echoes it:
/// unchanged up to `limit` characters, else its first `limit` characters, "..." and its length,
/// e.g. "zzzz... (100000 characters)". Every message that quotes user input goes through this.
[[nodiscard]] std::string echoToken(std::string_view token, std::size_t limit = kEchoLimit);

/// `message` with every whitespace-separated word of more than `limit` + 20 characters shortened
/// by echoToken (the margin leaves alone a token already shortened and quoted); for messages
/// composed by third-party code (CLI11) that quote the user's input.
[[nodiscard]] std::string echoWords(std::string_view message, std::size_t limit = kEchoLimit);

/// Base of every error ecramsim throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Bad input from the user: formatted "file:line: parameter: message". The parameter (it may be
/// a name from the input) is shortened by echoToken.
class InputError : public Error {
 public:
  InputError(SourceLocation where, std::string parameter, const std::string& message);
  explicit InputError(const std::string& message) : InputError({}, {}, message) {}

  [[nodiscard]] const SourceLocation& where() const { return where_; }
  [[nodiscard]] const std::string& parameter() const { return parameter_; }
  [[nodiscard]] const std::string& detail() const { return detail_; }

 private:
  SourceLocation where_;
  std::string parameter_;
  std::string detail_;
};

/// A simulation that could not be carried out (no convergence, timestep too small, ...).
class SimulationError : public Error {
 public:
  using Error::Error;
};

/// A file that could not be read or written.
class IoError : public Error {
 public:
  using Error::Error;
};

/// A run stopped on request (SIGINT); what was completed has been kept.
class Interrupted : public Error {
 public:
  Interrupted() : Error("interrupted") {}
};

}  // namespace ecramsim

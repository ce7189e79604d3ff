#pragma once
/// Typed errors. User errors (bad netlists, model cards, flags, data) are InputError and carry a
/// source location and the parameter concerned; numerical failures are SimulationError; file
/// system and HDF5 failures are IoError. Broken internal invariants are asserts, not exceptions.

#include <stdexcept>
#include <string>

namespace ecramsim {

/// Where a piece of input came from. line 0 means "the file as a whole".
struct SourceLocation {
  std::string file;
  int line = 0;

  [[nodiscard]] std::string str() const;  ///< "file:line", "file", or "" when unknown
};

/// Base of every error ecramsim throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Bad input from the user: formatted "file:line: parameter: message".
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

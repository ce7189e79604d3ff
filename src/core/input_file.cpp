#include "core/input_file.hpp"

#include <sstream>

#include "core/error.hpp"

namespace ecramsim {

namespace {

std::string mebibytes(std::uintmax_t bytes) {
  return std::to_string(bytes >> 20) + " MiB";
}

}  // namespace

std::ifstream openInputFile(const std::filesystem::path& path, const std::string& parameter,
                            const std::string& what, std::uintmax_t maxBytes) {
  namespace fs = std::filesystem;
  const SourceLocation where{path.string(), 0};
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) {
    throw InputError(where, parameter, "cannot open the " + what + ": no such file");
  }
  if (ec) throw InputError(where, parameter, "cannot open the " + what + ": " + ec.message());
  if (fs::is_directory(st)) throw InputError(where, parameter, "the " + what + " is a directory");
  if (!fs::is_regular_file(st)) {
    throw InputError(where, parameter,
                     "the " + what + " is not a regular file (a device, FIFO or socket)");
  }
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) throw InputError(where, parameter, "cannot open the " + what + ": " + ec.message());
  if (size > maxBytes) {
    throw InputError(where, parameter,
                     "the " + what + " has " + std::to_string(size) + " bytes, more than the " +
                         mebibytes(maxBytes) + " accepted");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(where, parameter, "cannot open the " + what);
  return in;
}

std::string readInputFile(const std::filesystem::path& path, const std::string& parameter,
                          const std::string& what, std::uintmax_t maxBytes) {
  std::ifstream in = openInputFile(path, parameter, what, maxBytes);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IoError(path.string() + ": cannot read the " + what);
  return ss.str();
}

}  // namespace ecramsim

#include "io/targets.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/input_file.hpp"
#include "core/units.hpp"
#include <cctype>

namespace ecramsim::io {

namespace {

/// Next whitespace-separated token of a PGM header, skipping '#' comments.
std::string pgmToken(std::istream& in, const std::string& file) {
  std::string tok;
  char c = 0;
  while (in.get(c)) {
    if (c == '#') {
      std::string rest;
      std::getline(in, rest);
      if (!tok.empty()) return tok;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!tok.empty()) return tok;
      continue;
    }
    tok += c;
  }
  if (tok.empty()) throw InputError({file, 0}, "", "truncated PGM image");
  return tok;
}

std::size_t pgmNumber(std::istream& in, const std::string& file, const char* what) {
  const std::string tok = pgmToken(in, file);
  try {
    std::size_t used = 0;
    const long v = std::stol(tok, &used);
    if (used != tok.size() || v <= 0) throw std::invalid_argument(tok);
    return static_cast<std::size_t>(v);
  } catch (const std::exception&) {
    throw InputError({file, 0}, what, "malformed PGM header value '" + echoToken(tok) + "'");
  }
}

/// Refuses a header whose width x height exceeds kMaxPgmPixels or cannot be backed by the
/// bytes left in the file: `bytesPerPixel` for P5, at least 2 ("0 ") per pixel but the last for
/// P2 (bytesPerPixel 0). Runs before any pixel storage is allocated.
void checkPgmSize(const std::filesystem::path& path, std::istream& in, std::size_t width,
                  std::size_t height, std::size_t bytesPerPixel) {
  const std::string file = path.string();
  const std::string dims = std::to_string(width) + " x " + std::to_string(height);
  if (width > kMaxPgmPixels || height > kMaxPgmPixels || width * height > kMaxPgmPixels) {
    throw InputError({file, 0}, "width/height",
                     "PGM image of " + dims + " pixels exceeds the " +
                         std::to_string(kMaxPgmPixels) + " pixels accepted");
  }
  const std::streamoff pos = in.tellg();
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (pos < 0 || ec) return;  // the pixel loop still stops at the end of the data
  const std::uintmax_t left = size - std::min<std::uintmax_t>(size, std::uintmax_t(pos));
  const std::uintmax_t pixels = width * height;
  const std::uintmax_t needed = bytesPerPixel > 0 ? pixels * bytesPerPixel : 2 * pixels - 1;
  if (left < needed) {
    throw InputError({file, 0}, "width/height",
                     "truncated PGM image: too few pixels for the header's " + dims + " (at least " +
                         std::to_string(needed) + " bytes needed, " + std::to_string(left) +
                         " after the header)");
  }
}

TargetMap readPgm(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in = openInputFile(path, "", "target image");
  const std::string magic = pgmToken(in, file);
  if (magic != "P2" && magic != "P5") {
    throw InputError({file, 0}, "",
                     "not a PGM image (magic '" + echoToken(magic) + "', expected P2 or P5)");
  }
  TargetMap t;
  t.cols = pgmNumber(in, file, "width");
  t.rows = pgmNumber(in, file, "height");
  const std::size_t maxval = pgmNumber(in, file, "maxval");
  if (maxval > 65535) throw InputError({file, 0}, "maxval", "must be at most 65535");
  checkPgmSize(path, in, t.cols, t.rows, magic == "P5" ? (maxval < 256 ? 1 : 2) : 0);
  t.values.resize(t.rows * t.cols);
  if (magic == "P2") {
    for (auto& v : t.values) {
      std::string tok;
      if (!(in >> tok)) throw InputError({file, 0}, "", "truncated PGM image: too few pixels");
      const auto num = parseSpiceNumber(tok);
      if (!num || std::floor(*num) != *num) {
        throw InputError({file, 0}, "", "malformed pixel value '" + echoToken(tok) + "'");
      }
      v = *num / static_cast<double>(maxval);
    }
  } else {
    const std::size_t bytes = maxval < 256 ? 1 : 2;
    std::vector<unsigned char> raw(t.values.size() * bytes);
    in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size()));
    if (static_cast<std::size_t>(in.gcount()) != raw.size()) {
      throw InputError({file, 0}, "", "truncated PGM image: too few pixel bytes");
    }
    for (std::size_t i = 0; i < t.values.size(); ++i) {
      const double px = bytes == 1 ? raw[i] : raw[2 * i] * 256.0 + raw[2 * i + 1];  // big-endian
      t.values[i] = px / static_cast<double>(maxval);
    }
  }
  for (double v : t.values) {
    if (v > 1.0) throw InputError({file, 0}, "", "pixel value exceeds maxval");
  }
  return t;
}

TargetMap readCsvMap(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in = openInputFile(path, "", "target CSV");
  TargetMap t;
  std::string line;
  int lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line[line.find_first_not_of(" \t")] == '#') {
      continue;
    }
    std::vector<double> row;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) {
      const auto b = cell.find_first_not_of(" \t");
      const auto e = cell.find_last_not_of(" \t");
      const std::string tok = b == std::string::npos ? "" : cell.substr(b, e - b + 1);
      if (tok == "nan" || tok == "NaN" || tok == "NAN") {
        throw InputError({file, lineNo}, "", "NaN in the target map");
      }
      const auto v = parseSpiceNumber(tok);
      if (!v) throw InputError({file, lineNo}, "", "malformed number '" + echoToken(tok) + "'");
      row.push_back(*v);
    }
    if (t.rows == 0) t.cols = row.size();
    if (row.size() != t.cols) {
      throw InputError({file, lineNo}, "", "row has " + std::to_string(row.size()) +
                                               " values, the first row " + std::to_string(t.cols));
    }
    for (double v : row) {
      if (v < 0.0 || v > 1.0) {
        throw InputError({file, lineNo}, "",
                         "value " + formatShort(v) + " outside [0, 1] (targets are normalized)");
      }
    }
    t.values.insert(t.values.end(), row.begin(), row.end());
    ++t.rows;
  }
  if (t.rows == 0) throw InputError({file, 0}, "", "empty target map");
  return t;
}

}  // namespace

TargetMap readTargetMap(const std::filesystem::path& file, std::size_t expectRows,
                        std::size_t expectCols) {
  const std::string ext = toLower(file.extension().string());
  TargetMap t;
  if (ext == ".pgm") {
    t = readPgm(file);
  } else if (ext == ".csv") {
    t = readCsvMap(file);
  } else {
    throw InputError({file.string(), 0}, "",
                     "unknown target format '" + echoToken(ext) + "' (use .pgm or .csv)");
  }
  for (double v : t.values) {
    if (!std::isfinite(v)) throw InputError({file.string(), 0}, "", "NaN or infinity in the target map");
  }
  if ((expectRows != 0 && t.rows != expectRows) || (expectCols != 0 && t.cols != expectCols)) {
    throw InputError({file.string(), 0}, "",
                     "target is " + std::to_string(t.rows) + " x " + std::to_string(t.cols) +
                         ", the array " + std::to_string(expectRows) + " x " + std::to_string(expectCols));
  }
  return t;
}

}  // namespace ecramsim::io

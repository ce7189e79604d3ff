#pragma once
// Image data set fixtures in the published formats (IDX, CIFAR-10 binary), for the readers'
// and the network engine's tests.
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ecramsim::test {

using Bytes = std::vector<std::uint8_t>;

/// A per-process scratch directory below the system's temporary directory.
inline std::filesystem::path imageScratch(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("ecramsim_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::filesystem::path writeBytes(const std::filesystem::path& p, const Bytes& b) {
  std::ofstream(p, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  return p;
}

inline std::filesystem::path writeGz(const std::filesystem::path& p, const Bytes& b) {
  gzFile f = gzopen(p.c_str(), "wb");
  if (f == nullptr || gzwrite(f, b.data(), static_cast<unsigned>(b.size())) !=
                          static_cast<int>(b.size())) {
    throw std::runtime_error("cannot write " + p.string());
  }
  gzclose(f);
  return p;
}

inline void put32(Bytes& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}

/// An IDX images file of n images of h x w; pixel k of image i is pixel(i, k).
inline Bytes idxImages(std::uint32_t n, std::uint32_t h, std::uint32_t w,
                       const std::function<std::uint8_t(std::uint32_t, std::uint32_t)>& pixel) {
  Bytes b{0, 0, 0x08, 0x03};
  put32(b, n);
  put32(b, h);
  put32(b, w);
  for (std::uint32_t i = 0; i < n; ++i) {
    for (std::uint32_t k = 0; k < h * w; ++k) b.push_back(pixel(i, k));
  }
  return b;
}

/// An IDX labels file; label i is label(i).
inline Bytes idxLabels(std::uint32_t n, const std::function<std::uint8_t(std::uint32_t)>& label) {
  Bytes b{0, 0, 0x08, 0x01};
  put32(b, n);
  for (std::uint32_t i = 0; i < n; ++i) b.push_back(label(i));
  return b;
}

}  // namespace ecramsim::test

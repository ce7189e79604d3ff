#include "io/image_data.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <iterator>

#include "core/error.hpp"
#include "core/input_file.hpp"

namespace ecramsim::io {
namespace {

namespace fs = std::filesystem;

/// The file's bytes, decompressed when its name ends in .gz. `parameter` names the flag or
/// input in errors.
std::vector<std::uint8_t> readBytes(const fs::path& path, const std::string& parameter,
                                    const std::string& what) {
  const bool gz = path.extension() == ".gz";
  auto in = openInputFile(path, parameter, what, gz ? kMaxInputBytes : kMaxIdxBytes);
  std::vector<std::uint8_t> raw((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  if (in.bad()) throw IoError(path.string() + ": cannot read the " + what);
  if (!gz) return raw;

  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
    throw IoError(path.string() + ": zlib cannot start decompressing the " + what);
  }
  std::vector<std::uint8_t> out;
  std::vector<std::uint8_t> chunk(std::size_t{1} << 20);
  z.next_in = raw.data();
  z.avail_in = static_cast<uInt>(raw.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = chunk.data();
    z.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      const auto at = z.total_in;
      inflateEnd(&z);
      throw InputError({path.string(), 0}, parameter,
                       "not a valid gzip stream (compressed byte offset " + std::to_string(at) +
                           (rc == Z_BUF_ERROR ? ": the file ends inside the stream)" : ")"));
    }
    out.insert(out.end(), chunk.data(), chunk.data() + (chunk.size() - z.avail_out));
    if (out.size() > kMaxIdxBytes) {
      inflateEnd(&z);
      throw InputError({path.string(), 0}, parameter,
                       "decompresses to more than " + std::to_string(kMaxIdxBytes >> 20) +
                           " MiB, the largest " + what + " accepted");
    }
  }
  inflateEnd(&z);
  return out;
}

InputError at(const fs::path& path, const std::string& parameter, std::size_t offset,
              const std::string& message) {
  const bool gz = path.extension() == ".gz";
  return InputError({path.string(), 0}, parameter,
                    std::string(gz ? "decompressed byte offset " : "byte offset ") +
                        std::to_string(offset) + ": " + message);
}

std::uint32_t bigEndian32(const std::vector<std::uint8_t>& b, std::size_t offset) {
  return (std::uint32_t{b[offset]} << 24) | (std::uint32_t{b[offset + 1]} << 16) |
         (std::uint32_t{b[offset + 2]} << 8) | std::uint32_t{b[offset + 3]};
}

/// The dimension sizes of an IDX file of unsigned bytes with `dims` dimensions; checks the
/// magic number and that the payload is complete (a longer file is refused too: it is not the
/// file the header describes).
std::vector<std::size_t> idxHeader(const std::vector<std::uint8_t>& b, const fs::path& path,
                                   const std::string& parameter, std::uint8_t dims) {
  const std::size_t header = 4 + 4 * std::size_t{dims};
  if (b.size() < 4) throw at(path, parameter, b.size(), "file ends inside the magic number");
  if (b[0] != 0 || b[1] != 0 || b[2] != 0x08 || b[3] != dims) {
    char magic[16];
    std::snprintf(magic, sizeof magic, "0x%02X%02X%02X%02X", b[0], b[1], b[2], b[3]);
    throw at(path, parameter, 0,
             std::string("magic number ") + magic + " is not an IDX file of unsigned bytes with " +
                 std::to_string(dims) + " dimensions (0x000008" + (dims == 3 ? "03" : "01") + ")");
  }
  if (b.size() < header) throw at(path, parameter, b.size(), "file ends inside the header");
  std::vector<std::size_t> sizes;
  std::size_t payload = 1;
  for (std::uint8_t d = 0; d < dims; ++d) {
    const std::size_t n = bigEndian32(b, 4 + 4 * std::size_t{d});
    if (n == 0 || (d > 0 && n > 4096)) {
      throw at(path, parameter, 4 + 4 * std::size_t{d},
               "dimension " + std::to_string(d) + " has size " + std::to_string(n));
    }
    sizes.push_back(n);
    payload *= n;
  }
  if (payload > b.size() - header) {
    const std::size_t per = payload / sizes[0];
    throw at(path, parameter, header + (b.size() - header) / per * per,
             "truncated: the header announces " + std::to_string(sizes[0]) + " items of " +
                 std::to_string(per) + " bytes, the file holds " +
                 std::to_string((b.size() - header) / per) + " whole items");
  }
  if (payload < b.size() - header) {
    throw at(path, parameter, header + payload,
             std::to_string(b.size() - header - payload) +
                 " bytes follow the last item the header announces");
  }
  return sizes;
}

int checkedLabel(std::uint8_t label, int classes, const fs::path& path,
                 const std::string& parameter, std::size_t offset) {
  if (label >= classes) {
    throw at(path, parameter, offset,
             "label " + std::to_string(label) + " is out of range 0.." +
                 std::to_string(classes - 1));
  }
  return label;
}

fs::path firstPresent(const fs::path& dir, const std::string& name) {
  for (const auto* suffix : {"", ".gz"}) {
    auto p = dir / (name + suffix);
    if (fs::exists(p)) return p;
  }
  return dir / name;  // openInputFile names it in its error
}

}  // namespace

ImageSet readIdx(const fs::path& images, const fs::path& labels, int classes,
                 std::size_t maxSamples, ImageShape expect) {
  const auto ib = readBytes(images, "images", "IDX images file");
  const auto dims = idxHeader(ib, images, "images", 3);
  const auto lb = readBytes(labels, "labels", "IDX labels file");
  const auto ldims = idxHeader(lb, labels, "labels", 1);
  if (ldims[0] != dims[0]) {
    throw at(labels, "labels", 4,
             "holds " + std::to_string(ldims[0]) + " labels for the " + std::to_string(dims[0]) +
                 " images of " + images.string());
  }
  const int h = static_cast<int>(dims[1]);
  const int w = static_cast<int>(dims[2]);
  if ((expect.height != 0 && expect.height != h) || (expect.width != 0 && expect.width != w)) {
    throw at(images, "images", 8,
             "images are " + std::to_string(h) + " x " + std::to_string(w) + ", expected " +
                 std::to_string(expect.height) + " x " + std::to_string(expect.width));
  }
  if (expect.channels > 1) {
    throw at(images, "images", 0,
             "IDX images have one channel, the network expects " +
                 std::to_string(expect.channels));
  }
  ImageSet set;
  set.source = images.string() + " + " + labels.string();
  set.channels = 1;
  set.height = h;
  set.width = w;
  set.classes = classes;
  const std::size_t n = maxSamples == 0 ? dims[0] : std::min(dims[0], maxSamples);
  const std::size_t bytes = set.imageBytes();
  set.pixels.assign(ib.begin() + 16, ib.begin() + 16 + static_cast<std::ptrdiff_t>(n * bytes));
  set.labels.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    set.labels.push_back(checkedLabel(lb[8 + i], classes, labels, "labels", 8 + i));
  }
  return set;
}

ImageSet readIdxSplit(const fs::path& dir, bool train, std::size_t maxSamples,
                      ImageShape expect) {
  const std::string stem = train ? "train" : "t10k";
  return readIdx(firstPresent(dir, stem + "-images-idx3-ubyte"),
                 firstPresent(dir, stem + "-labels-idx1-ubyte"), 10, maxSamples, expect);
}

ImageSet readCifar10(const std::vector<fs::path>& files, std::size_t maxSamples) {
  ImageSet set;
  set.channels = 3;
  set.height = 32;
  set.width = 32;
  set.classes = 10;
  for (const auto& f : files) {
    if (maxSamples != 0 && set.size() >= maxSamples) break;
    set.source += (set.source.empty() ? "" : " + ") + f.string();
    const auto b = readBytes(f, "data", "CIFAR-10 batch file");
    if (b.empty()) throw at(f, "data", 0, "empty file: no CIFAR-10 record");
    if (b.size() % kCifarRecordBytes != 0) {
      throw at(f, "data", b.size() / kCifarRecordBytes * kCifarRecordBytes,
               "truncated record: " + std::to_string(b.size() % kCifarRecordBytes) + " of " +
                   std::to_string(kCifarRecordBytes) +
                   " bytes (one label byte, 3 x 32 x 32 pixels)");
    }
    for (std::size_t off = 0; off < b.size(); off += kCifarRecordBytes) {
      if (maxSamples != 0 && set.size() >= maxSamples) break;
      set.labels.push_back(checkedLabel(b[off], 10, f, "data", off));
      set.pixels.insert(set.pixels.end(), b.begin() + static_cast<std::ptrdiff_t>(off + 1),
                        b.begin() + static_cast<std::ptrdiff_t>(off + kCifarRecordBytes));
    }
  }
  return set;
}

ImageSet readCifar10Split(const fs::path& dir, bool train, std::size_t maxSamples) {
  std::vector<fs::path> files;
  if (!train) {
    files.push_back(dir / "test_batch.bin");
  } else {
    files.push_back(dir / "data_batch_1.bin");  // required: openInputFile names it if missing
    for (int i = 2; i <= 5; ++i) {
      auto p = dir / ("data_batch_" + std::to_string(i) + ".bin");
      if (fs::exists(p)) files.push_back(p);
    }
  }
  return readCifar10(files, maxSamples);
}

fs::path defaultFashionMnistDir() { return "/usr/share/datasets/fashion-mnist"; }

}  // namespace ecramsim::io

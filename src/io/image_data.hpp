#pragma once
/// Image data sets for network training, read from the files their publishers ship:
///  - IDX (MNIST, Fashion-MNIST): an images file (magic 0x00000803: unsigned bytes, three
///    dimensions N x rows x cols, big-endian 32-bit sizes) and a labels file (magic 0x00000801:
///    N unsigned bytes), each either raw or gzip-compressed (Debian's dataset-fashion-mnist
///    ships `train-images-idx3-ubyte.gz` ... under /usr/share/datasets/fashion-mnist);
///  - CIFAR-10 binary batches: records of one label byte and 3 x 32 x 32 pixel bytes (red plane,
///    green plane, blue plane, each row-major), 10,000 records a file, `data_batch_1.bin` ...
///    `data_batch_5.bin` for training and `test_batch.bin` for testing.
/// Every defect is an InputError naming the file and the byte offset where it was found (the
/// offset into the decompressed stream for a .gz file): a wrong magic number, a truncated file,
/// a label out of range, images of another size than the caller expects, a labels file whose
/// count differs from the images file's.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ecramsim::io {

/// Images of one split, pixels as stored (0..255), samples x channels x height x width.
struct ImageSet {
  std::string source;            ///< the files read, for provenance and messages
  int channels = 0;
  int height = 0;
  int width = 0;
  int classes = 0;               ///< labels are 0 .. classes - 1
  std::vector<std::uint8_t> pixels;
  std::vector<int> labels;

  [[nodiscard]] std::size_t size() const { return labels.size(); }
  [[nodiscard]] std::size_t imageBytes() const {
    return static_cast<std::size_t>(channels) * static_cast<std::size_t>(height) *
           static_cast<std::size_t>(width);
  }
  [[nodiscard]] const std::uint8_t* image(std::size_t i) const {
    return pixels.data() + i * imageBytes();
  }
};

/// Largest decompressed IDX file accepted, bytes (256 MiB; Fashion-MNIST's training images
/// are 47 MB), so a hostile .gz cannot exhaust memory.
inline constexpr std::size_t kMaxIdxBytes = std::size_t{256} << 20;

/// Shape a reader must find; 0 accepts any.
struct ImageShape {
  int channels = 0;
  int height = 0;
  int width = 0;
};

/// Reads an IDX images file and its labels file (raw or .gz). `maxSamples` (0: all) keeps the
/// first samples only; `classes` is the number of classes labels must lie below (10 for MNIST
/// and Fashion-MNIST). `expect.height/width`, when nonzero, must match the file's.
[[nodiscard]] ImageSet readIdx(const std::filesystem::path& images,
                               const std::filesystem::path& labels, int classes = 10,
                               std::size_t maxSamples = 0, ImageShape expect = {});

/// The Fashion-MNIST or MNIST split `train` or `test` from a directory holding the four IDX
/// files under their published names (`train-images-idx3-ubyte[.gz]`, `t10k-...`).
[[nodiscard]] ImageSet readIdxSplit(const std::filesystem::path& dir, bool train,
                                    std::size_t maxSamples = 0, ImageShape expect = {});

/// Bytes of one CIFAR-10 record: the label and 3 x 32 x 32 pixels.
inline constexpr std::size_t kCifarRecordBytes = 1 + 3 * 32 * 32;

/// Reads CIFAR-10 binary batch files in the order given, the first `maxSamples` records in all
/// (0: all). A file whose length is not a whole number of records is truncated: the error names
/// the offset of its incomplete record.
[[nodiscard]] ImageSet readCifar10(const std::vector<std::filesystem::path>& files,
                                   std::size_t maxSamples = 0);

/// The CIFAR-10 split `train` (data_batch_1.bin ... data_batch_5.bin; those present, at least
/// the first) or `test` (test_batch.bin) from a directory.
[[nodiscard]] ImageSet readCifar10Split(const std::filesystem::path& dir, bool train,
                                        std::size_t maxSamples = 0);

/// The default location of Fashion-MNIST on Debian (package dataset-fashion-mnist).
[[nodiscard]] std::filesystem::path defaultFashionMnistDir();

}  // namespace ecramsim::io

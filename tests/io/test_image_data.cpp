// Image data set readers (io/image_data.hpp): IDX and CIFAR-10 binary fixtures made here in the
// published formats, every corrupt case of issue 14 (build item 4) with the file and byte
// offset it must name, and the real Fashion-MNIST files when Debian's package is installed.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "io/image_data.hpp"
#include "../support/image_fixtures.hpp"

using namespace ecramsim;
namespace fs = std::filesystem;

namespace {

using test::Bytes;

fs::path scratch() { return test::imageScratch("img"); }
fs::path writeBytes(const std::string& name, const Bytes& b) {
  return test::writeBytes(scratch() / name, b);
}
fs::path writeGz(const std::string& name, const Bytes& b) {
  return test::writeGz(scratch() / name, b);
}

/// n images of h x w whose pixel (i, k) is (7 i + k) mod 256, labels i mod 10.
Bytes idxImages(std::uint32_t n, std::uint32_t h, std::uint32_t w) {
  return test::idxImages(n, h, w, [](std::uint32_t i, std::uint32_t k) {
    return static_cast<std::uint8_t>(7 * i + k);
  });
}
Bytes idxLabels(std::uint32_t n) {
  return test::idxLabels(n, [](std::uint32_t i) { return static_cast<std::uint8_t>(i % 10); });
}

/// n CIFAR-10 records: label (3 i) mod 10, pixel k of record i = (i + k) mod 256.
Bytes cifarRecords(std::size_t n) {
  Bytes b;
  for (std::size_t i = 0; i < n; ++i) {
    b.push_back(static_cast<std::uint8_t>(3 * i % 10));
    for (std::size_t k = 0; k < 3072; ++k) b.push_back(static_cast<std::uint8_t>(i + k));
  }
  return b;
}

template <typename F>
std::string errorOf(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("idx: raw and gzip fixtures read back pixel for pixel, --subset keeps the first") {
  const auto img = idxImages(12, 5, 4);
  const auto lab = idxLabels(12);
  for (bool gz : {false, true}) {
    CAPTURE(gz);
    const auto ip = gz ? writeGz("a-images.gz", img) : writeBytes("a-images", img);
    const auto lp = gz ? writeGz("a-labels.gz", lab) : writeBytes("a-labels", lab);
    const auto s = io::readIdx(ip, lp);
    REQUIRE(s.size() == 12);
    CHECK(s.channels == 1);
    CHECK(s.height == 5);
    CHECK(s.width == 4);
    CHECK(s.pixels.size() == 12 * 20);
    CHECK(s.image(3)[0] == 21);
    CHECK(s.image(11)[19] == static_cast<std::uint8_t>(77 + 19));
    CHECK(s.labels[11] == 1);
    const auto sub = io::readIdx(ip, lp, 10, 5);
    CHECK(sub.size() == 5);
    CHECK(sub.pixels.size() == 5 * 20);
    CHECK(std::equal(sub.pixels.begin(), sub.pixels.end(), s.pixels.begin()));
  }
}

TEST_CASE("idx: each corrupt case names the file and the byte offset") {
  const auto good = idxImages(6, 3, 3);
  const auto labels = writeBytes("b-labels", idxLabels(6));

  auto magic = good;
  magic[3] = 0x02;
  const auto mp = writeBytes("magic-images", magic);
  auto e = errorOf([&] { (void)io::readIdx(mp, labels); });
  CHECK(e.find(mp.string()) != std::string::npos);
  CHECK(e.find("byte offset 0: magic number 0x00000802") != std::string::npos);

  auto truncated = good;
  truncated.resize(16 + 4 * 9 + 5);  // four whole images and part of the fifth
  const auto tp = writeBytes("trunc-images", truncated);
  e = errorOf([&] { (void)io::readIdx(tp, labels); });
  CHECK(e.find(tp.string()) != std::string::npos);
  CHECK(e.find("byte offset 52: truncated: the header announces 6 items of 9 bytes, the file "
               "holds 4 whole items") != std::string::npos);
  const auto tgz = writeGz("trunc-images.gz", truncated);
  e = errorOf([&] { (void)io::readIdx(tgz, labels); });
  CHECK(e.find("decompressed byte offset 52: truncated") != std::string::npos);

  // A .gz file cut inside its compressed stream.
  auto gzBytes = [&] {
    const auto p = writeGz("whole.gz", good);
    std::ifstream in(p, std::ios::binary);
    return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }();
  gzBytes.resize(gzBytes.size() / 2);
  const auto cut = writeBytes("cut-images.gz", gzBytes);
  e = errorOf([&] { (void)io::readIdx(cut, labels); });
  CHECK(e.find(cut.string()) != std::string::npos);
  CHECK(e.find("not a valid gzip stream") != std::string::npos);

  auto badLabel = idxLabels(6);
  badLabel[8 + 4] = 10;
  const auto bl = writeBytes("bad-labels", badLabel);
  const auto gp = writeBytes("good-images", good);
  e = errorOf([&] { (void)io::readIdx(gp, bl); });
  CHECK(e.find(bl.string()) != std::string::npos);
  CHECK(e.find("byte offset 12: label 10 is out of range 0..9") != std::string::npos);

  const auto fewer = writeBytes("five-labels", idxLabels(5));
  e = errorOf([&] { (void)io::readIdx(gp, fewer); });
  CHECK(e.find("byte offset 4: holds 5 labels for the 6 images") != std::string::npos);

  e = errorOf([&] { (void)io::readIdx(gp, labels, 10, 0, {1, 28, 28}); });
  CHECK(e.find(gp.string()) != std::string::npos);
  CHECK(e.find("byte offset 8: images are 3 x 3, expected 28 x 28") != std::string::npos);

  auto longer = good;
  longer.push_back(0);
  const auto lp = writeBytes("long-images", longer);
  e = errorOf([&] { (void)io::readIdx(lp, labels); });
  CHECK(e.find("byte offset 70: 1 bytes follow the last item") != std::string::npos);

  e = errorOf([&] { (void)io::readIdx(scratch() / "absent", labels); });
  CHECK(e.find("absent") != std::string::npos);
}

TEST_CASE("cifar-10: batch fixtures in the published format, split and subset") {
  const auto dir = scratch() / "cifar";
  fs::create_directories(dir);
  const auto b1 = cifarRecords(4);
  const auto b2 = cifarRecords(3);
  std::ofstream(dir / "data_batch_1.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(b1.data()), static_cast<std::streamsize>(b1.size()));
  std::ofstream(dir / "data_batch_2.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(b2.data()), static_cast<std::streamsize>(b2.size()));
  std::ofstream(dir / "test_batch.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(b2.data()), static_cast<std::streamsize>(b2.size()));
  const auto train = io::readCifar10Split(dir, true);
  REQUIRE(train.size() == 7);
  CHECK(train.channels == 3);
  CHECK(train.height == 32);
  CHECK(train.width == 32);
  CHECK(train.labels[3] == 9);
  CHECK(train.labels[4] == 0);  // the first record of the second batch
  CHECK(train.image(1)[0] == 1);
  CHECK(train.image(1)[1024] == static_cast<std::uint8_t>(1 + 1024));  // green plane
  CHECK(train.image(5)[3071] == static_cast<std::uint8_t>(1 + 3071));
  CHECK(io::readCifar10Split(dir, false).size() == 3);
  CHECK(io::readCifar10Split(dir, true, 5).size() == 5);
}

TEST_CASE("cifar-10: truncated record, label out of range, empty file, missing batch") {
  auto t = cifarRecords(3);
  t.resize(2 * io::kCifarRecordBytes + 100);
  const auto tp = writeBytes("trunc.bin", t);
  auto e = errorOf([&] { (void)io::readCifar10({tp}); });
  CHECK(e.find(tp.string()) != std::string::npos);
  CHECK(e.find("byte offset 6146: truncated record: 100 of 3073 bytes") != std::string::npos);

  auto l = cifarRecords(3);
  l[2 * io::kCifarRecordBytes] = 200;
  const auto lp = writeBytes("label.bin", l);
  e = errorOf([&] { (void)io::readCifar10({lp}); });
  CHECK(e.find("byte offset 6146: label 200 is out of range 0..9") != std::string::npos);

  const auto ep = writeBytes("empty.bin", {});
  CHECK(errorOf([&] { (void)io::readCifar10({ep}); }).find("byte offset 0: empty file") !=
        std::string::npos);

  const auto none = scratch() / "no_cifar_here";
  fs::create_directories(none);
  CHECK(errorOf([&] { (void)io::readCifar10Split(none, true); }).find("data_batch_1.bin") !=
        std::string::npos);
}

TEST_CASE("fashion-mnist: Debian's files, first samples and class counts") {
  const auto dir = io::defaultFashionMnistDir();
  if (!fs::exists(dir / "t10k-images-idx3-ubyte.gz")) {
    MESSAGE("dataset-fashion-mnist not installed: skipped");
    return;
  }
  const auto test = io::readIdxSplit(dir, false, 0, {1, 28, 28});
  REQUIRE(test.size() == 10000);
  std::vector<int> count(10, 0);
  for (int y : test.labels) ++count[static_cast<std::size_t>(y)];
  for (int c : count) CHECK(c == 1000);  // the test split is balanced
  CHECK(test.labels[0] == 9);            // ankle boot, the data set's first test image
  const auto sub = io::readIdxSplit(dir, true, 100);
  CHECK(sub.size() == 100);
  CHECK(sub.labels[0] == 9);
}

/// Output targets (issue 11, item 6): a finished output is renamed over a regular file, but a
/// FIFO or a character device is written into, never replaced. Nodes are made in a temporary
/// folder (mkfifo, mknod when permitted), never the system's /dev/null.

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "io/hdf5.hpp"
#include "io/output_file.hpp"

using namespace ecramsim;
namespace fs = std::filesystem;

namespace {

fs::path scratchDir() {
  const fs::path d = fs::temp_directory_path() / ("ecramsim_outfile_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

mode_t typeOf(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & S_IFMT;
}

/// What a FIFO holds now (its reader is non-blocking).
std::string drain(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

ResultTree smallTree() {
  ResultTree t;
  t.scalar("/metrics/x", 1.5, "1");
  return t;
}

const std::string kHdf5Signature("\x89HDF\r\n\x1a\n", 8);

}  // namespace

TEST_CASE("item 6: a FIFO target is written into, not replaced") {
  const fs::path dir = scratchDir();
  const fs::path fifo = dir / "out.h5";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // A reader that never blocks: the writer can open the FIFO, the result (a few KB) fits in
  // the pipe's buffer.
  const int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(fd >= 0);
  io::writeResultFile(smallTree(), fifo, {"ecramsim test", 1, "2026-01-01T00:00:00Z", "complete"});
  CHECK(typeOf(fifo) == S_IFIFO);
  CHECK(drain(fd).substr(0, 8) == kHdf5Signature);
  io::writeTextFile(fifo, "a,b\n1,2\n");
  CHECK(typeOf(fifo) == S_IFIFO);
  CHECK(drain(fd) == "a,b\n1,2\n");
  ::close(fd);
  // No temporary left beside the target.
  for (const auto& e : fs::directory_iterator(dir)) CHECK(e.path() == fifo);
  fs::remove_all(dir);
}

TEST_CASE("item 6: a character device target is written into, not replaced") {
  const fs::path dir = scratchDir();
  const fs::path node = dir / "null";
  if (::mknod(node.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
    MESSAGE("mknod is not permitted here (" << std::strerror(errno) << "): skipped");
    fs::remove_all(dir);
    return;
  }
  io::writeResultFile(smallTree(), node, {"ecramsim test", 1, "2026-01-01T00:00:00Z", "complete"});
  CHECK(typeOf(node) == S_IFCHR);
  io::writeTextFile(node, "text\n");
  CHECK(typeOf(node) == S_IFCHR);
  // A symlink to the device: the device is written through the link.
  const fs::path link = dir / "link.h5";
  fs::create_symlink(node, link);
  io::writeResultFile(smallTree(), link, {});
  CHECK(typeOf(link) == S_IFLNK);
  CHECK(typeOf(node) == S_IFCHR);
  for (const auto& e : fs::directory_iterator(dir)) {
    CHECK(e.path().string().find(".tmp-") == std::string::npos);
  }
  fs::remove_all(dir);
}

TEST_CASE("item 6: a directory target is refused, naming it, a regular file is replaced") {
  const fs::path dir = scratchDir();
  const fs::path sub = dir / "sub";
  fs::create_directories(sub);
  CHECK_THROWS_WITH_AS(io::writeResultFile(smallTree(), sub, {}),
                       doctest::Contains((sub.string() + ": cannot write").c_str()), IoError);
  CHECK(typeOf(sub) == S_IFDIR);
  const fs::path file = dir / "out.csv";
  io::writeTextFile(file, "old\n");
  io::writeTextFile(file, "new\n");
  CHECK(fs::file_size(file) == 4);
  fs::remove_all(dir);
}

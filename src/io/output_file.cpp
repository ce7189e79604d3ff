#include "io/output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace fs = std::filesystem;

namespace ecramsim::io {

namespace {

enum class TargetKind { Missing, Regular, Stream };

/// What `target` is, following symlinks. Throws IoError for targets that are neither regular
/// files, character devices nor FIFOs.
TargetKind kindOf(const fs::path& target) {
  struct stat st {};
  if (::stat(target.c_str(), &st) != 0) {
    if (errno == ENOENT) return TargetKind::Missing;
    throw IoError(target.string() + ": cannot write: " + std::strerror(errno));
  }
  if (S_ISREG(st.st_mode)) return TargetKind::Regular;
  if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) return TargetKind::Stream;
  const char* what = S_ISDIR(st.st_mode)   ? "a directory"
                     : S_ISBLK(st.st_mode) ? "a block device"
                     : S_ISSOCK(st.st_mode) ? "a socket"
                                            : "not a regular file";
  throw IoError(target.string() + ": cannot write: it is " + what +
                " (outputs go to regular files, character devices or FIFOs)");
}

/// Copies the file `from` into the already existing device or FIFO `to`, without truncating,
/// creating or replacing it.
void copyInto(const fs::path& from, const fs::path& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) throw IoError(to.string() + ": cannot read back " + from.string());
  const int out = ::open(to.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (out < 0) {
    const int err = errno;
    ::close(in);
    throw IoError(to.string() + ": cannot write: " + std::strerror(err));
  }
  std::vector<char> buf(1 << 16);
  std::string failure;
  for (;;) {
    const ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      failure = std::string("cannot read back the output: ") + std::strerror(errno);
      break;
    }
    if (n == 0) break;
    for (ssize_t done = 0; done < n && failure.empty();) {
      const ssize_t w = ::write(out, buf.data() + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) failure = std::string("cannot write: ") + std::strerror(errno);
      if (w > 0) done += w;
    }
    if (!failure.empty()) break;
  }
  ::close(in);
  if (::close(out) != 0 && failure.empty()) {
    failure = std::string("cannot write: ") + std::strerror(errno);
  }
  if (!failure.empty()) throw IoError(to.string() + ": " + failure);
}

}  // namespace

OutputFile::OutputFile(fs::path target) : target_(std::move(target)) {
  const std::string pid = std::to_string(::getpid());
  if (kindOf(target_) == TargetKind::Stream) {
    static std::atomic<unsigned> counter{0};
    temporary_ = fs::temp_directory_path() /
                 ("ecramsim-output.tmp-" + pid + "-" + std::to_string(counter++));
  } else {
    temporary_ = target_.string() + ".tmp-" + pid;
  }
}

OutputFile::~OutputFile() {
  if (committed_) return;
  std::error_code ec;
  fs::remove(temporary_, ec);
}

void OutputFile::commit() {
  std::error_code ec;
  if (kindOf(target_) == TargetKind::Stream) {
    copyInto(temporary_, target_);
    fs::remove(temporary_, ec);
  } else {
    fs::rename(temporary_, target_, ec);
    if (ec) {
      throw IoError(target_.string() + ": cannot move the finished file into place: " +
                    ec.message());
    }
  }
  committed_ = true;
}

void writeTextFile(const fs::path& target, std::string_view text) {
  OutputFile out(target);
  {
    std::ofstream f(out.temporary(), std::ios::binary | std::ios::trunc);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    f.flush();
    if (!f) throw IoError(target.string() + ": cannot write");
  }
  out.commit();
}

}  // namespace ecramsim::io

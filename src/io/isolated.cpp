#include "io/isolated.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <new>

#include "core/error.hpp"
#include "core/sanitizer.hpp"

#if ECRAMSIM_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

namespace ecramsim::io {

namespace {

/// Writes all of `data` to `fd`; false on failure (the reader went away).
bool writeAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

/// Caps the address space at what is mapped now plus `extra` bytes, and the CPU time. Under
/// AddressSanitizer the address space is not capped (ASan maps its own memory as it goes and
/// fails under a cap); its allocator refuses absurd sizes instead.
void applyLimits(const ChildLimits& limits) {
  const rlimit cpu{limits.cpuSeconds, limits.cpuSeconds};
  ::setrlimit(RLIMIT_CPU, &cpu);
  if (kAddressSanitizer) return;
  unsigned long long pages = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%llu", &pages) != 1) pages = 0;
    std::fclose(f);
  }
  if (pages > 0) {
    const rlim_t as = static_cast<rlim_t>(pages) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) +
                      static_cast<rlim_t>(limits.extraMemoryBytes);
    const rlimit r{as, as};
    ::setrlimit(RLIMIT_AS, &r);
  }
}

}  // namespace

std::string runIsolated(const std::string& what, const ChildLimits& limits,
                        const std::function<std::string()>& work) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw IoError(what + ": cannot start a reader process: " + std::strerror(errno));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw IoError(what + ": cannot start a reader process: " + std::strerror(err));
  }
  if (pid == 0) {
    // The child: reply "K" + result or "E" + message, then _exit (no atexit handlers, no
    // flushing of the parent's stdio buffers or HDF5 files).
    ::close(fds[0]);
    // A crash is reported to the parent as the signal itself, not through handlers the parent
    // installed (a test runner's, a sanitizer's).
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGXCPU}) {
      std::signal(sig, SIG_DFL);
    }
#if ECRAMSIM_ASAN
    // Likewise a sanitizer report on libhdf5's behalf ends the child with status 1, not through
    // a death callback of the parent's (libFuzzer's writes a crash reproducer of its own).
    __sanitizer_set_death_callback(nullptr);
#endif
    applyLimits(limits);
    std::string reply;
    try {
      reply = "K" + work();
    } catch (const std::bad_alloc&) {
      reply = "E" + what + ": cannot be read within the memory allowed for a file of its size " +
              "(corrupt?)";
    } catch (const std::exception& e) {
      reply = std::string("E") + e.what();
    } catch (...) {
      reply = "E" + what + ": cannot be read";
    }
    ::_exit(writeAll(fds[1], reply) ? 0 : 1);
  }
  ::close(fds[1]);
  std::string data;
  int status = 0;
  auto reap = [&] {
    ::close(fds[0]);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  };
  try {
    char buf[1 << 16];
    for (;;) {
      const ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      data.append(buf, static_cast<std::size_t>(n));
    }
  } catch (...) {  // no memory for the reply: stop the child, leave no zombie
    ::kill(pid, SIGKILL);
    reap();
    throw IoError(what + ": not enough memory to take its contents");
  }
  reap();
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = ::strsignal(sig);
    throw IoError(what + ": the HDF5 library crashed or ran away reading it (signal " +
                  std::to_string(sig) + (name != nullptr ? std::string(", ") + name : "") +
                  "): the file is corrupt");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || data.empty()) {
    throw IoError(what + ": the reader process failed");
  }
  if (data.front() == 'E') throw IoError(data.substr(1));
  data.erase(0, 1);
  return data;
}

}  // namespace ecramsim::io

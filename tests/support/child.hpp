#pragma once
/// Running the built ecramsim binary as a child a test can time-bound and signal: output goes
/// to a log file in the test's scratch folder, and the child never outlives its deadline (it is
/// killed with SIGKILL, so a regression that hangs fails instead of hanging the suite).

#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/sanitizer.hpp"

extern char** environ;

namespace ecramsim::test {

/// A running `ecramsim` child.
struct Child {
  pid_t pid = -1;
  std::filesystem::path log;  ///< its stdout and stderr

  /// Everything it printed so far.
  [[nodiscard]] std::string output() const {
    std::ifstream in(log);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

/// Starts `ecramsim ARGS` with stdout and stderr in `log`. `addressSpaceBytes` > 0 caps the
/// child's RLIMIT_AS (set in the parent around the spawn and restored at once; not under ASan).
inline Child startCli(const std::vector<std::string>& args, const std::filesystem::path& log,
                      rlim_t addressSpaceBytes = 0) {
  std::vector<std::string> argv{ECRAMSIM_CLI_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  rlimit saved{};
  getrlimit(RLIMIT_AS, &saved);
  if (kAddressSanitizer) addressSpaceBytes = 0;
  if (addressSpaceBytes > 0) {
    rlimit capped = saved;
    capped.rlim_cur = addressSpaceBytes;
    REQUIRE(setrlimit(RLIMIT_AS, &capped) == 0);
  }
  Child c;
  c.log = log;
  const int rc = posix_spawn(&c.pid, argv[0].c_str(), &fa, nullptr, cargv.data(), environ);
  if (addressSpaceBytes > 0) setrlimit(RLIMIT_AS, &saved);
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(rc == 0);
  return c;
}

/// Waits for `c` at most `timeout`: its exit status, 128 + signal when a signal ended it, or
/// -1 when it was still running (it is then killed with SIGKILL and reaped).
inline int waitFor(const Child& c, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int st = 0;
    const pid_t done = waitpid(c.pid, &st, WNOHANG);
    if (done == c.pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(c.pid, SIGKILL);
      waitpid(c.pid, &st, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

struct TimedRun {
  int status = -1;  ///< as waitFor
  std::string output;
};

/// Runs `ecramsim ARGS` to its end or `timeout`, whichever comes first (see startCli).
inline TimedRun runCli(const std::vector<std::string>& args, const std::filesystem::path& log,
                       std::chrono::milliseconds timeout, rlim_t addressSpaceBytes = 0) {
  const Child c = startCli(args, log, addressSpaceBytes);
  TimedRun r;
  r.status = waitFor(c, timeout);
  r.output = c.output();
  return r;
}

}  // namespace ecramsim::test

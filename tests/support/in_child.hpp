#pragma once
/// Running a reproducer that may crash the process (a segfault, a smashed stack) in a forked
/// child, so that a crash fails the test instead of killing the test runner.

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <functional>

namespace ecramsim::test {

/// Runs `body` in a forked child and returns its result (0-127), or 128 + N if signal N
/// killed it. An exception escaping `body` gives 126.
inline int inChild(const std::function<int()>& body) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(sig, SIG_DFL);
    int code = 126;
    try {
      code = body();
    } catch (...) {
    }
    _exit(code);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0) {
  }
  return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

}  // namespace ecramsim::test

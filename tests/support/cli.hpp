#pragma once
/// Running the built ecramsim binary from a test, as a user would: one shared helper for every
/// module's CLI tests (ECRAMSIM_CLI_PATH is set for every test target by tests/CMakeLists.txt).

#include <doctest/doctest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace ecramsim::test {

struct Run {
  int status = -1;
  std::string output;  ///< stdout and stderr together
};

/// Runs the shell command `command`; returns its exit status and everything it printed.
inline Run runShell(const std::string& command) {
  const std::string cmd = command + " 2>&1";
  Run r;
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) r.output += buf.data();
  const int st = pclose(pipe);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

/// Runs `ecramsim ARGS` through the shell; returns its exit status and everything it printed.
inline Run run(const std::string& args) {
  return runShell(std::string(ECRAMSIM_CLI_PATH) + " " + args);
}

}  // namespace ecramsim::test

#pragma once
/// Child processes of `ecramsim sweep`: every point runs as a child process of this same binary
/// (ngspice is one global state per process, so a process runs one point at a time).

#include <sys/types.h>

#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace ecramsim::cli {

/// Environment variables between a sweep and its children.
inline constexpr const char* kSweepParentEnv = "ECRAMSIM_SWEEP_PARENT";  ///< parent's pid
inline constexpr const char* kSweepDryParseEnv = "ECRAMSIM_SWEEP_DRY_PARSE";  ///< "1": parse only

/// Absolute path of this executable (/proc/self/exe), or argv[0] when that is unavailable.
[[nodiscard]] std::string selfExecutable();

/// Starts `exe args...` with stdout on /dev/null and stderr into `stderrFile` (truncated), with
/// ECRAMSIM_SWEEP_PARENT set so the child dies with this process. Throws IoError.
[[nodiscard]] pid_t spawnPoint(const std::string& exe, const std::vector<std::string>& args,
                               const std::filesystem::path& stderrFile);

/// The result of parsing a command line without running it.
struct DryParse {
  int status = 0;      ///< the child's exit status (0: the arguments are accepted)
  std::string output;  ///< its stderr and stdout
};

/// Runs `exe args...` with ECRAMSIM_SWEEP_DRY_PARSE=1: the child parses its command line
/// (every option, value check and subcommand) and returns before any subcommand runs.
[[nodiscard]] DryParse dryParse(const std::string& exe, const std::vector<std::string>& args);

/// Called once at start-up by every ecramsim process: in a sweep's child, arranges to die with
/// the parent (PR_SET_PDEATHSIG), so a killed sweep leaves no orphan running a point; in a
/// dry parse, makes `app` skip every subcommand callback.
void setUpSweepChild(CLI::App& app);

}  // namespace ecramsim::cli

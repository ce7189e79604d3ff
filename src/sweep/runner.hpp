#pragma once
/// Running a sweep: every selected point of a spec as a child process (`jobs` at a time), the
/// folder's state read back so a rerun resumes, shards, and under MPI the points of one run
/// spread over the ranks. The caller (the CLI) starts the processes and draws the progress;
/// this module decides what runs when and keeps the index.

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "sweep/index.hpp"
#include "sweep/points.hpp"
#include "sweep/spec.hpp"

namespace ecramsim::sweep {

/// What a sweep run needs from its caller.
struct RunHooks {
  /// Starts `ecramsim args...` with stderr into `stderrFile` and returns its pid (throws
  /// IoError). The args end with "-o FILE --quiet".
  std::function<pid_t(const std::vector<std::string>& args,
                      const std::filesystem::path& stderrFile)>
      spawn;
  /// Parses `ecramsim args...` without running it: "" when accepted, else why it is refused.
  std::function<std::string(const std::vector<std::string>& args)> refusal;
  /// Called on the lead process once the plan is known, before any point starts: points of
  /// this shard and of the whole sweep, points to run, jobs per process, MPI ranks (0: no MPI).
  std::function<void(std::size_t selected, std::size_t total, std::size_t toRun,
                     std::size_t jobs, int ranks)>
      planned;
  /// Progress over the selection (done, failed) and this run (running, finished of toRun).
  /// `force`: a point just started or ended. Called on the lead process only, without MPI.
  std::function<void(std::size_t done, std::size_t failed, std::size_t running,
                     std::size_t finished, std::size_t toRun, bool force)>
      progress;
};

/// Cores this process may run on (its affinity mask), at least 1.
[[nodiscard]] std::size_t coreCount();

/// Where and how a sweep runs.
struct RunSettings {
  std::filesystem::path dir;  ///< the sweep folder
  std::size_t jobs = 0;       ///< points at once; 0: the core count (1 per rank under MPI)
  std::string shard = "1/1";  ///< K/N
  std::string commandLine;    ///< recorded in the index files
};

/// What a sweep run ended with.
struct RunOutcome {
  bool lead = true;          ///< rank 0 (or no MPI): the process that reports
  bool mpi = false;          ///< ran under MPI
  bool interrupted = false;  ///< a signal stopped it (any rank); the caller throws Interrupted
  IndexTable table;          ///< the final index (lead only)
  StatusCounts counts;       ///< of `table`
  std::size_t ran = 0;       ///< points that ended in this run, all ranks
  double seconds = 0.0;      ///< wall time of the points' run
  std::filesystem::path index;               ///< the index file written
  std::vector<std::string> missingMetrics;   ///< spec metrics found in no complete point
};

/// Runs the points of `spec` that are not complete in settings.dir (a rerun resumes), on this
/// shard, `jobs` at a time, under MPI when started by mpirun. Refuses (InputError) a spec the
/// first point's command line does not parse with, naming the axis or the command to blame, and
/// a folder holding another spec. Writes the index when it starts, every half second while
/// points end (without MPI), and at the end. Throws InputError, IoError.
[[nodiscard]] RunOutcome runSweep(const Spec& spec, const RunSettings& settings,
                                  const RunHooks& hooks);

/// The index file of a sweep folder (index.h5, else its only index*.h5), or `input` itself
/// when it is a file. Throws InputError.
[[nodiscard]] std::filesystem::path findIndexFile(const std::filesystem::path& input);

/// The merged index of `outDir` after mergeInto: built from the point files there and written
/// to outDir/index.h5. Returns its table.
IndexTable writeMergedIndex(const MergeResult& merged, const std::filesystem::path& outDir,
                            const std::string& commandLine);

/// Exit status of a waited-for process: its exit code, or 128 + signal number.
[[nodiscard]] int exitCodeOf(int waitStatus);

/// A duration for people: "42s", "3m07s", "2h05m".
[[nodiscard]] std::string formatDuration(double seconds);

}  // namespace ecramsim::sweep

#pragma once
/// The state of a sweep on disk. A sweep folder holds
///   points/p00007.h5    the point's result file, written atomically by the child process
///   points/p00007.err   a failed point: "exit_status N" then the error message (atomic)
///   points/p00007.log   the child's stderr
///   index.h5            the table of every point (index.shard-K-of-N.h5 for a shard)
///   sweep.log           one line per point started and ended
/// A point is complete when its file exists, its root attribute status is "complete" and its
/// command_line holds the point's arguments; failed when a .err file exists; pending otherwise.
/// The index is always rebuildable from these files.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "sweep/points.hpp"

namespace ecramsim::sweep {

enum class PointStatus { Pending, Complete, Failed };

/// "pending", "complete", "failed".
[[nodiscard]] std::string_view statusName(PointStatus status);

/// What is known of one point.
struct PointRecord {
  std::size_t index = 0;
  PointStatus status = PointStatus::Pending;
  int exitStatus = -1;          ///< the child's exit status (128+N: signal N); -1 not run
  std::string error;            ///< failed: the child's last stderr lines
  std::vector<Metric> metrics;  ///< complete: every metric of the point file
};

/// Reads the state of `point` from `dir`. Never throws for unreadable point files (they count
/// as pending and are run again; `error` then holds why the file could not be read).
[[nodiscard]] PointRecord readPointRecord(const std::filesystem::path& dir, const Spec& spec,
                                          const Point& point, std::size_t totalPoints);

/// How a point's run ended, from what the parent knows once the child is waited for.
enum class PointEnd {
  Complete,     ///< its result file is complete (also when a late interrupt set status 130)
  Interrupted,  ///< stopped by the sweep's interrupt before its file was complete: pending
  Failed,       ///< any other end
};

/// `cancelled`: the sweep was interrupted; `exitCode`: the child's status (128+N: signal N);
/// `signalled`: the child died of a signal; `fileComplete`: readPointRecord found it complete.
/// A child interrupted after its result file was renamed into place exits 130 with a complete
/// file: that point is complete, not failed.
[[nodiscard]] PointEnd classifyPointEnd(bool cancelled, int exitCode, bool signalled,
                                        bool fileComplete);

/// points/pNNNNN.err and .log beside a point file name from pointFileName().
[[nodiscard]] std::string failureFileName(std::size_t index, std::size_t totalPoints);
[[nodiscard]] std::string logFileName(std::size_t index, std::size_t totalPoints);

/// Records a failed point (atomically). Throws IoError.
void writeFailure(const std::filesystem::path& dir, std::size_t index, std::size_t totalPoints,
                  int exitStatus, const std::string& message);
/// Removes a point's failure record, if any.
void clearFailure(const std::filesystem::path& dir, std::size_t index, std::size_t totalPoints);

/// Removes temporaries ("*.tmp-PID") left by killed writers: those of the points in `indices`
/// and of the index file `indexName`. Other shards' temporaries are left alone. Returns how
/// many were removed.
std::size_t removeStrayTemporaries(const std::filesystem::path& dir,
                                   const std::vector<std::size_t>& indices,
                                   std::size_t totalPoints, const std::string& indexName);

/// The last `maxLines` non-empty lines of a text file ("" if unreadable), at most ~1000 chars.
[[nodiscard]] std::string lastLines(const std::filesystem::path& file, std::size_t maxLines);

/// Throws InputError naming the file if any index*.h5 in `dir` was made by a spec with
/// another hash (a changed spec on the same folder).
void checkFolderSpec(const std::filesystem::path& dir, const std::string& hash);

/// What a merge found.
struct MergeResult {
  Spec spec;                  ///< parsed from the spec text stored in the inputs' indexes
  std::vector<Point> points;  ///< every point of the sweep
  std::string hash;
  std::size_t copied = 0;     ///< point files copied into the output folder
  /// Index files that could not be read (IoError messages, naming them): skipped, their
  /// shards' points left out of the merge.
  std::vector<std::string> unreadable;
};

/// Joins shard outputs: `inputs` are sweep folders or index files (a folder contributes every
/// index*.h5 in it). All must hold the same spec (hash); point files, failure records and logs
/// are copied into `outDir`/points (atomically; a complete point already there is kept). An
/// index file that cannot be read (corrupt) is skipped and listed in `unreadable`; point files
/// that cannot be read stay pending. The caller then rebuilds `outDir`/index.h5 from the files.
/// Throws InputError / IoError (also when no input index can be read).
[[nodiscard]] MergeResult mergeInto(const std::vector<std::filesystem::path>& inputs,
                                    const std::filesystem::path& outDir);

}  // namespace ecramsim::sweep

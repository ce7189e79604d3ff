#pragma once
/// HDF5 result files (DESIGN.md section 7). A ResultTree is written in one go to a temporary
/// name beside the target and renamed into place when complete, so a reader never sees a
/// partial file and an interrupted run leaves none behind.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/progress.hpp"
#include "core/result.hpp"

namespace ecramsim::io {

/// Root attributes every result file carries.
struct RunInfo {
  std::string commandLine;       ///< the command as typed
  std::uint64_t seed = 0;        ///< seed of the run's Rng
  std::string startTime;         ///< ISO 8601 UTC
  std::string status = "complete";  ///< "complete", "interrupted" or "failed"
  /// Checked between slabs of large datasets; when set, the write stops (Interrupted). Null
  /// for files that must be written after a cancellation (a sweep's final index).
  const CancelToken* cancel = nullptr;
};

/// The current UTC time as ISO 8601 ("2026-11-28T21:10:29Z").
[[nodiscard]] std::string isoTimeNow();

/// Writes `tree` to `path` atomically (temporary file + rename). Throws IoError naming the file.
/// Root attributes: tool_version, schema_version, command_line, seed, start_time, status.
/// Vectors and matrices of more than 64 values are chunked and deflate-compressed.
/// External links of the tree are created with H5Lcreate_external.
/// Throws Interrupted, the temporary removed, when info.cancel is set during the write.
void writeResultFile(const ResultTree& tree, const std::filesystem::path& path,
                     const RunInfo& info);

/// Reads a result file back into a tree (datasets, their attributes, group attributes, and
/// external links, which are listed but not followed).
/// Throws IoError naming the file if it cannot be read.
[[nodiscard]] ResultTree readResultFile(const std::filesystem::path& path);

/// A listing of what a file holds: root attributes, then every group and dataset with shape,
/// type, units and description. The text `ecramsim inspect` prints.
[[nodiscard]] std::string describeResultFile(const std::filesystem::path& path);

}  // namespace ecramsim::io

#pragma once
/// HDF5 result files (DESIGN.md section 7). A ResultTree is written in one go to a temporary
/// name beside the target and renamed into place when complete, so a reader never sees a
/// partial file and an interrupted run leaves none behind (io/output_file.hpp: a device or FIFO
/// target is written into, never replaced).

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

/// Writes `tree` to `path` atomically (temporary file + rename; copied into a character device
/// or FIFO). Throws IoError naming the file.
/// Root attributes: tool_version, schema_version, command_line, seed, start_time, status.
/// Vectors and matrices of more than 64 values are chunked and deflate-compressed.
/// Every dataset of rank 1 or more lies along named axes (Dataset::dims, or the defaults of
/// io::axisNames), written as HDF5 dimension scales so that netCDF-4 readers see dimensions with
/// coordinates: the 1-D dataset named like the axis in the array's group or a group above, else
/// an int64 index coordinate 0..n-1 written in the array's group. An axis whose length differs
/// from its coordinates' throws std::logic_error (a bug of the job that filled the tree). A
/// dataset's "description" is also written as netCDF's "long_name".
/// External links of the tree are created with H5Lcreate_external.
/// Throws Interrupted, the temporary removed, when info.cancel is set during the write.
void writeResultFile(const ResultTree& tree, const std::filesystem::path& path,
                     const RunInfo& info);

/// Reads a result file back into a tree (datasets, their attributes, group attributes, and
/// external links, which are listed but not followed). The file is untrusted: it is read in a
/// forked child with bounded memory and CPU time (a crash inside libhdf5 on a corrupt file
/// becomes an IoError), and refused, with an IoError naming the file and the object, if it has
/// non-scalar attributes, more than 1000 attributes on an object, groups nested more than 32
/// deep, a link cycle or a second link to one object, data kept in other files, or a dataset
/// declaring far more data than the file holds (unwritten, corrupt or crafted).
/// Numbers are read as float64 or int64, fixed- and variable-length strings as strings. The
/// dimension-scale bookkeeping (DIMENSION_LIST, REFERENCE_LIST; CLASS and NAME of a scale) is
/// read as Dataset::dims, not as attributes, so a tree read back is written again unchanged.
/// `bounds` caps the reading process; the default suits any file ecramsim writes.
struct ReadBounds {
  unsigned cpuSeconds = 60;  ///< CPU time [s] of the reader, plus 1 s per 10 MB of file
};
[[nodiscard]] ResultTree readResultFile(const std::filesystem::path& path,
                                        const ReadBounds& bounds = {});

/// A listing of what a file holds: root attributes (the first 1000), then every dataset with
/// shape, type, units and description, and the external links. The text `ecramsim inspect`
/// prints. Reads metadata and one-value datasets only, in the same isolated way.
[[nodiscard]] std::string describeResultFile(const std::filesystem::path& path);

}  // namespace ecramsim::io

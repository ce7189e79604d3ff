#pragma once
/// The sweep index: one table of every point (parameters, metrics, status, exit status, error
/// message, file) written as an HDF5 result file with external links to the point files, read
/// back, and exported as CSV.
///
/// Layout of index.h5 (all columns have one row per point, in point order):
///   /sweep            attributes spec_hash, spec_file, command, mode, total_points, shard
///   /sweep/spec_text  the spec as read
///   /points/{index, status, exit_status, error, file, args}
///   /params/<axis>    float64 (with units) when every value is a number, else strings
///   /metrics/<name>   float64 with the point files' units; NaN where a point has none
///   /links/pNNNNN     external link to the point file's root (complete points)

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "sweep/store.hpp"

namespace ecramsim::sweep {

struct IndexColumn {
  std::string name;         ///< axis name ("model.v0") or metric name
  std::string unit;         ///< "" when unknown
  std::string description;
  bool numeric = true;
  std::vector<double> numbers;     ///< numeric columns
  std::vector<std::string> texts;  ///< text columns
};

struct IndexTable {
  std::string specHash;
  std::string specFile;
  std::string specText;
  std::string command;
  std::string mode;
  std::uint64_t seed = 0;
  std::size_t totalPoints = 0;  ///< points of the whole sweep
  std::string shard = "1/1";
  std::vector<std::int64_t> index;
  std::vector<std::string> status;
  std::vector<std::int64_t> exitStatus;
  std::vector<std::string> error;
  std::vector<std::string> file;  ///< relative to the index file's folder
  std::vector<std::string> args;
  std::vector<IndexColumn> params;
  std::vector<IndexColumn> metrics;

  [[nodiscard]] std::size_t rows() const { return index.size(); }
};

/// The table of `points` (a selection of the sweep, in index order) with their `records`
/// (same order). Metric columns: spec.metrics, or else every metric found, in order of first
/// appearance.
[[nodiscard]] IndexTable buildIndexTable(const Spec& spec, const std::vector<Point>& points,
                                         const std::vector<PointRecord>& records,
                                         const std::string& hash, const Shard& shard,
                                         std::size_t totalPoints);

/// The table as a result tree (see the layout above), external links included.
[[nodiscard]] ResultTree indexTree(const IndexTable& table);

/// Reads an index file back. Throws IoError / InputError if it is not a sweep index.
[[nodiscard]] IndexTable readIndexFile(const std::filesystem::path& path);

/// The table as CSV: index, status, exit_status, one column per axis and metric, file, error.
/// Numbers are written in shortest round-trip form; missing metrics are empty fields.
[[nodiscard]] std::string indexCsv(const IndexTable& table);

/// Counts of the table's status column.
struct StatusCounts {
  std::size_t complete = 0, failed = 0, pending = 0;
};
[[nodiscard]] StatusCounts countStatus(const IndexTable& table);

}  // namespace ecramsim::sweep

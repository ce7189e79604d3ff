#pragma once
/// Points of a sweep: generation from a spec (grid, zip, seeded random), each point's
/// command-line arguments, the spec hash, shard selection and file names stable across runs.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sweep/spec.hpp"

namespace ecramsim::sweep {

/// One point: its index in the whole sweep and one value per axis (spec order).
struct Point {
  std::size_t index = 0;
  std::vector<AxisValue> values;
};

/// Every point of the spec, in index order. Grid: first axis slowest (axes of one group
/// advance together); zip: the i-th values together; random: `samples` points drawn point by
/// point, axis by axis, from Rng(spec.seed), so the same spec gives the same points.
/// Throws InputError if the grid exceeds kMaxPoints.
[[nodiscard]] std::vector<Point> generatePoints(const Spec& spec);

/// The arguments of a point after the program name: the spec's command tokens, its fixed args,
/// then per axis `--set key=v`, `--param name=v`, `--flag v` (boolean flags: `--flag` or
/// nothing). The sweep appends `-o FILE --quiet`.
[[nodiscard]] std::vector<std::string> pointArguments(const Spec& spec, const Point& point);

/// The arguments joined with single spaces (for logs, the index and command-line checks).
[[nodiscard]] std::string joinArguments(const std::vector<std::string>& args);

/// A 16-hex-digit FNV-1a hash of every point's arguments. Equal hashes: the same points with
/// the same arguments (comments, formatting and `metrics` of the spec do not count).
[[nodiscard]] std::string specHash(const Spec& spec, const std::vector<Point>& points);

/// The K-th of N disjoint parts of a sweep (1 <= K <= N); point i belongs to part
/// (i mod N) + 1, so parts interleave along the axes and take similar time.
struct Shard {
  std::size_t k = 1;
  std::size_t n = 1;
  [[nodiscard]] bool contains(std::size_t index) const { return index % n == k - 1; }
  [[nodiscard]] bool whole() const { return n == 1; }
};

/// Parses "K/N". Throws InputError naming `--shard` otherwise.
[[nodiscard]] Shard parseShard(std::string_view text);

/// "points/p00007.h5": the point's file relative to the sweep folder. Five digits at least,
/// more when the sweep has more points, so names sort and stay stable across runs.
[[nodiscard]] std::string pointFileName(std::size_t index, std::size_t totalPoints);

/// "index.h5" for a whole sweep, "index.shard-2-of-3.h5" for a shard.
[[nodiscard]] std::string indexFileName(const Shard& shard);

}  // namespace ecramsim::sweep

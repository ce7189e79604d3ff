#pragma once
/// Target maps for programming: a grayscale image (PGM, P2 text or P5 binary) or a CSV matrix,
/// read as normalized values in [0, 1] (gray / maxval for images, the numbers as given for CSV).

#include <cstddef>
#include <filesystem>
#include <vector>

namespace ecramsim::io {

/// Largest PGM image accepted, pixels (width x height); the file itself is capped at
/// kMaxInputBytes (core/input_file.hpp).
inline constexpr std::size_t kMaxPgmPixels = std::size_t{1} << 24;

/// A normalized target, row-major rows x cols.
struct TargetMap {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<double> values;  ///< each in [0, 1]

  [[nodiscard]] double at(std::size_t r, std::size_t c) const { return values[r * cols + c]; }
};

/// Reads FILE (.pgm or .csv by extension). InputError naming the file (and the line for CSV)
/// when it cannot be read, is malformed, holds NaN or a value outside [0, 1], or, when
/// expectRows/expectCols are non-zero, has another size than the array.
[[nodiscard]] TargetMap readTargetMap(const std::filesystem::path& file, std::size_t expectRows = 0,
                                      std::size_t expectCols = 0);

}  // namespace ecramsim::io

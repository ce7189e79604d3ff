#pragma once
/// The mutable state of simulation objects (cell states, beliefs, random streams, solver warm
/// starts), gathered so that a run can stop and continue bit for bit (`train --resume`). Each
/// owner writes its own keys below a prefix it is given and reads them back; the container
/// knows nothing of their meaning. The CLI layer stores it in the result file (/resume).

#include <Eigen/Core>
#include <map>
#include <string>
#include <vector>

#include "core/rng.hpp"

namespace ecramsim {

struct Checkpoint {
  std::map<std::string, std::vector<double>> values;  ///< flat arrays (matrices column-major)
  std::map<std::string, std::string> texts;           ///< random streams (Rng::state)
  std::string source;  ///< where it was read from, for errors (a file name), or empty

  /// The array at `key`; with `size` >= 0 it must have that many elements. InputError naming
  /// `source` and the key otherwise.
  [[nodiscard]] const std::vector<double>& at(const std::string& key, long long size = -1) const;
  /// The text at `key`; InputError naming `source` and the key if absent.
  [[nodiscard]] const std::string& text(const std::string& key) const;

  /// A matrix, stored as a flat column-major array.
  void put(const std::string& key, const Eigen::MatrixXd& m);
  /// The rows x cols matrix at `key`; InputError as at() if absent or of another size.
  [[nodiscard]] Eigen::MatrixXd matrix(const std::string& key, Eigen::Index rows,
                                       Eigen::Index cols) const;
  /// Continues `rng` from the stream saved at `key` (Rng::state); InputError naming the key if
  /// it is absent or not a stream's state.
  void restore(const std::string& key, Rng& rng) const;
  /// The one number at `key`.
  [[nodiscard]] double number(const std::string& key) const { return at(key, 1).front(); }
};

}  // namespace ecramsim

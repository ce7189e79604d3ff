#pragma once
/// Target maps shared by the test executables.

#include <Eigen/Core>

#include "core/rng.hpp"

namespace ecramsim::test {

/// An n x n target of states uniform in [0, 1] (Rng seed 1).
inline Eigen::MatrixXd randomTarget(Eigen::Index n) {
  Rng rng(1);
  Eigen::MatrixXd t(n, n);
  for (Eigen::Index r = 0; r < n; ++r) {
    for (Eigen::Index c = 0; c < n; ++c) t(r, c) = rng.uniform();
  }
  return t;
}

}  // namespace ecramsim::test

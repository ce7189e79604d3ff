#pragma once
/// Array geometries shared by the test executables.

#include "array/geometry.hpp"

namespace ecramsim::test {

/// An n x n array on the shipped lines (app::defaultGeometry): 2 Ohm segments on every line,
/// 20 Ohm drivers, ideal sense.
inline CrossbarGeometry shippedLines(Eigen::Index n) {
  CrossbarGeometry geo;
  geo.rows = geo.cols = n;
  geo.r_gate_seg = geo.r_row_seg = geo.r_col_seg = 2.0;
  geo.r_drv = 20.0;
  return geo;
}

}  // namespace ecramsim::test

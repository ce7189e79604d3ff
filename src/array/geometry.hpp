#pragma once
/// Geometry and wiring of a crossbar of three-terminal ECRAM cells (see control/backend.hpp for
/// the line convention and the Wiring). Every line has one node per cell; consecutive nodes are
/// joined by the line's segment resistance. Lines along a row (gate lines, source lines with
/// Wiring::SourceRows) are driven at their c = 0 end; lines along a column (drain lines, source
/// lines with Wiring::SourceCols) are sensed (read) or driven (write) at their r = R-1 end, each
/// through a driver or sense resistance. There is no segment between a driver and the first cell.
///
/// Zero resistances are ideal wires: the nodes they join are merged into one node (and into the
/// driver's known potential when the driver or sense resistance is 0), so results with ideal
/// wires are exact, not approximated by a small resistance.

#include <Eigen/Core>

#include "control/backend.hpp"
#include "device/params.hpp"

namespace ecramsim {

struct CrossbarGeometry {
  Eigen::Index rows = 1;     ///< R, number of gate/source lines
  Eigen::Index cols = 1;     ///< C, number of drain lines
  double r_gate_seg = 0.0;   ///< Ohm, gate-line resistance between consecutive cells of a row
  double r_row_seg = 0.0;    ///< Ohm, source-line resistance between consecutive cells of the
                             ///< line (of a row, or of a column with Wiring::SourceCols)
  double r_col_seg = 0.0;    ///< Ohm, drain-line resistance between consecutive cells of a column
  double r_drv = 0.0;        ///< Ohm, output resistance of every line driver (reads and writes)
  double r_sense = 0.0;      ///< Ohm, read: input resistance of the virtual ground, or the load
                             ///< resistor to ground of resistive sensing; 0 = ideal virtual ground
  Wiring wiring = Wiring::SourceRows;  ///< where the source lines run

  /// Throws InputError unless rows, cols >= 1 and every resistance is finite and >= 0.
  void validate() const;
  [[nodiscard]] Eigen::Index cells() const { return rows * cols; }
  /// Number of source lines: R (SourceRows) or C (SourceCols).
  [[nodiscard]] Eigen::Index sourceLines() const {
    return wiring == Wiring::SourceRows ? rows : cols;
  }
  /// The source line of cell (r, c).
  [[nodiscard]] Eigen::Index sourceLine(Eigen::Index r, Eigen::Index c) const {
    return wiring == Wiring::SourceRows ? r : c;
  }
};

/// Validates `geo` and requires a linear channel (c3 = 0), which the linear read networks of the
/// array engines assume; `engine` names the engine in the error. Returns `geo`.
const CrossbarGeometry& checkedForLinearRead(const CrossbarGeometry& geo, const EcramParams& p,
                                             const char* engine);

}  // namespace ecramsim

#pragma once
/// Result trees in the formats other tools read: CSV tables (spreadsheets, numpy, pandas) and
/// ngspice raw files (ngspice's `load`, KiCad's simulator, waveform viewers, Python raw
/// readers). What `ecramsim export` writes.

#include <string>
#include <vector>

#include "core/result.hpp"

namespace ecramsim::io {

/// A CSV table and what it left out.
struct CsvExport {
  std::string text;                  ///< header row, then one row per value along the row axis
  std::string rowAxis;               ///< the axis the rows run along ("time", "pulse", ...)
  /// Arrays of the group not along that axis (other than the labels of 2-D arrays' columns).
  std::vector<std::string> skipped;
};

/// The arrays directly in `group` (or the one dataset at that path) as one CSV table. Rows run
/// along the axis most of the arrays start with (their first dimension); the first column holds
/// that axis's coordinates when the file has them. A 1-D array is one column, a 2-D array one
/// column per entry of its second axis, headed `name.label` with the label from that axis's
/// coordinates (node names, ...). The header row gives every column's name and unit
/// (`time [s]`, `node_v.out [V]`). Numbers are written with 17 significant digits at most
/// (the shortest that read back to the same double); text fields are quoted when needed.
/// Throws InputError (parameter "--group") naming the group when it holds no 1-D or 2-D array.
[[nodiscard]] CsvExport csvOfGroup(const ResultTree& tree, const std::string& group,
                                  const std::string& file);

/// The axis names of the dataset `d` at `path`: as declared (Dataset::dims), else a 1-D
/// dataset is its own axis ("name", holding its own coordinates) and axis k of a larger one is
/// "name_dimK". The names writeResultFile gives the dimension scales.
[[nodiscard]] std::vector<std::string> axisNames(const std::string& path, const Dataset& d);

/// A CSV field: `s` as is, or quoted (quotes doubled) when it holds a comma, quote or newline.
[[nodiscard]] std::string csvField(const std::string& s);

/// An ngspice raw file of the waveforms of an `ecramsim run` result: the variables time,
/// v(<node>) [voltage], i(<source>) [current] and per cell x(<cell>) [notype],
/// g(<cell>) [admittance], i_ion(<cell>), i_ds(<cell>) [current], v_gs(<cell>),
/// v_gd(<cell>) [voltage]. ASCII ("Values:", 17 significant digits) or binary ("Binary:",
/// little-endian float64, point by point), as ngspice's `write` makes them; ngspice's `load`
/// reads both. Throws InputError naming `file` when the tree is not a `run` result.
[[nodiscard]] std::string rawOfRun(const ResultTree& tree, bool binary, const std::string& file);

}  // namespace ecramsim::io

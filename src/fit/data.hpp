#pragma once
/// Measured pulse data for calibration (`ecramsim fit`, issue 15): readers of the four input
/// forms, each returning ramps (trains of identical pulses of one polarity) or CrossSim step
/// tables. Every reading is a conductance in S and must be finite and positive; a bad field is
/// an InputError naming the file, the line and the column.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "device/protocols.hpp"

namespace ecramsim::fit {

/// One ramp: g_s[0] is the reading the ramp starts from, g_s[k] the reading after its k-th pulse
/// (so a ramp of n readings holds n - 1 pulses, at least one).
struct Ramp {
  std::string name;
  int polarity = 1;  ///< +1 potentiation (set, up), -1 depression (reset, down)
  int device = 0;    ///< index of the device the ramp was measured on
  std::vector<double> g_s;
  SourceLocation where;  ///< the file, and the line of the ramp's first reading when it has one
};

/// A CrossSim 2 lookup table of one polarity: dg_s[c][b] is the cdf[c] quantile of the signed
/// conductance change of one pulse from conductance g_s[b].
struct StepTable {
  int polarity = 1;
  std::vector<double> g_s;
  std::vector<double> cdf;
  std::vector<std::vector<double>> dg_s;
  SourceLocation where;
};

/// A file the data came from, with the sha256 of its bytes as read.
struct DataFile {
  std::string path;
  std::string sha256;
  std::string kind;  ///< "traces", "two-column", "crosssim-lut", "hdf5"
};

struct MeasuredData {
  std::vector<Ramp> ramps;
  std::vector<StepTable> tables;
  std::vector<DataFile> files;
  /// The pulses of an ecramsim HDF5 file (its /config/protocol), when the file says.
  std::optional<PulseShape> shape;

  /// Appends the data of other devices (their indices offset past this one's), or with
  /// `sameDevices` of the same devices (indices kept: a reset file beside its set file).
  void append(MeasuredData other, bool sameDevices = false);
  [[nodiscard]] int devices() const;
};

/// A traces CSV: a header row of ramp names, then one row per pulse, each column one ramp
/// (conductance in S after each pulse; a ramp ends at its first empty field and every later
/// field of its column must be empty too). `polarity` +1 or -1; 0 takes each ramp's polarity
/// from its trend (last reading above the first: +1).
[[nodiscard]] MeasuredData readTraces(const std::filesystem::path& file, int polarity);

/// A two-column CSV with a header row: column 1 is either the pulse number (integers rising by
/// one: a single ramp, polarity from its trend) or the signed pulse (+1 / -1: the polarity of
/// the pulse before the reading, 0 for a reading with no pulse before it; each run of one
/// sign is a ramp starting from the reading before it); column 2 the conductance in S.
[[nodiscard]] MeasuredData readTwoColumn(const std::filesystem::path& file);

/// A CrossSim 2 lookup-table pair (dG_increasing.txt, dG_decreasing.txt): each a header line
/// (any text; lines starting with '#' are skipped as comments), a row of G bins (S), a row of
/// CDF points (rising, in [0, 1]), then one row per CDF point of signed dG (S), whitespace or
/// comma separated; every row as long as the G-bin row.
[[nodiscard]] MeasuredData readCrossSimLut(const std::filesystem::path& increasing,
                                           const std::filesystem::path& decreasing);

/// An ecramsim HDF5 device file: `device pulses` (/pulses/g_s with /pulses/polarity; one ramp
/// per run of one polarity) or `device windows` (/devices/NAME/g_s, /config/protocol
/// pulses_per_branch; one device per NAME). The pulse shape comes from /config/protocol.
[[nodiscard]] MeasuredData readDeviceFile(const std::filesystem::path& file);

/// One DATA argument of `ecramsim fit`: FILE.h5 -> readDeviceFile; a folder holding
/// dG_increasing.txt and dG_decreasing.txt, or either file -> readCrossSimLut; a CSV with two
/// columns whose first is integral -> readTwoColumn; any other CSV -> readTraces(file, 0).
[[nodiscard]] MeasuredData readData(const std::filesystem::path& file);

}  // namespace ecramsim::fit

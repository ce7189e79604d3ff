#pragma once
/// Generator of plain ngspice netlists for an R x C ECRAM crossbar with line resistance,
/// input drivers, column sensing and programming drivers.
///
/// Topology and node names (r = row 0..R-1, c = column 0..C-1, all 0-based):
/// - Cell (r,c) is `N<r>_<c> g_<r>_<c> d_<r>_<c> s_<r>_<c> MODEL` (gate, drain, source), or with
///   CrossbarSpec::cellConductances_S a resistor `RC<r>_<c> d_<r>_<c> s_<r>_<c> 1/G` (a read
///   array of fixed conductances; no gate network is emitted then).
/// - Source lines run along rows. Line r starts at node `sl_<r>` (left end, driver side) and
///   visits s_<r>_0 ... s_<r>_<C-1>; segment `RS<r>_<c>` joins the previous node to s_<r>_<c>.
/// - Drain lines run along columns. Line c visits d_0_<c> ... d_<R-1>_<c> and ends at node
///   `dl_<c>` (bottom end, sense side); segment `RD<r>_<c>` joins d_<r>_<c> to the next node
///   towards dl_<c>.
/// - Gate lines run along rows (line k = r, from `gl_<k>` at the left end through g_<r>_0 ...) or
///   along columns (line k = c, from `gl_<k>` at the top through g_0_<c> ...); segment
///   `RG<r>_<c>` joins the previous node on the gate line to g_<r>_<c>.
/// - A segment of 0 ohm is emitted as a 0 V source (`V` + the segment name) so node names stay.
/// - Drivers: an ideal source `V<X><i>` at node `v<x>_<i>` behind an output resistor `RO<X><i>`
///   to the line end (X = S for source lines, G for gate lines, D for drain lines when they are
///   driven for programming). With a driver resistance of 0 the source sits on the line end.
/// - Read sensing (Mode::Read) of drain line c at dl_<c>: virtual ground `VSENSE<c> dl_<c> 0 0`
///   (column current = i(vsense<c>), positive for current flowing out of the array into the
///   sense amplifier), or a behavioural TIA: `EA<c> to_<c> 0 0 dl_<c> A` (output = -A v(dl_c))
///   with feedback `RF<c> dl_<c> to_<c> Rf`; then v(to_<c>) = -Rf I_c A/(1+A), v(dl_<c>) = Rf I_c/(1+A),
///   and I_c = (v(dl_c) - v(to_c))/Rf.
///
/// Programming bias schemes (Mode::Program): an ECRAM cell is written by its gate-to-channel
/// voltage, and the channel has two ends, so a cell has two gate-channel voltages: gate minus
/// source-line voltage and gate minus drain-line voltage. One channel line set runs parallel to
/// the gate lines (the source lines when gates run along rows, the drain lines when gates run
/// along columns): call it P, and the other, perpendicular one Q. All cells on one gate line
/// share the same gate-minus-P voltage, so no scheme can give the selected cell V at its P end
/// without giving V to every cell of its gate line (the textbook mapping "selected gate +V/2,
/// both selected channel lines -V/2" would do exactly that). Selection is therefore made with the
/// gate and the Q lines, and the P lines are biased to keep every P-end voltage within the
/// half-select limit. Voltages (all proportional to the signed write voltage V; the standard
/// schemes shifted so that unselected gate lines sit at 0 V):
///
/// | line                    | V/2 scheme | V/3 scheme |
/// |-------------------------|------------|------------|
/// | selected gate line      | +V/2       | +2V/3      |
/// | other gate lines        | 0          | 0          |
/// | selected Q line         | -V/2       | -V/3       |
/// | other Q lines           | 0          | +V/3       |
/// | P line of selected gate | 0          | +V/3       |
/// | other P lines           | 0          | 0          |
///
/// Result (gate-to-channel at the Q end / at the P end): selected cell V / V/2 (V/2 scheme) or
/// V / V/3 (V/3 scheme); every other cell at most V/2 (resp. V/3) at both ends. The selected
/// cell is thus driven with V at one channel end and the half-select voltage at the other, and
/// carries a channel current (V/2 resp. 2V/3 across it); calibrations must use the same mapping.
/// Lines whose level is 0 V are grounded (a DC 0 source behind the driver resistance) or, with
/// Unselected::Floating, left without driver. The pulse is PULSE(0 level delay rise fall width)
/// on every driven nonzero line, or PWL built from normalized points (level times fraction).

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ecramsim::netlist {

enum class GateDirection { AlongRows, AlongColumns };
enum class SenseMode { VirtualGround, Tia };
enum class BiasScheme { HalfV, ThirdV };
enum class Unselected { Grounded, Floating };

/// The programming part of a CrossbarSpec.
struct ProgramSpec {
  BiasScheme scheme = BiasScheme::HalfV;
  int row = 0;                 ///< selected cell
  int col = 0;
  double voltage_V = 5.0;      ///< signed write voltage V the selected cell receives
  Unselected unselected = Unselected::Grounded;
  double delay_s = 0.0;        ///< PULSE shape (used when pwl is empty)
  double rise_s = 1e-6;
  double fall_s = 1e-6;
  double width_s = 100e-3;
  /// PWL shape: (time_s, fraction of the line's level) points; non-empty overrides PULSE.
  std::vector<std::pair<double, double>> pwl;
};

/// Everything the generator needs. Resistances in ohm, voltages in volt.
struct CrossbarSpec {
  int rows = 1;
  int cols = 1;
  std::string title = "ecramsim crossbar";
  std::string model = "ecram";            ///< cell model name
  std::vector<std::string> preamble;      ///< lines after the title (.model, .include, .param)
  std::string analysis = ".op";           ///< analysis line(s), e.g. ".tran 1u 200m"
  GateDirection gates = GateDirection::AlongRows;
  double gateSegment_ohm = 0.0;
  double sourceSegment_ohm = 0.0;         ///< row (source) line segment per cell
  double drainSegment_ohm = 0.0;          ///< column (drain) line segment per cell
  double driverResistance_ohm = 0.0;      ///< output resistance of every line driver
  /// Read mode (no `program`): DC voltage of each row's source-line driver (size rows);
  /// gate lines are held at gateReadVoltage_V.
  std::vector<double> rowVoltages_V;
  double gateReadVoltage_V = 0.0;
  SenseMode sense = SenseMode::VirtualGround;
  double tiaGain = 1e5;
  double tiaFeedback_ohm = 10e3;
  /// When set (size rows*cols, row-major, siemens > 0): cells become resistors.
  std::optional<std::vector<double>> cellConductances_S;
  /// When set: programming mode; rowVoltages_V and sense are not used.
  std::optional<ProgramSpec> program;
};

/// The netlist lines (title first, `.end` last). Throws InputError for inconsistent specs
/// (sizes, negative resistances, selected cell outside the array, ...).
[[nodiscard]] std::vector<std::string> crossbarLines(const CrossbarSpec& spec);

/// The same joined with newlines, ready to be written to a .cir file.
[[nodiscard]] std::string crossbarNetlist(const CrossbarSpec& spec);

/// Nominal drive level of each line in programming mode, as the generator uses it; nullopt for
/// a floating line. Index = line index (gate line k, source line r, drain line c).
struct [[nodiscard]] BiasLevels {
  std::vector<std::optional<double>> gate_V;
  std::vector<std::optional<double>> source_V;
  std::vector<std::optional<double>> drain_V;
};
[[nodiscard]] BiasLevels biasLevels(const CrossbarSpec& spec);

}  // namespace ecramsim::netlist

#pragma once
/// Generator of plain ngspice netlists for an R x C ECRAM crossbar with line resistance,
/// input drivers, column sensing and programming drivers.
///
/// Topology and node names (r = row 0..R-1, c = column 0..C-1, all 0-based). The default,
/// LineTopology::Nodal, is exactly the network of the nodal engine (array/geometry.hpp): every
/// line has one node per cell, consecutive nodes joined by one segment (C-1 segments per row
/// line, R-1 per column line), and the line's driver or sense sits directly on its end cell node
/// through the driver (sense) resistance only.
/// - Cell (r,c) is `N<r>_<c> g_<r>_<c> d_<r>_<c> s_<r>_<c> MODEL` (gate, drain, source), or with
///   CrossbarSpec::cellConductances_S a resistor `RC<r>_<c> d_<r>_<c> s_<r>_<c> 1/G` (a read
///   array of fixed conductances; no gate network is emitted then).
/// - Source line r visits s_<r>_0 ... s_<r>_<C-1>; segment `RS<r>_<c>` (c >= 1) joins s_<r>_<c-1>
///   to s_<r>_<c>. Its end node (lineEndNode) is s_<r>_0. With SourceDirection::AlongColumns
///   (control/backend.hpp Wiring::SourceCols; Nodal topology, gates along rows, no read mode)
///   source line c instead visits s_0_<c> ... s_<R-1>_<c> beside drain line c; segment
///   `RS<r>_<c>` (r <= R-2) joins s_<r>_<c> to s_<r+1>_<c>, and its end node is s_<R-1>_<c>.
/// - Drain line c visits d_0_<c> ... d_<R-1>_<c>; segment `RD<r>_<c>` (r <= R-2) joins d_<r>_<c>
///   to d_<r+1>_<c>. Its end node is d_<R-1>_<c>.
/// - Gate line r runs along row r like the source line (segments `RG<r>_<c>`, end node g_<r>_0).
/// - LineTopology::DriverSegment (the generator's former convention) adds one more segment per
///   line between a separate end node and the first (last) cell: `sl_<r>` -> s_<r>_0 (RS<r>_0),
///   d_<R-1>_<c> -> `dl_<c>` (RD<R-1>_<c>), `gl_<k>` -> first gate node (RG..). Only this topology
///   allows GateDirection::AlongColumns (gate line k = c from `gl_<k>` at the top).
/// - A segment of 0 ohm is emitted as a 0 V source (`V` + the segment name) so node names stay.
/// - On a line without driver (floating) a segment R is written in branch form: `H<name> a
///   <name>_m V<name> R` and `V<name> <name>_m b DC 0` (name lower case in the node), the same
///   Ohm's law with the segment current as an unknown. A floating gate line is held only by the
///   cells' leakage (1 TOhm): stamped as conductances, its 3 Ohm segments and 1 pS leakage meet on
///   one matrix diagonal and ngspice's LU keeps only ~1e-5 of the leakage, so the line's
///   potential came out 2e-5 relative off (and V/3 operating points did not converge). In branch
///   form the diagonal carries the leakage alone.
/// - Drivers: an ideal source `V<X><i>` at node `v<x>_<i>` behind an output resistor `RO<X><i>`
///   to the line end (X = S for source lines, G for gate lines, D for drain lines when they are
///   driven for programming). With a driver resistance of 0 the source sits on the line end.
/// - Read sensing (Mode::Read) of drain line c at its end node E: virtual ground
///   `VSENSE<c> E 0 DC 0`, or with senseResistance_ohm > 0 `RSENSE<c> E sn_<c> Rsense` followed by
///   `VSENSE<c> sn_<c> 0 DC 0` (column current = i(vsense<c>), positive for current flowing out
///   of the array into the sense amplifier), or a behavioural TIA on E:
///   `EA<c> to_<c> 0 0 E A` (output = -A v(E)) with feedback `RF<c> E to_<c> Rf`; then
///   v(to_<c>) = -Rf I_c A/(1+A), v(E) = Rf I_c/(1+A), and I_c = (v(E) - v(to_c))/Rf.
///
/// Programming bias schemes (Mode::Program), gate lines along rows: the mapping of the
/// controller and the nodal engine (control/backend.hpp biasLevels), every level proportional to
/// the signed write voltage V:
///
/// | line                    | V/2 scheme | V/3 scheme |
/// |-------------------------|------------|------------|
/// | selected gate line      | +V/2       | +2V/3      |
/// | other gate lines        | 0          | 0          |
/// | selected drain line     | -V/2       | -V/3       |
/// | other drain lines       | 0          | +V/3       |
/// | every source line       | 0          | +V/3       |
///
/// Selected cell: V at its drain end, V/2 (V/3) at its source end; every other cell at most V/2
/// (V/3) at both ends. With sources along the columns every source line takes its own column's
/// drain level (selected column: -V/2 or -V/3; others 0 or +V/3), so the selected cell sees V at
/// both ends. With Unselected::Floating the unselected gate and drain lines get no driver,
/// whatever their level; source lines are always driven.
///
/// Gate lines along columns (DriverSegment topology only) keep the generator's former mapping:
/// selection by the gate line and the source line (perpendicular), the drain line of the
/// selected gate at the half-select level (V/2 scheme: 0; V/3: +V/3), other lines as in the
/// table with source and drain exchanged, and floating = every 0 V line without driver.
/// The pulse is PULSE(0 level delay rise fall width) on every driven nonzero line, or PWL built
/// from normalized points (level times fraction).
///
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ecramsim::netlist {

enum class GateDirection { AlongRows, AlongColumns };
enum class SenseMode { VirtualGround, Tia };
enum class BiasScheme { HalfV, ThirdV };
enum class Unselected { Grounded, Floating };
/// Where the source lines run (see the file comment).
enum class SourceDirection { AlongRows, AlongColumns };
/// Line topology, see the file comment. Nodal (default) = the nodal engine's network.
enum class LineTopology { Nodal, DriverSegment };
enum class LineKind { Gate, Source, Drain };

/// Explicit drivers of every line (instead of read or program mode): per line the value of its
/// source as SPICE text ("DC 1", "PWL(0 0 1u 2)"), or nullopt for a floating line (no driver).
/// No sensing is emitted; drain lines are driven like the others.
struct LineDrives {
  std::vector<std::optional<std::string>> gate;    ///< R (rows) values
  std::vector<std::optional<std::string>> source;  ///< R, or C with sources along columns
  std::vector<std::optional<std::string>> drain;   ///< C
};

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
  LineTopology topology = LineTopology::Nodal;
  GateDirection gates = GateDirection::AlongRows;
  SourceDirection sources = SourceDirection::AlongRows;
  double gateSegment_ohm = 0.0;
  double sourceSegment_ohm = 0.0;         ///< source line segment per cell
  double drainSegment_ohm = 0.0;          ///< column (drain) line segment per cell
  double driverResistance_ohm = 0.0;      ///< output resistance of every line driver
  double senseResistance_ohm = 0.0;       ///< read: virtual-ground input (or load) resistance
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
  /// When set (and program is not): explicit line drivers; rowVoltages_V and sense not used.
  std::optional<LineDrives> drives;
};

/// The node at which line `index` of kind `kind` is driven or sensed (see the file comment).
[[nodiscard]] std::string lineEndNode(const CrossbarSpec& spec, LineKind kind, int index);

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

#pragma once
/// The ngspice stub of an ECRAM cell (DESIGN.md section 4) and the circuit it lives in.
///
/// A cell `N<name> g d s MODEL` becomes, with `<n>` its lower-case instance name and internal
/// nodes and elements under the reserved prefix `ecr_`:
///
///   vecr_<n>_gx  ecr_<n>_gx  0 external          ; G(x) in S, carried as volts
///   vecr_<n>_uoc ecr_<n>_uoc 0 external          ; U_oc(x) in V
///   becr_<n>_ch  d s  i = v(ecr_<n>_gx) * vds * (1 + c3 vds^2)          ; channel
///   (the gate's Faradaic current, physics::gateCurrent; with rs > 0, per Gauss-Legendre node k
///    of order gate_points, at fraction xi_k of the channel from the source, weight w_k:)
///   recr_<n>_r<k> g ecr_<n>_g<k>  rs / w_k                               ; segment k
///                (with Cell::gate_floats: hecr_<n>_r<k> + vecr_<n>_r<k>, the same as a branch)
///   becr_<n>_f<k>s ecr_<n>_g<k> s  i = (1 - xi_k) w_k i0 sinh(a_k)
///   becr_<n>_f<k>d ecr_<n>_g<k> d  i = xi_k w_k i0 sinh(a_k)
///     a_k = (v(ecr_<n>_g<k>) - (1 - xi_k) v(s) - xi_k v(d) - v(ecr_<n>_uoc)) / v0
///   (with rs = 0, the closed form physics::gateClosedForm, no inner nodes:)
///   becr_<n>_fs  g s  i = i0 sinh(m) sinhc(h) / 2 + i0 cosh(m) gateMoment(h)
///   becr_<n>_fd  g d  i = i0 sinh(m) sinhc(h) / 2 - i0 cosh(m) gateMoment(h)
///   recr_<n>_ls  g s  2 r_leak        recr_<n>_ld  g d  2 r_leak         ; leakage
///   cecr_<n>_cs  g s  c_dl/2          cecr_<n>_cd  g d  c_dl/2           ; double layer
///
/// Segment k carries J = w_k i0 sinh((u_k - J rs / w_k - U_oc) / v0) with u_k its
/// gate-to-channel voltage; with j = J / w_k this is j = faradaicCurrent(u_k), so the segments
/// sum to physics::gateQuadrature exactly, and ngspice solves the implicit rs drops itself. The
/// leakage pair sums to physics::leakageCurrent. A cell with GateModel::TwoPoint gets the two
/// halves 2 rs and 0.5 i0 sinh at its channel ends instead (becr_<n>_f{s,d}, recr_<n>_r{s,d}).
/// G and U_oc come from physics::conductance and physics::openCircuitPotential through the
/// EXTERNAL sources, so the state-dependent physics stays in C++ and is written once. All numbers
/// are written with 17 significant digits.

#include <string>
#include <vector>

#include "core/error.hpp"
#include "device/params.hpp"

namespace ecramsim::cosim {

/// One ECRAM cell of a circuit.
struct Cell {
  std::string name;    ///< lower-case instance name, e.g. "n5_5"
  std::string gate;    ///< lower-case node names ("0" is ground)
  std::string drain;
  std::string source;
  std::string model;   ///< lower-case model name (for the record)
  CellParams params{};  ///< after device-to-device variation
  double x0 = 0.0;     ///< 1, initial state
  /// The gate's line has no driver: the gate is held only through the cell branches. The
  /// gate's series resistors are then written in branch form (`hecr_<n>_r<k>` in series with
  /// `vecr_<n>_r<k>` through `mecr_<n>_r<k>`, see netlist/crossbar.hpp on floating lines).
  bool gate_floats = false;
  SourceLocation origin;  ///< the instance line
};

/// A circuit for the co-simulation: the ngspice lines without the cells (title first, `.end`
/// last, one analysis) and the cells.
struct Circuit {
  std::vector<std::string> lines;
  std::vector<SourceLocation> lineMap;  ///< origin of each line (may be shorter than lines)
  std::vector<Cell> cells;
};

/// The netlist handed to ngspice.
struct [[nodiscard]] Expanded {
  std::vector<std::string> lines;       ///< title first, `.end` last
  std::vector<SourceLocation> lineMap;  ///< same length: stub lines map to their instance
};

/// Names of a cell's EXTERNAL sources (lower case, as ngspice passes them to the callback).
[[nodiscard]] std::string conductanceSource(const Cell& cell);
[[nodiscard]] std::string potentialSource(const Cell& cell);

/// True for the internal nodes and elements the stubs add (prefix `ecr_`), to keep them out of
/// user-facing waveforms.
[[nodiscard]] bool isStubName(std::string_view lowerName);

/// The fields of a netlist line, lower case, split at blanks, parentheses, commas and '='.
[[nodiscard]] std::vector<std::string> lineFields(const std::string& line);

/// The stub lines of one cell (see the file comment).
[[nodiscard]] std::vector<std::string> stubLines(const Cell& cell);

/// The circuit with every cell's stub inserted before `.end`. When the circuit has `.save`
/// lines, the cells' terminals are saved too (the coupling needs them). Throws InputError when a
/// cell has an empty node, two equal names, or the circuit uses the reserved prefix `ecr_`.
[[nodiscard]] Expanded expand(const Circuit& circuit);

}  // namespace ecramsim::cosim

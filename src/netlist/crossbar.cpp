#include "netlist/crossbar.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/units.hpp"

namespace ecramsim::netlist {

namespace {

std::string idx(int a, int b) { return std::to_string(a) + "_" + std::to_string(b); }
std::string num(double v) { return formatExact(v); }

void require(bool ok, const std::string& parameter, const std::string& message) {
  if (!ok) throw InputError({}, parameter, message);
}

void validate(const CrossbarSpec& s) {
  require(s.rows >= 1 && s.cols >= 1, "rows/cols", "the array needs at least one row and column");
  require(!s.model.empty(), "model", "cell model name is empty");
  for (const auto& [name, r] : {std::pair<const char*, double>{"gateSegment_ohm", s.gateSegment_ohm},
                                {"sourceSegment_ohm", s.sourceSegment_ohm},
                                {"drainSegment_ohm", s.drainSegment_ohm},
                                {"driverResistance_ohm", s.driverResistance_ohm},
                                {"senseResistance_ohm", s.senseResistance_ohm}}) {
    require(std::isfinite(r) && r >= 0.0, name, "must be a finite resistance >= 0, got " + num(r));
  }
  require(s.topology == LineTopology::DriverSegment || s.gates == GateDirection::AlongRows,
          "gates", "gate lines along columns need LineTopology::DriverSegment");
  const bool sourceCols = s.sources == SourceDirection::AlongColumns;
  require(!sourceCols || (s.topology == LineTopology::Nodal && s.gates == GateDirection::AlongRows),
          "sources", "source lines along columns need LineTopology::Nodal and gates along rows");
  require(!sourceCols || s.program || s.drives, "sources",
          "source lines along columns cannot read: both channel lines of a cell run along its "
          "column (give program or drives)");
  if (s.cellConductances_S) {
    require(s.cellConductances_S->size() == static_cast<std::size_t>(s.rows) * s.cols,
            "cellConductances_S", "needs rows*cols values");
    for (double g : *s.cellConductances_S) {
      require(std::isfinite(g) && g > 0.0, "cellConductances_S",
              "conductances must be finite and > 0, got " + num(g));
    }
  }
  if (s.program) {
    const auto& p = *s.program;
    require(p.row >= 0 && p.row < s.rows && p.col >= 0 && p.col < s.cols, "program.row/col",
            "selected cell (" + idx(p.row, p.col) + ") outside the array");
    require(std::isfinite(p.voltage_V), "program.voltage_V", "must be finite");
    require(!s.cellConductances_S, "program",
            "programming needs ECRAM cells (a gate network), not resistor cells");
    if (p.pwl.empty()) {
      require(p.delay_s >= 0 && p.rise_s > 0 && p.fall_s > 0 && p.width_s > 0, "program",
              "pulse delay must be >= 0 and rise, fall, width > 0");
    }
    for (std::size_t i = 1; i < p.pwl.size(); ++i) {
      require(p.pwl[i].first > p.pwl[i - 1].first, "program.pwl", "times must increase");
    }
  } else if (s.drives) {
    const auto& d = *s.drives;
    require(d.gate.size() == static_cast<std::size_t>(s.rows) &&
                d.source.size() == static_cast<std::size_t>(sourceCols ? s.cols : s.rows) &&
                d.drain.size() == static_cast<std::size_t>(s.cols),
            "drives", "needs one entry per gate (rows), source (rows, or columns with sources "
            "along columns) and drain (columns) line");
    require(!s.cellConductances_S || std::all_of(d.gate.begin(), d.gate.end(),
                                                 [](const auto& g) { return !g.has_value(); }),
            "drives", "resistor cells have no gate lines to drive");
  } else {
    require(s.rowVoltages_V.size() == static_cast<std::size_t>(s.rows), "rowVoltages_V",
            "needs one DC voltage per row (" + std::to_string(s.rows) + "), got " +
                std::to_string(s.rowVoltages_V.size()));
    if (s.sense == SenseMode::Tia) {
      require(s.tiaGain > 0 && s.tiaFeedback_ohm > 0, "tia", "gain and feedback must be > 0");
    }
  }
}

/// A line segment from `from` to `to`: a resistor; a 0 V source (`V` + name) for 0 ohm; on a
/// line without driver (`held` false) the same Ohm's law in branch form, `H<name>` in series
/// with its sensing source `V<name>` through node `<name>_m` (see the header).
void segment(std::vector<std::string>& out, const std::string& name, const std::string& from,
             const std::string& to, double ohm, bool held) {
  if (ohm == 0.0) {
    out.push_back("V" + name + " " + from + " " + to + " DC 0");
  } else if (held) {
    out.push_back(name + " " + from + " " + to + " " + num(ohm));
  } else {
    const std::string mid = toLower(name) + "_m";
    out.push_back("H" + name + " " + from + " " + mid + " V" + name + " " + num(ohm));
    out.push_back("V" + name + " " + mid + " " + to + " DC 0");
  }
}

/// A programming waveform at `level` volts.
std::string waveform(const ProgramSpec& p, double level) {
  if (level == 0.0) return "DC 0";
  if (!p.pwl.empty()) {
    std::string out = "PWL(";
    for (std::size_t i = 0; i < p.pwl.size(); ++i) {
      if (i > 0) out += " ";
      out += num(p.pwl[i].first) + " " + num(p.pwl[i].second * level);
    }
    return out + ")";
  }
  return "PULSE(0 " + num(level) + " " + num(p.delay_s) + " " + num(p.rise_s) + " " +
         num(p.fall_s) + " " + num(p.width_s) + ")";
}

/// A driver on line end `node`: source V<tag><i>, and output resistor RO<tag><i> when Rdrv > 0.
void driver(std::vector<std::string>& out, const std::string& tag, int i, const std::string& node,
            double rdrv, const std::string& value) {
  const std::string n = std::to_string(i);
  if (rdrv > 0.0) {
    std::string inner = "v";  // built piecewise: GCC 12 warns (-Wrestrict) on a + chain here
    inner += toLower(tag);
    inner += "_";
    inner += n;
    out.push_back("V" + tag + n + " " + inner + " 0 " + value);
    out.push_back("RO" + tag + n + " " + inner + " " + node + " " + num(rdrv));
  } else {
    out.push_back("V" + tag + n + " " + node + " 0 " + value);
  }
}

/// Per line, whether it has a driver or sense; a line without one floats.
struct HeldLines {
  std::vector<bool> gate, source, drain;  ///< gate line k, source line r, drain line c
};

template <typename T>
std::vector<bool> present(const std::vector<std::optional<T>>& v) {
  std::vector<bool> out;
  for (const auto& e : v) out.push_back(e.has_value());
  return out;
}

HeldLines heldLines(const CrossbarSpec& spec) {
  if (spec.program) {
    const BiasLevels l = biasLevels(spec);
    return {present(l.gate_V), present(l.source_V), present(l.drain_V)};
  }
  if (spec.drives) {
    const LineDrives& d = *spec.drives;
    return {present(d.gate), present(d.source), present(d.drain)};
  }
  const int nGate = spec.gates == GateDirection::AlongRows ? spec.rows : spec.cols;
  return {std::vector<bool>(static_cast<std::size_t>(nGate), true),
          std::vector<bool>(static_cast<std::size_t>(spec.rows), true),
          std::vector<bool>(static_cast<std::size_t>(spec.cols), true)};
}

}  // namespace

BiasLevels biasLevels(const CrossbarSpec& spec) {
  if (!spec.program) throw InputError({}, "program", "bias levels need a programming spec");
  const ProgramSpec& p = *spec.program;
  const double v = p.voltage_V;
  const bool half = p.scheme == BiasScheme::HalfV;
  const bool rowsGate = spec.gates == GateDirection::AlongRows;
  if (rowsGate) {  // control/backend.hpp biasLevels
    const bool floating = p.unselected == Unselected::Floating;
    const double gSel = half ? v / 2 : 2 * v / 3;
    const double dSel = half ? -v / 2 : -v / 3;
    const double dUnsel = half ? 0.0 : v / 3;
    const double src = half ? 0.0 : v / 3;
    auto unsel = [&](double value) -> std::optional<double> {
      if (floating) return std::nullopt;
      return value;
    };
    BiasLevels out;
    for (int r = 0; r < spec.rows; ++r) {
      out.gate_V.push_back(r == p.row ? std::optional<double>(gSel) : unsel(0.0));
      if (spec.sources == SourceDirection::AlongRows) out.source_V.emplace_back(src);
    }
    for (int c = 0; c < spec.cols; ++c) {
      out.drain_V.push_back(c == p.col ? std::optional<double>(dSel) : unsel(dUnsel));
      if (spec.sources == SourceDirection::AlongColumns) {
        out.source_V.emplace_back(c == p.col ? dSel : dUnsel);  // the column's drain level
      }
    }
    return out;
  }
  const int nGate = rowsGate ? spec.rows : spec.cols;
  const int nQ = rowsGate ? spec.cols : spec.rows;  // perpendicular channel lines
  const int selGate = rowsGate ? p.row : p.col;
  const int selQ = rowsGate ? p.col : p.row;
  auto level = [&](double value) -> std::optional<double> {
    if (value == 0.0 && p.unselected == Unselected::Floating) return std::nullopt;
    return value;
  };
  std::vector<std::optional<double>> gate(static_cast<std::size_t>(nGate));
  std::vector<std::optional<double>> parallel(static_cast<std::size_t>(nGate));
  std::vector<std::optional<double>> perpendicular(static_cast<std::size_t>(nQ));
  for (int k = 0; k < nGate; ++k) {
    const bool sel = k == selGate;
    gate[static_cast<std::size_t>(k)] =
        sel ? std::optional<double>(half ? v / 2 : 2 * v / 3) : level(0.0);
    parallel[static_cast<std::size_t>(k)] = sel ? (half ? level(0.0) : level(v / 3)) : level(0.0);
  }
  for (int j = 0; j < nQ; ++j) {
    const bool sel = j == selQ;
    perpendicular[static_cast<std::size_t>(j)] =
        sel ? std::optional<double>(half ? -v / 2 : -v / 3) : level(half ? 0.0 : v / 3);
  }
  BiasLevels out;
  out.gate_V = gate;
  if (rowsGate) {
    out.source_V = parallel;
    out.drain_V = perpendicular;
  } else {
    out.drain_V = parallel;
    out.source_V = perpendicular;
  }
  return out;
}

std::string lineEndNode(const CrossbarSpec& spec, LineKind kind, int index) {
  const std::string n = std::to_string(index);
  if (spec.topology == LineTopology::DriverSegment) {
    return (kind == LineKind::Gate ? "gl_" : kind == LineKind::Source ? "sl_" : "dl_") + n;
  }
  switch (kind) {
    case LineKind::Gate: return "g_" + n + "_0";
    case LineKind::Source:
      if (spec.sources == SourceDirection::AlongColumns) {
        return "s_" + std::to_string(spec.rows - 1) + "_" + n;
      }
      return "s_" + n + "_0";
    case LineKind::Drain: return "d_" + std::to_string(spec.rows - 1) + "_" + n;
  }
  return {};
}

std::vector<std::string> crossbarLines(const CrossbarSpec& spec) {
  validate(spec);
  const int R = spec.rows;
  const int C = spec.cols;
  const bool resistorCells = spec.cellConductances_S.has_value();
  const bool legacy = spec.topology == LineTopology::DriverSegment;
  std::vector<std::string> out;
  out.push_back(spec.title.empty() ? "ecramsim crossbar" : spec.title);
  out.push_back("* " + std::to_string(R) + "x" + std::to_string(C) +
                " crossbar written by ecramsim; node names: see netlist/crossbar.hpp");
  for (const auto& l : spec.preamble) out.push_back(l);

  // Cells.
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) {
      const std::string i = idx(r, c);
      if (resistorCells) {
        const double g = (*spec.cellConductances_S)[static_cast<std::size_t>(r) * C + c];
        out.push_back("RC" + i + " d_" + i + " s_" + i + " " + num(1.0 / g));
      } else {
        out.push_back("N" + i + " g_" + i + " d_" + i + " s_" + i + " " + spec.model);
      }
    }
  }
  const HeldLines held = heldLines(spec);
  // Source lines (rows): s_r_0 .. s_r_{C-1} (legacy: from sl_r); or (columns) s_0_c .. s_{R-1}_c.
  if (spec.sources == SourceDirection::AlongColumns) {
    for (int c = 0; c < C; ++c) {
      for (int r = 0; r + 1 < R; ++r) {
        segment(out, "RS" + idx(r, c), "s_" + idx(r, c), "s_" + idx(r + 1, c),
                spec.sourceSegment_ohm, held.source[static_cast<std::size_t>(c)]);
      }
    }
  } else {
    for (int r = 0; r < R; ++r) {
      for (int c = legacy ? 0 : 1; c < C; ++c) {
        const std::string from = c == 0 ? "sl_" + std::to_string(r) : "s_" + idx(r, c - 1);
        segment(out, "RS" + idx(r, c), from, "s_" + idx(r, c), spec.sourceSegment_ohm,
                held.source[static_cast<std::size_t>(r)]);
      }
    }
  }
  // Drain lines (columns): d_0_c .. d_{R-1}_c (legacy: on to dl_c).
  for (int c = 0; c < C; ++c) {
    for (int r = 0; r < (legacy ? R : R - 1); ++r) {
      const std::string to = r == R - 1 ? "dl_" + std::to_string(c) : "d_" + idx(r + 1, c);
      segment(out, "RD" + idx(r, c), "d_" + idx(r, c), to, spec.drainSegment_ohm,
              held.drain[static_cast<std::size_t>(c)]);
    }
  }
  // Gate lines.
  if (!resistorCells) {
    for (int r = 0; r < R; ++r) {
      for (int c = 0; c < C; ++c) {
        std::string from;
        if (spec.gates == GateDirection::AlongRows) {
          if (c == 0 && !legacy) continue;
          from = c == 0 ? "gl_" + std::to_string(r) : "g_" + idx(r, c - 1);
        } else {
          from = r == 0 ? "gl_" + std::to_string(c) : "g_" + idx(r - 1, c);
        }
        const int k = spec.gates == GateDirection::AlongRows ? r : c;
        segment(out, "RG" + idx(r, c), from, "g_" + idx(r, c), spec.gateSegment_ohm,
                held.gate[static_cast<std::size_t>(k)]);
      }
    }
  }

  const double rdrv = spec.driverResistance_ohm;
  if (spec.program) {
    const BiasLevels levels = biasLevels(spec);
    const ProgramSpec& p = *spec.program;
    for (std::size_t k = 0; k < levels.gate_V.size(); ++k) {
      if (levels.gate_V[k]) {
        driver(out, "G", static_cast<int>(k), lineEndNode(spec, LineKind::Gate, static_cast<int>(k)), rdrv,
               waveform(p, *levels.gate_V[k]));
      }
    }
    for (std::size_t k = 0; k < levels.source_V.size(); ++k) {
      const auto& l = levels.source_V[k];
      const int i = static_cast<int>(k);
      if (l) driver(out, "S", i, lineEndNode(spec, LineKind::Source, i), rdrv, waveform(p, *l));
    }
    for (int c = 0; c < C; ++c) {
      const auto& l = levels.drain_V[static_cast<std::size_t>(c)];
      if (l) driver(out, "D", c, lineEndNode(spec, LineKind::Drain, c), rdrv, waveform(p, *l));
    }
  } else if (spec.drives) {
    const LineDrives& d = *spec.drives;
    for (int r = 0; r < R; ++r) {
      const auto& g = d.gate[static_cast<std::size_t>(r)];
      if (g) driver(out, "G", r, lineEndNode(spec, LineKind::Gate, r), rdrv, *g);
    }
    for (std::size_t k = 0; k < d.source.size(); ++k) {
      const auto& l = d.source[k];
      const int i = static_cast<int>(k);
      if (l) driver(out, "S", i, lineEndNode(spec, LineKind::Source, i), rdrv, *l);
    }
    for (int c = 0; c < C; ++c) {
      const auto& l = d.drain[static_cast<std::size_t>(c)];
      if (l) driver(out, "D", c, lineEndNode(spec, LineKind::Drain, c), rdrv, *l);
    }
  } else {
    for (int r = 0; r < R; ++r) {
      driver(out, "S", r, lineEndNode(spec, LineKind::Source, r), rdrv,
             "DC " + num(spec.rowVoltages_V[static_cast<std::size_t>(r)]));
    }
    if (!resistorCells) {
      const int nGate = spec.gates == GateDirection::AlongRows ? R : C;
      for (int k = 0; k < nGate; ++k) {
        driver(out, "G", k, lineEndNode(spec, LineKind::Gate, k), rdrv,
               "DC " + num(spec.gateReadVoltage_V));
      }
    }
    for (int c = 0; c < C; ++c) {
      const std::string n = std::to_string(c);
      const std::string end = lineEndNode(spec, LineKind::Drain, c);
      if (spec.sense == SenseMode::VirtualGround) {
        if (spec.senseResistance_ohm > 0.0) {
          out.push_back("RSENSE" + n + " " + end + " sn_" + n + " " + num(spec.senseResistance_ohm));
          out.push_back("VSENSE" + n + " sn_" + n + " 0 DC 0");
        } else {
          out.push_back("VSENSE" + n + " " + end + " 0 DC 0");
        }
      } else {
        out.push_back("EA" + n + " to_" + n + " 0 0 " + end + " " + num(spec.tiaGain));
        out.push_back("RF" + n + " " + end + " to_" + n + " " + num(spec.tiaFeedback_ohm));
      }
    }
  }
  std::size_t start = 0;
  while (start < spec.analysis.size()) {  // one or more lines
    std::size_t end = spec.analysis.find('\n', start);
    if (end == std::string::npos) end = spec.analysis.size();
    if (end > start) out.push_back(spec.analysis.substr(start, end - start));
    start = end + 1;
  }
  out.push_back(".end");
  return out;
}

std::string crossbarNetlist(const CrossbarSpec& spec) {
  std::string text;
  for (const auto& line : crossbarLines(spec)) text += line + "\n";
  return text;
}

}  // namespace ecramsim::netlist

#include <cstdio>
#include <iostream>

#include "cli/common.hpp"
#include "control/backend.hpp"
#include "core/error.hpp"
#include "io/output_file.hpp"
#include "netlist/crossbar.hpp"

namespace ecramsim::cli {

void addNetlistCommand(CLI::App& app) {
  struct Options {
    netlist::CrossbarSpec spec;
    netlist::ProgramSpec program;
    std::string gates = "rows", sense = "vg", scheme = "v2", unselected = "grounded", out;
    std::string wiring = "source-rows";
    std::vector<std::string> preamble;
    std::vector<double> rowVoltages, conductances, pwl;
    double rowVoltage = 0.0;
    bool doProgram = false;
  };
  auto o = std::make_shared<Options>();
  auto* group = app.add_subcommand("netlist", "Write plain ngspice netlists");
  group->require_subcommand(1);
  auto* cmd = group->add_subcommand(
      "crossbar",
      "An R x C crossbar of ECRAM cells (N<r>_<c> g_r_c d_r_c s_r_c MODEL) with line resistance, "
      "drivers and column sensing (read), or set up to program one cell under V/2 or V/3 "
      "(--program). Node names: see src/netlist/crossbar.hpp");
  auto& s = o->spec;
  auto& p = o->program;
  cmd->add_option("--rows", s.rows, "Rows (gate and source lines along rows)")->required();
  cmd->add_option("--cols", s.cols, "Columns (drain lines)")->required();
  cmd->add_option("--title", s.title, "Title line")->default_str(s.title);
  cmd->add_option("--model", s.model, "Cell model name")->default_str(s.model);
  cmd->add_option("--preamble", o->preamble,
                  "A line after the title, e.g. '.include ../models/wox_ysz.model' (repeatable)");
  cmd->add_option("--analysis", s.analysis,
                  "Analysis line(s), '\\n' separates lines, e.g. '.tran 10u 120m'")
      ->default_str(s.analysis);
  cmd->add_option("--gates", o->gates, "Gate lines run along rows or cols")
      ->check(CLI::IsMember({"rows", "cols"}))->default_str("rows");
  cmd->add_option("--wiring", o->wiring,
                  "Source lines along the rows (source-rows) or along the columns beside the drain "
                  "lines (source-cols; needs --program, such an array cannot be read, and --gates rows). "
                  "Example: --program --wiring source-cols")
      ->check(CLI::IsMember({"source-rows", "source-cols"}))->default_str("source-rows");
  addQuantity(*cmd, "--r-gate", s.gateSegment_ohm, "Ohm", "Gate-line segment per cell");
  addQuantity(*cmd, "--r-source", s.sourceSegment_ohm, "Ohm", "Source-line segment per cell");
  addQuantity(*cmd, "--r-drain", s.drainSegment_ohm, "Ohm", "Drain-line (column) segment per cell");
  addQuantity(*cmd, "--r-driver", s.driverResistance_ohm, "Ohm", "Output resistance of every driver");
  addQuantityList(*cmd, "--row-voltages", o->rowVoltages, "V",
                  "Read: DC voltage of each source-line driver (one per row)");
  addQuantity(*cmd, "--row-voltage", o->rowVoltage, "V",
              "Read: the same DC voltage on every row (when --row-voltages is not given)");
  addQuantity(*cmd, "--gate-read-voltage", s.gateReadVoltage_V, "V", "Read: gate lines' DC level");
  cmd->add_option("--sense", o->sense, "Read: vg (virtual ground, i(vsense<c>)) or tia")
      ->check(CLI::IsMember({"vg", "tia"}))->default_str("vg");
  addQuantity(*cmd, "--tia-gain", s.tiaGain, "1", "Read: open-loop gain of the TIA");
  addQuantity(*cmd, "--tia-feedback", s.tiaFeedback_ohm, "Ohm", "Read: TIA feedback resistor");
  addQuantityList(*cmd, "--conductances", o->conductances, "S",
                  "Resistor cells instead of ECRAM cells: rows*cols values, row-major");
  cmd->add_flag("--program", o->doProgram, "Programming mode: one pulse on the selected cell");
  cmd->add_option("--scheme", o->scheme, "Program: bias scheme v2 (V/2) or v3 (V/3)")
      ->check(CLI::IsMember({"v2", "v3"}))->default_str("v2");
  cmd->add_option("--row", p.row, "Program: selected row (0-based)")->default_val(0);
  cmd->add_option("--col", p.col, "Program: selected column (0-based)")->default_val(0);
  addQuantity(*cmd, "--voltage", p.voltage_V, "V", "Program: signed write voltage V");
  cmd->add_option("--unselected", o->unselected, "Program: lines at 0 V grounded or floating")
      ->check(CLI::IsMember({"grounded", "floating"}))->default_str("grounded");
  addQuantity(*cmd, "--delay", p.delay_s, "s", "Program: pulse delay");
  addQuantity(*cmd, "--rise", p.rise_s, "s", "Program: pulse rise time");
  addQuantity(*cmd, "--fall", p.fall_s, "s", "Program: pulse fall time");
  addQuantity(*cmd, "--width", p.width_s, "s", "Program: pulse width");
  addQuantityList(*cmd, "--pwl", o->pwl, "s,1",
                  "Program: PWL shape t0,f0,t1,f1,... (fraction of each line's level); "
                  "overrides the pulse");
  cmd->add_option("-o,--out", o->out, "File to write (default: stdout)");
  cmd->callback([o] {
    auto& spec = o->spec;
    spec.preamble = o->preamble;
    std::string analysis;
    for (std::size_t i = 0; i < spec.analysis.size(); ++i) {  // "\n" typed on a command line
      if (spec.analysis[i] == '\\' && i + 1 < spec.analysis.size() && spec.analysis[i + 1] == 'n') {
        analysis += '\n';
        ++i;
      } else {
        analysis += spec.analysis[i];
      }
    }
    spec.analysis = analysis;
    spec.gates = o->gates == "rows" ? netlist::GateDirection::AlongRows
                                    : netlist::GateDirection::AlongColumns;
    spec.sense = o->sense == "vg" ? netlist::SenseMode::VirtualGround : netlist::SenseMode::Tia;
    if (parseWiring(o->wiring) == Wiring::SourceCols) {
      if (!o->doProgram) requireReadableWiring(Wiring::SourceCols, "a read netlist");
      if (spec.gates != netlist::GateDirection::AlongRows) {
        throw InputError({}, "--wiring", "source-cols needs --gates rows");
      }
      spec.sources = netlist::SourceDirection::AlongColumns;
    }
    spec.rowVoltages_V = o->rowVoltages.empty()
                             ? std::vector<double>(static_cast<std::size_t>(std::max(spec.rows, 0)),
                                                   o->rowVoltage)
                             : o->rowVoltages;
    if (!o->conductances.empty()) spec.cellConductances_S = o->conductances;
    if (o->doProgram) {
      auto& prog = o->program;
      prog.scheme = o->scheme == "v2" ? netlist::BiasScheme::HalfV : netlist::BiasScheme::ThirdV;
      prog.unselected = o->unselected == "grounded" ? netlist::Unselected::Grounded
                                                 : netlist::Unselected::Floating;
      if (o->pwl.size() % 2 != 0) {
        throw InputError({}, "--pwl", "needs pairs time,fraction");
      }
      for (std::size_t i = 0; i + 1 < o->pwl.size(); i += 2) prog.pwl.emplace_back(o->pwl[i], o->pwl[i + 1]);
      spec.program = prog;
    }
    const std::string text = netlist::crossbarNetlist(spec);
    if (o->out.empty()) {
      std::cout << text << std::flush;
      return;
    }
    io::writeTextFile(o->out, text);
  });
}

}  // namespace ecramsim::cli

#include "app/run_job.hpp"

#include <fnmatch.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "app/cards.hpp"
#include "core/input_file.hpp"
#include "core/units.hpp"
#include "modelcard/ecram_table.hpp"
#include "spice/engine.hpp"

namespace ecramsim::app {

namespace {

std::string readText(const std::filesystem::path& path) {
  return readInputFile(path, "", "netlist");
}

/// Inserts `.include "model"` on its own line just before the first `.end` line of the top
/// file (line 1, the title, excluded). Lines after it shift by one.
std::string withModelInclude(const std::string& text, const std::filesystem::path& model,
                             const std::filesystem::path& netlistPath) {
  std::size_t pos = text.find('\n');
  while (pos != std::string::npos) {
    const std::size_t start = pos + 1;
    std::size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::size_t b = 0;
    while (b < line.size() && std::isspace(static_cast<unsigned char>(line[b]))) ++b;
    const std::string lower = toLower(std::string_view(line).substr(b));
    if (lower.rfind(".end", 0) == 0 &&
        (lower.size() == 4 || std::isspace(static_cast<unsigned char>(lower[4])) || lower[4] == ';')) {
      return text.substr(0, start) + ".include \"" + model.string() + "\"\n" + text.substr(start);
    }
    pos = end;
  }
  throw InputError({netlistPath.string(), 0}, ".end", "netlist has no .end line");
}

bool matchesAny(const std::vector<std::string>& patterns, std::initializer_list<std::string> names) {
  if (patterns.empty()) return true;
  for (const auto& p : patterns) {
    const std::string lp = toLower(p);
    for (const auto& n : names) {
      if (fnmatch(lp.c_str(), n.c_str(), 0) == 0) return true;
    }
  }
  return false;
}

std::string joined(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::vector<double> columns(const std::vector<double>& m, std::size_t width,
                            const std::vector<std::size_t>& cols) {
  const std::size_t points = width == 0 ? 0 : m.size() / width;
  std::vector<double> out;
  out.reserve(points * cols.size());
  for (std::size_t p = 0; p < points; ++p) {
    for (std::size_t c : cols) out.push_back(m[p * width + c]);
  }
  return out;
}

}  // namespace

std::string PreparedRun::expandedText() const {
  std::string out;
  for (const auto& l : expanded.lines) out += l + "\n";
  return out;
}

PreparedRun prepareRun(const RunJob& job) {
  PreparedRun out;
  out.givenText = readText(job.netlist);
  std::string text = out.givenText;
  if (!job.model.empty()) {
    (void)openInputFile(job.model, "--model", "model file");  // checked before it is included
    text = withModelInclude(text, std::filesystem::absolute(job.model), job.netlist);
  }
  netlist::Netlist net = netlist::parseNetlist(text, job.netlist);
  cosim::BuildOptions build;
  build.noVariation = job.noVariation;
  for (const auto& s : job.sets) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == s.size()) {
      throw InputError({"--set", 0}, s, "expected name=value");
    }
    const std::string name = toLower(s.substr(0, eq));
    const std::string value = s.substr(eq + 1);
    bool isParam = false;
    for (const auto& p : net.params) isParam = isParam || p.name == name;
    if (isParam) {
      net.setParam(name, value);
    } else if (findParam(name) != nullptr) {
      build.cardSets.push_back({name, value, {"--set " + echoToken(s), 0}});
    } else {
      throw InputError({"--set", 0}, name,
                       "neither a .param of the netlist nor an ecram model parameter");
    }
  }
  Rng rng(job.seed);
  out.built = cosim::buildCircuit(net, rng, build);
  out.expanded = cosim::expand(out.built.circuit);
  return out;
}

ResultTree runPrepared(const RunJob& job, const PreparedRun& prepared, Progress& progress) {
  const cosim::Circuit& circuit = prepared.built.circuit;
  progress.note("co-simulating " + job.netlist.string() + " (" +
                std::to_string(circuit.cells.size()) + " ecram cells)");
  cosim::Result r;
  try {
    r = cosim::simulate(circuit, job.options);
  } catch (const spice::SpiceError& e) {
    if (e.kind() == spice::FailureKind::ParseError) {
      throw InputError(e.where(), "", "ngspice rejected the netlist: " + echoWords(e.detail()));
    }
    throw;
  }
  ResultTree out;
  const std::size_t P = r.points();
  const std::size_t N = r.cellNames.size();
  const std::size_t W = r.vectorNames.size();

  // /waveforms: the netlist's own nodes and sources (never the stubs' internals), filtered.
  std::vector<std::size_t> nodeCols;
  std::vector<std::size_t> sourceCols;
  std::vector<std::string> nodeNames;
  std::vector<std::string> sourceNames;
  for (std::size_t k = 0; k < W; ++k) {
    const std::string& n = r.vectorNames[k];
    if (n == "time") continue;
    const auto hash = n.find("#branch");
    if (hash != std::string::npos) {
      const std::string src = n.substr(0, hash);
      if (cosim::isStubName(src) || !matchesAny(job.save, {n, "i(" + src + ")"})) continue;
      sourceCols.push_back(k);
      sourceNames.push_back(src);
    } else if (n.find('#') == std::string::npos) {
      if (cosim::isStubName(n) || !matchesAny(job.save, {n, "v(" + n + ")"})) continue;
      nodeCols.push_back(k);
      nodeNames.push_back(n);
    }
  }
  out.vector("/waveforms/time_s", r.time_s, "s", "time of every accepted point (0 for .op)");
  out.strings("/waveforms/node_names", nodeNames, "column names of node_v");
  out.matrix("/waveforms/node_v", P, nodeCols.size(), columns(r.vectors, W, nodeCols), "V",
             "node voltages, points x nodes (row-major)");
  out.strings("/waveforms/source_names", sourceNames, "column names of source_i_a");
  out.matrix("/waveforms/source_i_a", P, sourceCols.size(), columns(r.vectors, W, sourceCols), "A",
             "current through each voltage source, ngspice's sign (positive from n+ through the "
             "source to n-), points x sources");
  out.strings("/waveforms/cell_names", r.cellNames, "column names of the cell_* matrices");
  out.matrix("/waveforms/cell_x", P, N, r.x, "1", "state of every cell after each point");
  out.matrix("/waveforms/cell_g_s", P, N, r.g_s, "S", "channel conductance G(x) of every cell");
  out.matrix("/waveforms/cell_i_ion_a", P, N, r.i_ion_a, "A",
             "ionic (Faradaic) gate current of every cell, positive into the gate");
  out.matrix("/waveforms/cell_i_ds_a", P, N, r.i_ds_a, "A",
             "channel current drain to source of every cell (sneak currents included)");
  out.matrix("/waveforms/cell_v_gs_v", P, N, r.v_gs_v, "V", "gate minus source voltage");
  out.matrix("/waveforms/cell_v_gd_v", P, N, r.v_gd_v, "V", "gate minus drain voltage");
  // Axes (netCDF dimensions): coordinates time (s), node, source and cell (names).
  out.vector("/waveforms/time", r.time_s, "s", "time of every accepted point (axis time)");
  out.strings("/waveforms/node", nodeNames, "node names (axis node)");
  out.strings("/waveforms/source", sourceNames, "voltage source names (axis source)");
  out.strings("/waveforms/cell", r.cellNames, "cell instance names (axis cell)");
  out.dimensions("/waveforms/time_s", {"time"});
  out.dimensions("/waveforms/node_names", {"node"});
  out.dimensions("/waveforms/node_v", {"time", "node"});
  out.dimensions("/waveforms/source_names", {"source"});
  out.dimensions("/waveforms/source_i_a", {"time", "source"});
  out.dimensions("/waveforms/cell_names", {"cell"});
  for (const char* m : {"cell_x", "cell_g_s", "cell_i_ion_a", "cell_i_ds_a", "cell_v_gs_v",
                        "cell_v_gd_v"}) {
    out.dimensions(std::string("/waveforms/") + m, {"time", "cell"});
  }
  out.attribute("/waveforms", "analysis", r.transient ? std::string("tran") : std::string("op"));
  out.attribute("/waveforms", "matrix_order", std::string("row-major: points x columns"));

  // /cells: every cell's nodes and drawn parameters.
  std::vector<std::string> model, gate, drain, source, origin;
  std::vector<double> gmin, gmax, i0, qc, x0;
  for (const auto& c : circuit.cells) {
    model.push_back(c.model);
    gate.push_back(c.gate);
    drain.push_back(c.drain);
    source.push_back(c.source);
    origin.push_back(c.origin.str());
    gmin.push_back(c.params.gmin);
    gmax.push_back(c.params.gmax);
    i0.push_back(c.params.i0);
    qc.push_back(c.params.q_c);
    x0.push_back(c.x0);
  }
  out.strings("/cells/names", r.cellNames, "instance names (lower case)");
  out.strings("/cells/model", model, "model card of each cell");
  out.strings("/cells/gate", gate, "gate node");
  out.strings("/cells/drain", drain, "drain node");
  out.strings("/cells/source", source, "source node");
  out.strings("/cells/origin", origin, "file:line of each instance");
  out.vector("/cells/gmin_s", gmin, "S", "gmin after device-to-device variation");
  out.vector("/cells/gmax_s", gmax, "S", "gmax after device-to-device variation");
  out.vector("/cells/i0_a", i0, "A", "i0 after device-to-device variation");
  out.vector("/cells/q_c_c", qc, "C", "q_c after device-to-device variation");
  out.vector("/cells/x0", x0, "1", "initial state");
  out.strings("/cells/cell", r.cellNames, "cell instance names (axis cell)");
  for (const char* c : {"names", "model", "gate", "drain", "source", "origin", "gmin_s", "gmax_s",
                        "i0_a", "q_c_c", "x0"}) {
    out.dimensions(std::string("/cells/") + c, {"cell"});
  }

  // /config
  out.text("/config/netlist_given", prepared.givenText, "the netlist file as given");
  out.text("/config/netlist_expanded", prepared.expandedText(),
           "the netlist ngspice ran: includes inlined, ecram cells replaced by their stubs");
  out.attribute("/config", "netlist_file", job.netlist.string());
  out.attribute("/config", "model_file", job.model.string());
  out.attribute("/config", "sets", joined(job.sets, " "));
  out.attribute("/config", "save", joined(job.save, " "));
  out.attribute("/config", "state_reltol", job.options.state_reltol);
  out.attribute("/config", "variation", std::string(job.noVariation ? "off" : "card"));
  out.attribute("/config", "c2c_noise", std::string("none (co-simulation is deterministic)"));
  for (const auto& card : prepared.built.cards) recordCard(card, "/config/models/" + card.name, out);

  // /metrics
  out.metric("points", static_cast<double>(P), "count", "accepted time points");
  out.metric("cells", static_cast<double>(N), "count", "co-simulated ecram cells");
  out.metric("end_time_s", r.time_s.back(), "s", "time of the last point");
  out.metric("max_state_step", r.max_state_step, "1",
             "largest change of any cell's state over one accepted step");
  double maxDx = 0.0;
  for (std::size_t i = 0; i < N; ++i) {
    maxDx = std::max(maxDx, std::abs(r.x[(P - 1) * N + i] - r.x[i]));
  }
  out.metric("max_abs_delta_x", maxDx, "1", "largest |x(end) - x(start)| of any cell");
  return out;
}

ResultTree runRunJob(const RunJob& job, Progress& progress) {
  const PreparedRun prepared = prepareRun(job);
  return runPrepared(job, prepared, progress);
}

}  // namespace ecramsim::app

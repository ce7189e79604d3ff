#include "cosim/spice_backend.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "core/error.hpp"
#include "core/units.hpp"
#include "device/physics.hpp"
#include "netlist/crossbar.hpp"
#include "spice/engine.hpp"

namespace ecramsim {

namespace {

using Index = Eigen::Index;


std::string num(double v) { return formatExact(v); }

netlist::CrossbarSpec baseSpec(const CrossbarGeometry& g) {
  netlist::CrossbarSpec spec;
  spec.rows = static_cast<int>(g.rows);
  spec.cols = static_cast<int>(g.cols);
  spec.title = "ecramsim spice backend";
  spec.topology = netlist::LineTopology::Nodal;
  spec.sources = g.wiring == Wiring::SourceRows ? netlist::SourceDirection::AlongRows
                                                : netlist::SourceDirection::AlongColumns;
  spec.gateSegment_ohm = g.r_gate_seg;
  spec.sourceSegment_ohm = g.r_row_seg;
  spec.drainSegment_ohm = g.r_col_seg;
  spec.driverResistance_ohm = g.r_drv;
  spec.senseResistance_ohm = g.r_sense;
  return spec;
}

/// The co-simulation circuit of a generated ECRAM netlist: instance lines become cells (params
/// and states from the caller, row-major), every other line stays. `gateDrives` (the
/// generator's, one per row, or empty when all are driven): a row without a driver floats
/// (cosim::Cell::gate_floats).
cosim::Circuit toCircuit(const std::vector<std::string>& lines,
                         const std::vector<CellParams>& cells, const Eigen::MatrixXd& x,
                         const std::vector<std::optional<std::string>>& gateDrives = {}) {
  cosim::Circuit circ;
  const Index C = x.cols();
  for (const auto& l : lines) {
    int r = 0, c = 0;
    if (!l.empty() && l[0] == 'N' && std::sscanf(l.c_str(), "N%d_%d", &r, &c) == 2) {
      const std::string i = std::to_string(r) + "_" + std::to_string(c);
      cosim::Cell cell;
      cell.name = "n" + i;
      cell.gate = "g_" + i;
      cell.drain = "d_" + i;
      cell.source = "s_" + i;
      cell.model = "ecram";
      cell.params = cells[static_cast<std::size_t>(r * C + c)];
      cell.x0 = x(r, c);
      cell.gate_floats = !gateDrives.empty() && !gateDrives[std::size_t(r)];
      circ.cells.push_back(std::move(cell));
    } else {
      circ.lines.push_back(l);
    }
  }
  return circ;
}


double trapezoid(const std::vector<double>& t, const std::vector<double>& f) {
  double s = 0.0;
  for (std::size_t k = 1; k < t.size(); ++k) s += 0.5 * (f[k] + f[k - 1]) * (t[k] - t[k - 1]);
  return s;
}

}  // namespace

SpiceBackend::SpiceBackend(const EcramParams& p, const CrossbarGeometry& geo, Rng& rng,
                           const SpiceOptions& options)
    : CellArrayBackend(p, checkedForLinearRead(geo, p, "spice backend"), rng), options_(options) {
  if (!(options_.edge_s > 0.0) || !std::isfinite(options_.edge_s)) {
    throw InputError({}, "edge_s", "must be finite and > 0 s");
  }
}

void SpiceBackend::refreshTransfer() {
  requireReadableWiring(geo_.wiring, "a read or a VMM");
  const Index R = geo_.rows, C = geo_.cols;
  netlist::CrossbarSpec spec = baseSpec(geo_);
  const Eigen::MatrixXd g = probeConductances();
  std::vector<double> gRow(static_cast<std::size_t>(R * C));
  for (Index r = 0; r < R; ++r) {
    for (Index c = 0; c < C; ++c) gRow[static_cast<std::size_t>(r * C + c)] = g(r, c);
  }
  spec.cellConductances_S = gRow;
  spec.analysis = ".op";
  transferCol_.resize(C, R);
  transferRow_.resize(R, R);
  for (Index r = 0; r < R; ++r) {
    spec.rowVoltages_V.assign(std::size_t(R), 0.0);
    spec.rowVoltages_V[std::size_t(r)] = 1.0;
    const spice::RunResult res = spice::Engine::instance().run(netlist::crossbarLines(spec));
    ++runs_;
    for (Index c = 0; c < C; ++c) {
      transferCol_(c, r) = res.last("vsense" + std::to_string(c) + "#branch");
    }
    for (Index k = 0; k < R; ++k) transferRow_(k, r) = -res.last("vs" + std::to_string(k) + "#branch");
  }
  transferValid_ = true;
}

const Eigen::MatrixXd& SpiceBackend::transfer() {
  if (!transferValid_) refreshTransfer();
  return transferCol_;
}

Eigen::MatrixXd SpiceBackend::vmm(const Eigen::MatrixXd& inputs_v) {
  requireReadableWiring(geo_.wiring, "a read or a VMM");
  if (inputs_v.cols() != geo_.rows || !inputs_v.allFinite()) {
    throw InputError({}, "inputs", "expected K x " + std::to_string(geo_.rows) +
                                       " finite input voltages");
  }
  if (!transferValid_) refreshTransfer();
  const Eigen::MatrixXd cols = inputs_v * transferCol_.transpose();
  const Eigen::MatrixXd rowsI = inputs_v * transferRow_.transpose();
  const auto k = static_cast<double>(inputs_v.rows());
  counters_.reads += inputs_v.rows();
  counters_.elapsed_s += k * options_.read_time_s;
  counters_.energy_j += (inputs_v.array() * rowsI.array()).sum() * options_.read_time_s;
  return cols;
}

Eigen::MatrixXd SpiceBackend::readConductances(double read_v) {
  if (!std::isfinite(read_v) || read_v == 0.0) {
    throw InputError({}, "read_v", "read voltage must be finite and nonzero");
  }
  const Eigen::MatrixXd inputs = read_v * Eigen::MatrixXd::Identity(geo_.rows, geo_.rows);
  return vmm(inputs) / read_v;
}

SpiceOperatingPoint SpiceBackend::writeOperatingPoint(const LineDrive& drive) const {
  const Index R = geo_.rows, C = geo_.cols;
  if (drive.gate_v.size() != R || drive.source_v.size() != geo_.sourceLines() ||
      drive.drain_v.size() != C ||
      static_cast<Index>(drive.gate_driven.size()) != R ||
      static_cast<Index>(drive.drain_driven.size()) != C) {
    throw InputError({}, "write drive", "sizes do not match the array");
  }
  netlist::CrossbarSpec spec = baseSpec(geo_);
  netlist::LineDrives d;
  for (Index r = 0; r < R; ++r) {
    d.gate.push_back(drive.gate_driven[std::size_t(r)]
                         ? std::optional<std::string>("DC " + num(drive.gate_v(r)))
                         : std::nullopt);
  }
  for (Index k = 0; k < geo_.sourceLines(); ++k) {
    d.source.emplace_back("DC " + num(drive.source_v(k)));
  }
  for (Index c = 0; c < C; ++c) {
    d.drain.push_back(drive.drain_driven[std::size_t(c)]
                          ? std::optional<std::string>("DC " + num(drive.drain_v(c)))
                          : std::nullopt);
  }
  spec.drives = d;
  // Node potentials converge to 1e-12 relative. abstol applies to branch currents: floating
  // lines carry their segment currents as unknowns (netlist/crossbar.hpp), and a uA current
  // there jitters by ~1e-16 A between iterations from rounding alone, which a tighter abstol
  // never accepts (ngspice then gives up through gmin stepping).
  spec.preamble = {".options reltol=1e-12 vntol=1e-15 abstol=1e-15"};
  spec.analysis = ".op";
  const cosim::Circuit circ = toCircuit(netlist::crossbarLines(spec), cells_, x_, d.gate);
  const cosim::Result res = cosim::simulate(circ, options_.cosim);
  ++runs_;
  SpiceOperatingPoint op;
  op.vg.resize(R, C);
  op.vd.resize(R, C);
  op.vs.resize(R, C);
  for (Index r = 0; r < R; ++r) {
    for (Index c = 0; c < C; ++c) {
      const std::string i = std::to_string(r) + "_" + std::to_string(c);
      op.vg(r, c) = res.vector("g_" + i).back();
      op.vd(r, c) = res.vector("d_" + i).back();
      op.vs(r, c) = res.vector("s_" + i).back();
    }
  }
  return op;
}

PulseBatchResult SpiceBackend::applyPulses(std::span<const PulseRequest> pulses,
                                           const BiasScheme& scheme, PulseOrder order) {
  const Index R = geo_.rows, C = geo_.cols;
  PulseBatchResult out = beginBatch(pulses, scheme);
  const Eigen::MatrixXd xStart = x_;
  const bool floating = scheme.unselected == UnselectedLines::Floating;
  const double e = options_.edge_s;

  for (const WritePhase& ph : groupIntoPhases(pulses, order)) {
    const BiasLevels lv = biasLevels(scheme, ph.amplitude_v);
    const Eigen::MatrixXd x0 = x_;
    std::vector<double> bounds = phaseWidths(pulses, ph);
    // Releases closer than a few edges are merged (the PWL corners must increase).
    std::vector<double> b;
    for (double w : bounds) {
      if (b.empty() || w - b.back() > 4.0 * e) b.push_back(w);
      else b.back() = w;
    }
    bounds = b;
    auto segmentOf = [&](double w) {  // the segment in which a pulse of width w ends
      return static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), w - 4.0 * e) -
                                      bounds.begin());
    };
    const std::size_t nSeg = bounds.size();
    // Drain level and driven flag per segment.
    std::vector<std::vector<bool>> active(nSeg, std::vector<bool>(std::size_t(C), false));
    for (std::size_t k : ph.pulses) {
      const std::size_t last = segmentOf(pulses[k].width_s);
      for (std::size_t s = 0; s <= last && s < nSeg; ++s) active[s][std::size_t(pulses[k].col)] = true;
    }
    auto drainDriven = [&](std::size_t s, Index c) { return active[s][std::size_t(c)] || !floating; };
    auto drainLevel = [&](std::size_t s, Index c) {
      return active[s][std::size_t(c)] ? lv.drain_selected_v : lv.drain_unselected_v;
    };
    // Runs: consecutive segments with the same driven drain lines.
    std::vector<std::pair<std::size_t, std::size_t>> runs;  // [first, last]
    for (std::size_t s = 0; s < nSeg; ++s) {
      bool same = !runs.empty();
      if (same) {
        for (Index c = 0; c < C; ++c) same = same && drainDriven(s, c) == drainDriven(s - 1, c);
      }
      if (same) runs.back().second = s;
      else runs.push_back({s, s});
    }

    std::vector<PulseLog> logs = openPhase(pulses, ph, out);
    for (std::size_t ri = 0; ri < runs.size(); ++ri) {
      // Plain variables, not a structured binding: clang 14 cannot capture bindings.
      const std::size_t s0 = runs[ri].first, s1 = runs[ri].second;
      const double tStart = s0 == 0 ? 0.0 : bounds[s0 - 1];
      // PWL of a line with level(s) per segment.
      auto pwl = [&](auto level) {
        std::string w = "PWL(0 0 " + num(e) + " " + num(level(s0));
        for (std::size_t s = s0; s < s1; ++s) {
          const double tb = bounds[s] - tStart;
          w += " " + num(e + tb) + " " + num(level(s)) + " " + num(2.0 * e + tb) + " " +
               num(level(s + 1));
        }
        const double tEnd = bounds[s1] - tStart;
        w += " " + num(e + tEnd) + " " + num(level(s1)) + " " + num(2.0 * e + tEnd) + " 0)";
        return w;
      };
      const double tStop = 2.0 * e + bounds[s1] - tStart;
      netlist::CrossbarSpec spec = baseSpec(geo_);
      netlist::LineDrives d;
      for (Index r = 0; r < R; ++r) {
        const double g = r == ph.row ? lv.gate_selected_v : lv.gate_unselected_v;
        if (r == ph.row || !floating) d.gate.emplace_back(pwl([&](std::size_t) { return g; }));
        else d.gate.emplace_back(std::nullopt);
      }
      std::vector<Eigen::VectorXd> sourceV;  // per segment, every source line's level
      for (std::size_t s = 0; s < nSeg; ++s) sourceV.push_back(sourceLevels(lv, ph.row, active[s]));
      for (Index k = 0; k < geo_.sourceLines(); ++k) {
        d.source.emplace_back(pwl([&](std::size_t s) { return sourceV[s](k); }));
      }
      for (Index c = 0; c < C; ++c) {
        if (drainDriven(s0, c)) d.drain.emplace_back(pwl([&](std::size_t s) { return drainLevel(s, c); }));
        else d.drain.emplace_back(std::nullopt);
      }
      spec.drives = d;
      spec.analysis = ".tran " + num(tStop / 50.0) + " " + num(tStop);
      const std::vector<std::string> lines = netlist::crossbarLines(spec);
      const cosim::Circuit circ = toCircuit(lines, cells_, x_, d.gate);
      const cosim::Result res = cosim::simulate(circ, options_.cosim);
      ++runs_;
      const std::size_t P = res.points();
      const std::size_t N = circ.cells.size();
      if (P < 2 || N != static_cast<std::size_t>(R * C)) {
        throw SimulationError("spice backend: a write run returned " + std::to_string(P) +
                              " points for " + std::to_string(N) + " cells");
      }
      // States after the run.
      for (std::size_t k = 0; k < N; ++k) {
        x_(Index(k) / C, Index(k) % C) = res.x[(P - 1) * N + k];
      }
      // Driver energy: every line source, power v(+) * (-i).
      const bool rd = geo_.r_drv > 0.0;
      auto driverEnergy = [&](const std::string& tag, int i, const std::string& endNode) {
        const std::string n = std::to_string(i);
        const std::string plus = rd ? "v" + toLower(tag) + "_" + n : endNode;
        const std::vector<double> v = res.vector(plus);
        const std::vector<double> cur = res.vector("v" + toLower(tag) + n + "#branch");
        std::vector<double> pw(P);
        for (std::size_t q = 0; q < P; ++q) pw[q] = -v[q] * cur[q];
        return trapezoid(res.time_s, pw);
      };
      double energy = 0.0;
      for (Index r = 0; r < R; ++r) {
        const int ri2 = static_cast<int>(r);
        if (d.gate[std::size_t(r)]) {
          energy += driverEnergy("G", ri2, netlist::lineEndNode(spec, netlist::LineKind::Gate, ri2));
        }
      }
      for (Index k = 0; k < geo_.sourceLines(); ++k) {
        const int ki = static_cast<int>(k);
        energy += driverEnergy("S", ki, netlist::lineEndNode(spec, netlist::LineKind::Source, ki));
      }
      for (Index c = 0; c < C; ++c) {
        const int ci = static_cast<int>(c);
        if (d.drain[std::size_t(c)]) {
          energy += driverEnergy("D", ci, netlist::lineEndNode(spec, netlist::LineKind::Drain, ci));
        }
      }
      out.energy_j += energy;
      // Cell energies: channel and gate branches.
      for (std::size_t k = 0; k < N; ++k) {
        const CellParams& cp = cells_[k];
        std::vector<double> pw(P);
        for (std::size_t q = 0; q < P; ++q) {
          const double vgs = res.v_gs_v[q * N + k], vgd = res.v_gd_v[q * N + k];
          pw[q] = res.i_ds_a[q * N + k] * (vgs - vgd) +
                  gatePower(cp, vgs, vgd, res.x[q * N + k]);
        }
        out.cell_energy_j(Index(k) / C, Index(k) % C) += trapezoid(res.time_s, pw);
      }
      if (ri == 0) {  // logged voltages: first point after the edge has settled
        std::size_t q = 0;
        while (q + 1 < P && res.time_s[q] < 2.0 * e) ++q;
        for (PulseLog& log : logs) {
          const std::size_t k = static_cast<std::size_t>(log.row * C + log.col);
          log.v_gs_v = res.v_gs_v[q * N + k];
          log.v_gd_v = res.v_gd_v[q * N + k];
        }
      }
    }
    closePhase(logs, x0, *std::max_element(bounds.begin(), bounds.end()), out);
  }
  closeBatch(pulses.size(), xStart, out);
  return out;
}

}  // namespace ecramsim

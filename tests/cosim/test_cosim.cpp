/// Co-simulation of ECRAM cells with ngspice (issue 3, acceptance A-G). Tolerances are stated
/// with each check; the measured figures are printed with MESSAGE.

#include <doctest/doctest.h>

#include "../support/cli.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "app/array_experiment.hpp"
#include "app/run_job.hpp"
#include "core/rng.hpp"
#include "core/units.hpp"
#include "cosim/circuit.hpp"
#include "cosim/cosim.hpp"
#include "device/physics.hpp"
#include "io/hdf5.hpp"
#include "modelcard/ecram_table.hpp"
#include "netlist/crossbar.hpp"
#include "netlist/netlist.hpp"
#include "spice/engine.hpp"

namespace fs = std::filesystem;
using namespace ecramsim;

namespace {

const fs::path kData = fs::path(ECRAMSIM_TEST_DATA_DIR) / "data" / "cosim";
const fs::path kNetlists = fs::path(ECRAMSIM_SOURCE_DIR) / "netlists";

double seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

/// Linear interpolation of (t, y) at tq (t increasing; clamped at the ends).
double interp(const std::vector<double>& t, const std::vector<double>& y, double tq) {
  if (tq <= t.front()) return y.front();
  if (tq >= t.back()) return y.back();
  const auto it = std::upper_bound(t.begin(), t.end(), tq);
  const std::size_t k = static_cast<std::size_t>(it - t.begin());
  const double f = (tq - t[k - 1]) / (t[k] - t[k - 1]);
  return y[k - 1] + f * (y[k] - y[k - 1]);
}

/// |a - b| / |b| (doctest::Approx adds an absolute scale of 1, useless for currents in nA).
double relErr(double a, double b) { return std::abs(a - b) / std::abs(b); }

/// A cell with the default card's physics and no variation.
CellParams defaultCell() { return cellParams(defaultEcramParams()); }

/// Cell n1 of the default card on nodes g, d and `source`.
cosim::Cell testCell(const std::string& source) {
  cosim::Cell cell;
  cell.name = "n1";
  cell.gate = "g";
  cell.drain = "d";
  cell.source = source;
  cell.model = "m";
  cell.params = defaultCell();
  return cell;
}

cosim::Circuit circuitOf(std::vector<std::string> lines, std::vector<cosim::Cell> cells) {
  cosim::Circuit c;
  c.lines = std::move(lines);
  c.cells = std::move(cells);
  return c;
}

using CliRun = ecramsim::test::Run;
constexpr auto cli = ecramsim::test::run;

fs::path scratch(const std::string& tag) {
  const fs::path dir =
      fs::temp_directory_path() / ("ecramsim_cosim_" + tag + "_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

long rssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace

TEST_CASE("stub: the gate segments and the leakage pair carry physics' gate current") {
  struct Variant {
    bool floats;
    double rs;
    GateModel gate;
  };
  for (const Variant& v : {Variant{false, 1e5, GateModel::Distributed},
                           Variant{true, 1e5, GateModel::Distributed},
                           Variant{false, 0.0, GateModel::Distributed},
                           Variant{false, 1e5, GateModel::TwoPoint}}) {
    // .op with the gate at 3 V and the channel ends at 0.4 V and 0 V: the gate source delivers
    // gateIonicCurrent + leakageCurrent; the drain source delivers the channel current minus
    // the gate's drain share.
    cosim::Cell cell = testCell("0");
    cell.params.r_leak = 1e9;  // make leakage visible next to the ionic current
    cell.params.rs = v.rs;
    cell.params.gate = v.gate;
    cell.x0 = 0.25;
    // gate_floats writes the series resistors in branch form (H source): the same currents.
    cell.gate_floats = v.floats;
    CAPTURE(cell.gate_floats);
    CAPTURE(v.rs);
    CAPTURE(int(v.gate));
    const auto lines = cosim::stubLines(cell);
    const auto branchForm = std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
      return l.rfind("hecr_n1_r", 0) == 0;
    });
    CHECK(branchForm == (cell.gate_floats ? cell.params.gate_points : 0));
    const auto r = cosim::simulate(
        circuitOf({"stub op", "Vg g 0 DC 3", "Vd d 0 DC 0.4", ".op", ".end"}, {cell}));
    const CellParams& p = cell.params;
    const auto gate = physics::gateCurrent(p, 3.0, 0.4, 0.0, 0.25);
    const double leak = physics::leakageCurrent(p, 3.0, 0.4, 0.0);
    const double ig = -r.vector("i(vg)").back();
    CHECK(relErr(ig, gate.total() + leak) <= 1e-9);
    CHECK(relErr(r.i_ion_a.back(), gate.total()) <= 1e-12);
    if (v.gate == GateModel::TwoPoint) {
      CHECK(relErr(gate.total(), physics::ionicCurrent(p, 3.0, 0.4, 0.0, 0.25)) <= 1e-15);
    } else {
      CHECK(gate.total() < physics::ionicCurrent(p, 3.0, 0.4, 0.0, 0.25));
    }
    const double ichan = physics::channelCurrent(p, 0.25, 0.4);
    const double gateToDrain = gate.drain + (3.0 - 0.4) / (2.0 * p.r_leak);
    CHECK(relErr(-r.vector("i(vd)").back(), ichan - gateToDrain) <= 1e-9);
    CHECK(r.x.back() == 0.25);  // .op: no time passes
  }
}

TEST_CASE("stub: rs = 0 leaves out the series resistor, reserved names are refused") {
  cosim::Cell cell = testCell("s");
  cell.params.rs = 0.0;
  const auto lines = cosim::stubLines(cell);
  for (const auto& l : lines) CHECK(l.find("recr_n1_r") == std::string::npos);
  CHECK(std::count_if(lines.begin(), lines.end(),
                      [](const std::string& l) { return l.rfind("becr_n1_f", 0) == 0; }) == 2);
  const auto c = circuitOf({"t", "Recr_x a 0 1", ".op", ".end"}, {cell});
  CHECK_THROWS_AS((void)cosim::expand(c), InputError);
}

TEST_CASE("records (issue 13 E): every /waveforms row holds one time point and one state") {
  // A cell with a cubic channel under a 5 V, 100 ms gate pulse with 0.6 V across the channel:
  // the state moves at every point, so a record that mixed two states would show it.
  cosim::Cell cell = testCell("s");
  cell.params.c3 = 0.3;
  cell.x0 = 0.1;
  const auto r = cosim::simulate(circuitOf(
      {"records", "Vg g 0 PULSE(0 5 1m 1u 1u 100m 1)", "Vd d 0 DC 0.5", "Vs s 0 DC -0.1",
       ".tran 5m 120m", ".end"},
      {cell}));
  const CellParams& p = cell.params;
  const auto vg = r.vector("v(g)"), vd = r.vector("v(d)"), vs = r.vector("v(s)");
  REQUIRE(r.points() > 10);
  REQUIRE(r.x.back() > r.x.front() + 1e-3);
  double worstDs = 0.0, worstIon = 0.0;
  for (std::size_t k = 0; k < r.points(); ++k) {
    const double vds = vd[k] - vs[k];
    const double ids = r.g_s[k] * vds * (1.0 + p.c3 * vds * vds);
    worstDs = std::max(worstDs, relErr(r.i_ds_a[k], ids));
    CHECK(r.g_s[k] == physics::conductance(p, r.x[k]));
    const double ion = physics::gateIonicCurrent(p, vg[k], vd[k], vs[k], r.x[k]);
    if (ion != 0.0) worstIon = std::max(worstIon, relErr(r.i_ion_a[k], ion));
    CHECK(r.v_gs_v[k] == vg[k] - vs[k]);
    CHECK(r.v_gd_v[k] == vg[k] - vd[k]);
  }
  MESSAGE("records: largest relative deviation of cell_i_ds_a from G V_ds (1 + c3 V_ds^2) "
          << worstDs << ", of cell_i_ion_a " << worstIon);
  CHECK(worstDs <= 1e-12);
  CHECK(worstIon <= 1e-12);
}

TEST_CASE("records (issue 13 E): every /waveforms row of the 10x10 V/2 run is one state") {
  // `ecramsim run netlists/xbar10_program_v2.cir`: 100 cells, channel voltages from 0 to 2.5 V,
  // the selected cell moving. V_ds from the node voltages of /waveforms/node_v.
  app::RunJob job;
  job.netlist = kNetlists / "xbar10_program_v2.cir";
  NullProgress quiet;
  const ResultTree t = app::runRunJob(job, quiet);
  auto strings = [&](const std::string& path) {
    return std::get<std::vector<std::string>>(t.datasets().at(path).data);
  };
  const auto nodes = strings("/waveforms/node_names");
  const auto drains = strings("/cells/drain"), sources = strings("/cells/source");
  const auto& nodeV = t.values("/waveforms/node_v");
  const auto& ids = t.values("/waveforms/cell_i_ds_a");
  const auto& g = t.values("/waveforms/cell_g_s");
  const auto& x = t.values("/waveforms/cell_x");
  const std::size_t N = drains.size(), W = nodes.size(), P = t.values("/waveforms/time_s").size();
  REQUIRE(N == 100);
  auto column = [&](const std::string& node) -> long {
    if (node == "0") return -1;
    const auto it = std::find(nodes.begin(), nodes.end(), node);
    REQUIRE(it != nodes.end());
    return long(it - nodes.begin());
  };
  const double c3 = defaultCell().c3;
  double worst = 0.0, moved = 0.0;
  std::size_t compared = 0;
  for (std::size_t i = 0; i < N; ++i) {
    const long d = column(drains[i]), s = column(sources[i]);
    moved = std::max(moved, std::abs(x[(P - 1) * N + i] - x[i]));
    for (std::size_t k = 0; k < P; ++k) {
      const double vds = (d < 0 ? 0.0 : nodeV[k * W + std::size_t(d)]) -
                         (s < 0 ? 0.0 : nodeV[k * W + std::size_t(s)]);
      const double want = g[k * N + i] * vds * (1.0 + c3 * vds * vds);
      if (want == 0.0) {
        CHECK(ids[k * N + i] == 0.0);
        continue;
      }
      worst = std::max(worst, relErr(ids[k * N + i], want));
      ++compared;
    }
  }
  MESSAGE("records: " << compared << " cell rows, largest relative deviation of cell_i_ds_a from "
                      << "cell_g_s V_ds (1 + c3 V_ds^2) " << worst);
  CHECK(moved > 1e-4);  // the selected cell's state changed during the run
  CHECK(compared > 100 * P / 2);
  CHECK(worst <= 1e-12);
}

TEST_CASE("acceptance A: co-simulated G(t) equals ngspice integrating the state itself") {
  // Same circuit twice: cell_train.cir (ecram instance, co-simulated) and cell_train_ref.cir
  // (the state x is a node: a behavioural current I_ion/q_c*window into a 1 F capacitor).
  // 10 up and 10 down +-5 V / 100 ms pulses. Tolerance: 0.5% of the G range at every sample.
  app::RunJob job;
  job.netlist = kData / "cell_train.cir";
  const app::PreparedRun prepared = app::prepareRun(job);
  const auto t0 = std::chrono::steady_clock::now();
  const cosim::Result co = cosim::simulate(prepared.built.circuit, job.options);
  const double tCo = seconds(t0);

  const netlist::Netlist refNet = netlist::readNetlist(kData / "cell_train_ref.cir");
  const auto t1 = std::chrono::steady_clock::now();
  const spice::RunResult ref = spice::Engine::instance().run(refNet.lines());
  const double tRef = seconds(t1);

  const CellParams& p = prepared.built.circuit.cells.at(0).params;
  const std::vector<double>& tr = ref.vec("time");
  std::vector<double> gRef;
  for (double x : ref.vec("x")) gRef.push_back(physics::conductance(p, x));
  const std::vector<double> gCo = co.cellColumn(co.g_s, 0);
  const double gLo = *std::min_element(gRef.begin(), gRef.end());
  const double gHi = *std::max_element(gRef.begin(), gRef.end());
  const double range = gHi - gLo;
  REQUIRE(range > 0.05 * (p.gmax - p.gmin));  // the train really moved the state
  double worst = 0.0;
  for (std::size_t k = 0; k < co.points(); ++k) {  // on the co-simulation's grid
    worst = std::max(worst, std::abs(gCo[k] - interp(tr, gRef, co.time_s[k])));
  }
  for (std::size_t k = 0; k < tr.size(); ++k) {  // and on the reference's grid
    worst = std::max(worst, std::abs(interp(co.time_s, gCo, tr[k]) - gRef[k]));
  }
  MESSAGE("A: max |G_cosim - G_ref| = " << worst << " S = " << 100.0 * worst / range
                                        << " % of the G range (" << range << " S); "
                                        << co.points() << " vs " << tr.size() << " points");
  MESSAGE("A: run time co-simulation " << tCo << " s, reference " << tRef
                                       << " s, ratio " << tCo / tRef);
  CHECK(worst <= 0.005 * range);
  CHECK(co.max_state_step <= 2.0 * job.options.state_reltol);

  // The same with ngspice allowed 20 ms steps: now the state bound (1e-3 of the range per
  // step) limits the steps inside the pulses, and the result still matches.
  cosim::Circuit coarse = prepared.built.circuit;
  for (auto& l : coarse.lines) {
    if (l.rfind(".tran", 0) == 0) l = ".tran 20m 4.02";
  }
  const cosim::Result co2 = cosim::simulate(coarse, job.options);
  const std::vector<double> g2 = co2.cellColumn(co2.g_s, 0);
  double worst2 = 0.0;
  for (std::size_t k = 0; k < tr.size(); ++k) {
    worst2 = std::max(worst2, std::abs(interp(co2.time_s, g2, tr[k]) - gRef[k]));
  }
  MESSAGE("A (20 ms steps allowed): " << co2.points() << " points, largest state step "
                                      << co2.max_state_step << ", max deviation "
                                      << 100.0 * worst2 / range << " % of the G range");
  CHECK(worst2 <= 0.005 * range);
  CHECK(co2.max_state_step <= 2.0 * job.options.state_reltol);
}

TEST_CASE("acceptance B: 4x4 DC read with line resistance equals an independent nodal solution") {
  // Generated crossbar, ECRAM cells with distinct states (instance parameter x0), leakage made
  // visible (r_leak = 1 Mohm), Faradaic current switched off (i0 = 1e-30 A). The test assembles
  // the same linear network itself (every node, dense LU) and compares the column currents.
  constexpr int R = 4;
  constexpr int C = 4;
  const double rg = 3.0, rs = 2.0, rd = 5.0, rdrv = 20.0, rleak = 1e6;
  netlist::CrossbarSpec spec;
  spec.rows = R;
  spec.cols = C;
  spec.topology = netlist::LineTopology::DriverSegment;  // the reference below is built on it
  spec.model = "m";
  spec.preamble = {".model m ecram (gmin=2u gmax=4u i0=1e-30 r_leak=1meg dg_c2c=0 gmin_d2d=0 "
                   "gmax_d2d=0 i0_d2d=0 qc_d2d=0)"};
  spec.gateSegment_ohm = rg;
  spec.sourceSegment_ohm = rs;
  spec.drainSegment_ohm = rd;
  spec.driverResistance_ohm = rdrv;
  for (int r = 0; r < R; ++r) spec.rowVoltages_V.push_back(0.1 * (r + 1));
  spec.gateReadVoltage_V = 0.05;
  auto x0 = [&](int r, int c) { return (r * C + c + 1.0) / (R * C + 1.0); };
  std::string text;
  for (auto line : netlist::crossbarLines(spec)) {
    int r = 0;
    int c = 0;
    if (std::sscanf(line.c_str(), "N%d_%d", &r, &c) == 2) line += " x0=" + formatExact(x0(r, c));
    text += line + "\n";
  }
  const netlist::Netlist net = netlist::parseNetlist(text, "b4x4.cir");
  Rng rng(1);
  const cosim::BuiltCircuit built = cosim::buildCircuit(net, rng);
  const cosim::Result res = cosim::simulate(built.circuit);

  // Independent nodal solution.
  std::map<std::string, int> id;
  auto node = [&](const std::string& n) {
    return id.emplace(n, static_cast<int>(id.size())).first->second;
  };
  auto idx = [](int a, int b) { return std::to_string(a) + "_" + std::to_string(b); };
  struct Branch {
    int a, b;
    double g;
  };
  std::vector<Branch> branches;
  auto add = [&](const std::string& a, const std::string& b, double g) {
    branches.push_back({node(a), node(b), g});
  };
  const CellParams& p = built.circuit.cells.at(0).params;
  for (int r = 0; r < R; ++r) {
    add("vs_" + std::to_string(r), "sl_" + std::to_string(r), 1.0 / rdrv);
    add("vg_" + std::to_string(r), "gl_" + std::to_string(r), 1.0 / rdrv);
    for (int c = 0; c < C; ++c) {
      const std::string i = idx(r, c);
      add(c == 0 ? "sl_" + std::to_string(r) : "s_" + idx(r, c - 1), "s_" + i, 1.0 / rs);
      add(c == 0 ? "gl_" + std::to_string(r) : "g_" + idx(r, c - 1), "g_" + i, 1.0 / rg);
      add("d_" + i, r == R - 1 ? "dl_" + std::to_string(c) : "d_" + idx(r + 1, c), 1.0 / rd);
      add("d_" + i, "s_" + i, physics::conductance(p, x0(r, c)));
      add("g_" + i, "s_" + i, 1.0 / (2.0 * rleak));
      add("g_" + i, "d_" + i, 1.0 / (2.0 * rleak));
    }
  }
  std::map<int, double> fixed;
  for (int r = 0; r < R; ++r) {
    fixed[node("vs_" + std::to_string(r))] = 0.1 * (r + 1);
    fixed[node("vg_" + std::to_string(r))] = 0.05;
  }
  for (int c = 0; c < C; ++c) fixed[node("dl_" + std::to_string(c))] = 0.0;
  const int n = static_cast<int>(id.size());
  Eigen::MatrixXd A = Eigen::MatrixXd::Zero(n, n);
  Eigen::VectorXd rhs = Eigen::VectorXd::Zero(n);
  for (const auto& b : branches) {
    A(b.a, b.a) += b.g;
    A(b.b, b.b) += b.g;
    A(b.a, b.b) -= b.g;
    A(b.b, b.a) -= b.g;
  }
  for (const auto& [k, v] : fixed) {  // Dirichlet rows
    A.row(k).setZero();
    A(k, k) = 1.0;
    rhs(k) = v;
  }
  const Eigen::VectorXd v = A.partialPivLu().solve(rhs);
  double worst = 0.0;
  for (int c = 0; c < C; ++c) {
    const double expected = v(id.at("d_" + idx(R - 1, c))) / rd;
    const double got = res.vector("i(vsense" + std::to_string(c) + ")").back();
    const double rel = std::abs(got - expected) / std::abs(expected);
    worst = std::max(worst, rel);
    CHECK(rel <= 1e-9);
  }
  MESSAGE("B: largest relative deviation of a column current " << worst);
}

TEST_CASE("acceptance C: one pulse on cell (5,5) of the 10x10 array under V/2 and V/3") {
  // netlists/xbar10_program_v2.cir and _v3.cir through the paper's array experiment.
  NullProgress quiet;
  app::ArrayExperimentConfig cfg;
  const auto t0 = std::chrono::steady_clock::now();
  const ResultTree tree = app::runArrayExperiment(cfg, quiet);
  const double took = seconds(t0);
  const fs::path dir = scratch("c");
  const fs::path file = dir / "array_program.h5";
  io::writeResultFile(tree, file, {"test", 1, io::isoTimeNow(), "complete"});
  const ResultTree back = io::readResultFile(file);

  const double sel = back.values("/metrics/v2/dg_selected_s").at(0);
  const double half = back.values("/metrics/v2/dg_half_max_s").at(0);
  MESSAGE("C: V/2 dG selected " << sel << " S, largest half-selected |dG| " << half
                                << " S, ratio " << sel / half << " (" << took << " s for both)");
  CHECK(sel > 0.0);
  CHECK(sel >= 1000.0 * half);
  // V/3: disturb of every cell and the sneak (channel) currents are in the file.
  const auto& dg3 = back.values("/v3/dg_s");
  const auto& ids3 = back.values("/v3/i_ds_mid_a");
  REQUIRE(dg3.size() == 100);
  REQUIRE(ids3.size() == 100);
  int sneaky = 0;
  for (std::size_t k = 0; k < 100; ++k) {
    CHECK(std::isfinite(dg3[k]));
    if (k != 55 && std::abs(ids3[k]) > 1e-9) ++sneaky;  // unselected cells carrying current
  }
  CHECK(sneaky > 0);
  CHECK(back.has("/v3/cell_i_ds_a"));
  const double sel3 = back.values("/metrics/v3/dg_selected_s").at(0);
  const double dist3 = back.values("/metrics/v3/disturb_max_rel").at(0);
  MESSAGE("C: V/3 dG selected " << sel3 << " S, largest unselected |dG| / dG selected " << dist3
                                << ", unselected cells with |I_ds| > 1 nA: " << sneaky
                                << ", largest " << back.values("/metrics/v3/sneak_current_max_a").at(0)
                                << " A");
  CHECK(dist3 < 1e-3);
  fs::remove_all(dir);
}

TEST_CASE("acceptance D: gate-line rise time at the far cell against the Elmore estimate") {
  // A gate line of N cells (channel ends grounded), a driver resistance and a segment
  // resistance per cell; each cell loads its gate node with c_dl (two halves of c_dl/2). Step
  // 0 -> 1 V in 1 ns. Elmore: tau = rdrv N c_dl + rseg c_dl N (N + 1) / 2; single-pole
  // estimate of the 10-90% rise: ln(9) tau. Tolerance 20%.
  constexpr int N = 10;
  const double rseg = 1e3, rdrv = 1e3;
  std::vector<std::string> lines{"gate line timing",
                                 ".model m ecram (dg_c2c=0 gmin_d2d=0 gmax_d2d=0 i0_d2d=0 qc_d2d=0)",
                                 "Vg vg 0 PWL(0 0 1n 1)", "Rdrv vg g_0 " + std::to_string(rdrv)};
  for (int k = 0; k < N; ++k) {
    const std::string g = "g_" + std::to_string(k + 1);
    lines.push_back("RG" + std::to_string(k) + " g_" + std::to_string(k) + " " + g + " " +
                    std::to_string(rseg));
    lines.push_back("N" + std::to_string(k) + " " + g + " 0 0 m");
  }
  lines.push_back(".tran 0.5n 3u");
  lines.push_back(".end");
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  Rng rng(1);
  const cosim::BuiltCircuit built = cosim::buildCircuit(netlist::parseNetlist(text, "d.cir"), rng);
  const cosim::Result res = cosim::simulate(built.circuit);
  const double cdl = built.circuit.cells.at(0).params.c_dl;
  const std::vector<double> v = res.vector("g_" + std::to_string(N));
  auto crossing = [&](double level) {
    for (std::size_t k = 1; k < v.size(); ++k) {
      if (v[k] >= level && v[k - 1] < level) {
        return res.time_s[k - 1] +
               (level - v[k - 1]) / (v[k] - v[k - 1]) * (res.time_s[k] - res.time_s[k - 1]);
      }
    }
    return std::numeric_limits<double>::quiet_NaN();
  };
  const double rise = crossing(0.9) - crossing(0.1);
  const double tau = rdrv * N * cdl + rseg * cdl * N * (N + 1) / 2.0;
  const double estimate = std::log(9.0) * tau;
  MESSAGE("D: far cell 10-90% rise " << rise << " s, Elmore ln(9) tau = " << estimate
                                     << " s, ratio " << rise / estimate);
  CHECK(relErr(rise, estimate) <= 0.2);
}

namespace {

struct BadCase {
  const char* file;
  const char* where;  ///< expected "file:line" in the message
  int status;         ///< 2 bad input, 1 simulation failure
};

void checkBad(const BadCase& c) {
  const fs::path dir = scratch(std::string("e_") + c.file);
  const fs::path out = dir / "out.h5";
  const CliRun r = cli("run -q " + (kData / c.file).string() + " -o " + out.string());
  INFO(r.output);
  CHECK(r.status == c.status);
  CHECK(r.output.find(c.where) != std::string::npos);
  CHECK_FALSE(fs::exists(out));
  CHECK(fs::is_empty(dir));  // no temporary file either
  fs::remove_all(dir);
}

}  // namespace

TEST_CASE("acceptance E: a syntax error") { checkBad({"bad_syntax.cir", "bad_syntax.cir:6:", 2}); }
TEST_CASE("acceptance E: an unknown model") {
  checkBad({"bad_model.cir", "bad_model.cir:5:", 2});
  checkBad({"bad_spice_model.cir", "bad_spice_model.cir:6:", 2});
}
TEST_CASE("acceptance E: a missing include") {
  checkBad({"bad_include.cir", "bad_include.cir:3:", 2});
}
TEST_CASE("acceptance E: a floating node (singular matrix)") {
  checkBad({"bad_floating.cir", "bad_floating.cir:6:", 1});
}
TEST_CASE("acceptance E: timestep too small") {
  checkBad({"bad_timestep.cir", "bad_timestep.cir:5:", 1});
}
TEST_CASE("acceptance E: a .control block") {
  checkBad({"bad_control.cir", "bad_control.cir:6:", 2});
}

TEST_CASE("acceptance F: 10,000 small co-simulated runs grow resident memory by < 50 MB") {
  // One cell with its gate biased, an operating point per run through cosim::simulate (stub
  // expansion, EXTERNAL callbacks, the engine's load/run/destroy cycle).
  cosim::Cell cell;
  cell.name = "n1";
  cell.gate = "g";
  cell.drain = "d";
  cell.source = "0";
  cell.params = defaultCell();
  const std::vector<std::string> lines{"small", "Vg g 0 DC 2", "Vd d 0 DC 0.1", ".op", ".end"};
  auto once = [&](int k) {
    cell.x0 = (k % 100) / 100.0;
    const cosim::Result r = cosim::simulate(circuitOf(lines, {cell}));
    return r.g_s.back();
  };
  for (int k = 0; k < 200; ++k) (void)once(k);  // warm-up: allocator pools, first loads
  const long before = rssKiB();
  const auto t0 = std::chrono::steady_clock::now();
  double check = 0.0;
  constexpr int kRuns = 10000;
  for (int k = 0; k < kRuns; ++k) check += once(k);
  const double took = seconds(t0);
  const long after = rssKiB();
  MESSAGE("F: " << kRuns << " runs in " << took << " s (" << 1e3 * took / kRuns
                << " ms each), RSS " << static_cast<double>(before) / 1024.0 << " -> "
                << static_cast<double>(after) / 1024.0 << " MiB");
  CHECK(check > 0.0);
  CHECK(after - before < 50 * 1024);
}

TEST_CASE("acceptance G: two ecramsim run processes at once equal two in sequence") {
  const fs::path dir = scratch("g");
  const std::string net = (kNetlists / "xbar10_program_v2.cir").string();
  auto args = [&](const char* name) { return "run -q " + net + " -o " + (dir / name).string(); };
  // Parallel: both processes started before either is read.
  const std::string c1 = std::string(ECRAMSIM_CLI_PATH) + " " + args("p1.h5") + " 2>&1";
  const std::string c2 = std::string(ECRAMSIM_CLI_PATH) + " " + args("p2.h5") + " 2>&1";
  FILE* a = popen(c1.c_str(), "r");
  FILE* b = popen(c2.c_str(), "r");
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), a) != nullptr) {
  }
  while (std::fgets(buf.data(), buf.size(), b) != nullptr) {
  }
  CHECK(pclose(a) == 0);
  CHECK(pclose(b) == 0);
  // Sequential.
  CHECK(cli(args("s1.h5")).status == 0);
  CHECK(cli(args("s2.h5")).status == 0);
  const ResultTree ref = io::readResultFile(dir / "s1.h5");
  REQUIRE(ref.has("/waveforms/cell_g_s"));
  for (const char* other : {"s2.h5", "p1.h5", "p2.h5"}) {
    CAPTURE(other);
    const ResultTree t = io::readResultFile(dir / other);
    REQUIRE(t.datasets().size() == ref.datasets().size());
    for (const auto& [path, d] : ref.datasets()) {
      CAPTURE(path);
      REQUIRE(t.has(path));
      CHECK(t.datasets().at(path).data == d.data);
    }
  }
  fs::remove_all(dir);
}

TEST_CASE("cli: run --emit-netlist prints the expanded netlist, netlist crossbar writes one") {
  const CliRun e = cli("run " + (kNetlists / "cell_bench.cir").string() + " --emit-netlist");
  CHECK(e.status == 0);
  CHECK(e.output.find("vecr_n1_gx ecr_n1_gx 0 external") != std::string::npos);
  CHECK(e.output.find(".model") == std::string::npos);  // the ecram card is taken out
  const fs::path dir = scratch("netlist");
  const fs::path out = dir / "x.cir";
  const CliRun g = cli("netlist crossbar --rows 2 --cols 3 --row-voltages 0.1,0.2 --r-drain 2 "
                       "--preamble '.model ecram ecram (dg_c2c=0)' --analysis .op -o " +
                       out.string());
  REQUIRE(g.status == 0);
  const netlist::Netlist net = netlist::readNetlist(out);
  const netlist::EcramSplit split = netlist::splitEcram(net);
  CHECK(split.instances.size() == 6);
  CHECK(split.instances.back().name == "N1_2");
  Rng rng(1);
  const cosim::Result r = cosim::simulate(cosim::buildCircuit(net, rng).circuit);
  CHECK(r.vector("i(vsense2)").back() > 0.0);  // current flows out of the array into sense
  const CliRun bad = cli("netlist crossbar --rows 2 --cols 2 --program --row 5 -o " + out.string());
  CHECK(bad.status == 2);
  fs::remove_all(dir);
}

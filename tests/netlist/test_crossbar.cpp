#include <doctest/doctest.h>

#include <Eigen/Sparse>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/units.hpp"
#include "netlist/crossbar.hpp"
#include "netlist/netlist.hpp"
#include "spice/engine.hpp"

using namespace ecramsim::netlist;

namespace {

/// Nominal voltage of every driven line end (lineEndNode), read back from the generated
/// netlist: the DC value or the PULSE/PWL peak of the source on it (ideal drivers only).
std::map<std::string, double> lineLevels(const std::vector<std::string>& lines) {
  std::map<std::string, double> out;
  for (const auto& line : lines) {
    const auto f = splitFields(line);
    // Line drivers only: VG<k>, VS<r>, VD<c> (not the 0 V wire segments VRS.., VRD.., VRG..).
    if (f.size() < 4 || f[0].size() < 3 || f[0][0] != 'V' ||
        std::string("GSD").find(f[0][1]) == std::string::npos ||
        !std::isdigit(static_cast<unsigned char>(f[0][2]))) {
      continue;
    }
    const std::string node = f[1];
    REQUIRE(f[2] == "0");
    double level = 0.0;
    if (ecramsim::toLower(f[3]) == "dc") {
      level = *ecramsim::parseSpiceNumber(f[4]);
    } else {
      const auto open = f[3].find('(');
      const auto inner = splitFields(f[3].substr(open + 1, f[3].size() - open - 2));
      if (f[3].rfind("PULSE", 0) == 0) {
        REQUIRE(*ecramsim::parseSpiceNumber(inner[0]) == 0.0);
        level = *ecramsim::parseSpiceNumber(inner[1]);
      } else {  // PWL: the extreme value
        for (std::size_t i = 1; i < inner.size(); i += 2) {
          const double v = *ecramsim::parseSpiceNumber(inner[i]);
          if (std::fabs(v) > std::fabs(level)) level = v;
        }
      }
    }
    out[node] = level;
  }
  return out;
}

struct CellDrive {
  double qEnd;  ///< gate minus the perpendicular channel line
  double pEnd;  ///< gate minus the parallel channel line
};

void checkScheme(GateDirection dir, BiasScheme scheme, int selRow, int selCol, double v,
                 bool pwl) {
  CrossbarSpec spec;
  spec.rows = 4;
  spec.cols = 5;
  spec.gates = dir;
  if (dir == GateDirection::AlongColumns) spec.topology = LineTopology::DriverSegment;
  ProgramSpec p;
  p.scheme = scheme;
  p.row = selRow;
  p.col = selCol;
  p.voltage_V = v;
  if (pwl) p.pwl = {{0.0, 0.0}, {1e-6, 1.0}, {1e-3, 1.0}, {1.001e-3, 0.0}};
  spec.program = p;
  spec.analysis = ".tran 1u 2m";
  const auto lines = crossbarLines(spec);
  const auto level = lineLevels(lines);
  const double limit = std::fabs(v) / (scheme == BiasScheme::HalfV ? 2.0 : 3.0);
  int counted = 0;
  for (int r = 0; r < spec.rows; ++r) {
    for (int c = 0; c < spec.cols; ++c) {
      const int k = dir == GateDirection::AlongRows ? r : c;
      const double g = level.at(lineEndNode(spec, LineKind::Gate, k));
      const double s = level.at(lineEndNode(spec, LineKind::Source, r));
      const double d = level.at(lineEndNode(spec, LineKind::Drain, c));
      // Gate-to-channel at the source end and at the drain end.
      const double atSource = g - s;
      const double atDrain = g - d;
      const CellDrive drive = dir == GateDirection::AlongRows ? CellDrive{atDrain, atSource}
                                                              : CellDrive{atSource, atDrain};
      if (r == selRow && c == selCol) {
        CHECK(drive.qEnd == doctest::Approx(v).epsilon(1e-15));
        CHECK(std::fabs(drive.pEnd) == doctest::Approx(limit).epsilon(1e-15));
        CHECK(drive.pEnd * v >= 0.0);  // same polarity: it helps the write
      } else {
        CHECK(std::fabs(atSource) <= limit * (1 + 1e-15));
        CHECK(std::fabs(atDrain) <= limit * (1 + 1e-15));
      }
      ++counted;
    }
  }
  CHECK(counted == 20);
}

double rel(double a, double b) { return std::fabs(a - b) / std::max(std::fabs(b), 1e-300); }

}  // namespace

TEST_CASE("V/2 and V/3 schemes: selected cell sees V, all others at most V/2 (V/3)") {
  for (auto dir : {GateDirection::AlongRows, GateDirection::AlongColumns}) {
    for (auto scheme : {BiasScheme::HalfV, BiasScheme::ThirdV}) {
      for (auto [r, c] : {std::pair{0, 0}, std::pair{2, 3}, std::pair{3, 4}}) {
        for (double v : {5.0, -4.5}) {
          CAPTURE(static_cast<int>(dir));
          CAPTURE(static_cast<int>(scheme));
          CAPTURE(r);
          CAPTURE(c);
          CAPTURE(v);
          checkScheme(dir, scheme, r, c, v, false);
          checkScheme(dir, scheme, r, c, v, true);
        }
      }
    }
  }
}

TEST_CASE("floating unselected lines get no driver, driven lines keep their level") {
  CrossbarSpec spec;
  spec.rows = 3;
  spec.cols = 3;
  ProgramSpec p;
  p.row = 1;
  p.col = 2;
  p.unselected = Unselected::Floating;
  spec.program = p;
  spec.driverResistance_ohm = 50;
  spec.gateSegment_ohm = 3;
  spec.drainSegment_ohm = 5;
  const auto lines = crossbarLines(spec);
  auto has = [&](const std::string& prefix) {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.rfind(prefix + " ", 0) == 0; });
  };
  CHECK(has("VG1"));    // selected gate line (rows)
  CHECK(has("ROG1"));   // behind the driver resistance
  CHECK(has("VD2"));    // selected drain line
  CHECK(!has("VG0"));
  CHECK(!has("VG2"));
  CHECK(!has("VD0"));
  CHECK(has("VS0"));    // source lines are always driven (control/backend.hpp)
  CHECK(has("VS1"));
  CHECK(has("VS2"));
  auto hasLine = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  CHECK(hasLine("ROG1 vg_1 g_1_0 50"));  // nodal topology: the driver sits on the first cell
  CHECK(hasLine("ROD2 vd_2 d_2_2 50"));  // drain lines are driven at r = R-1
  // Segments of floating lines in branch form (a CCVS and its 0 V sense), driven ones resistors.
  CHECK(hasLine("HRG0_1 g_0_0 rg0_1_m VRG0_1 3"));
  CHECK(hasLine("VRG0_1 rg0_1_m g_0_1 DC 0"));
  CHECK(!has("RG0_1"));
  CHECK(hasLine("RG1_1 g_1_0 g_1_1 3"));
  CHECK(hasLine("HRD0_0 d_0_0 rd0_0_m VRD0_0 5"));
  CHECK(hasLine("RD0_2 d_0_2 d_1_2 5"));
  const auto levels = biasLevels(spec);
  CHECK(!levels.gate_V[0].has_value());
  CHECK(*levels.gate_V[1] == doctest::Approx(2.5));
  CHECK(*levels.drain_V[2] == doctest::Approx(-2.5));
  CHECK(*levels.source_V[0] == 0.0);
}

TEST_CASE("source lines along the columns: V on both ends of the selected cell, no channel voltage") {
  for (auto scheme : {BiasScheme::HalfV, BiasScheme::ThirdV}) {
    for (double v : {5.0, -4.5}) {
      CAPTURE(static_cast<int>(scheme));
      CAPTURE(v);
      CrossbarSpec spec;
      spec.rows = 3;
      spec.cols = 4;
      spec.sources = SourceDirection::AlongColumns;
      spec.sourceSegment_ohm = 2.0;
      ProgramSpec p;
      p.scheme = scheme;
      p.row = 1;
      p.col = 2;
      p.voltage_V = v;
      spec.program = p;
      spec.analysis = ".tran 1u 2m";
      const auto lines = crossbarLines(spec);
      const auto level = lineLevels(lines);
      const double limit = std::fabs(v) / (scheme == BiasScheme::HalfV ? 2.0 : 3.0);
      for (int r = 0; r < 3; ++r) {
        for (int c = 0; c < 4; ++c) {
          const double g = level.at(lineEndNode(spec, LineKind::Gate, r));
          const double s = level.at(lineEndNode(spec, LineKind::Source, c));
          const double d = level.at(lineEndNode(spec, LineKind::Drain, c));
          CHECK(s == d);
          if (r == 1 && c == 2) {
            CHECK(g - d == doctest::Approx(v).epsilon(1e-15));
          } else {
            CHECK(std::fabs(g - d) <= limit * (1 + 1e-15));
          }
        }
      }
      // Source line c runs down its column beside drain line c, driven at r = R-1.
      CHECK(lineEndNode(spec, LineKind::Source, 3) == "s_2_3");
      CHECK(std::find(lines.begin(), lines.end(), "RS0_3 s_0_3 s_1_3 2") != lines.end());
      CHECK(std::none_of(lines.begin(), lines.end(),
                         [](const std::string& l) { return l.rfind("RS0_1 s_0_0", 0) == 0; }));
      CHECK(biasLevels(spec).source_V.size() == 4);
    }
  }
  // No read mode, no gates along columns.
  CrossbarSpec read;
  read.rows = 2;
  read.cols = 2;
  read.sources = SourceDirection::AlongColumns;
  read.rowVoltages_V = {0.1, 0.2};
  CHECK_THROWS_AS((void)crossbarLines(read), ecramsim::InputError);
}

TEST_CASE("V/3 puts every source line at +V/3, floating leaves unselected lines at any level") {
  CrossbarSpec spec;
  spec.rows = 3;
  spec.cols = 4;
  ProgramSpec p;
  p.scheme = BiasScheme::ThirdV;
  p.row = 2;
  p.col = 1;
  p.voltage_V = 6.0;
  spec.program = p;
  auto levels = biasLevels(spec);
  for (int r = 0; r < 3; ++r) CHECK(*levels.source_V[std::size_t(r)] == doctest::Approx(2.0));
  CHECK(*levels.gate_V[2] == doctest::Approx(4.0));
  CHECK(*levels.gate_V[0] == 0.0);
  CHECK(*levels.drain_V[1] == doctest::Approx(-2.0));
  CHECK(*levels.drain_V[0] == doctest::Approx(2.0));
  spec.program->unselected = Unselected::Floating;
  levels = biasLevels(spec);
  CHECK(!levels.gate_V[0].has_value());
  CHECK(!levels.drain_V[0].has_value());  // +V/3, yet floating
  CHECK(*levels.drain_V[1] == doctest::Approx(-2.0));
  for (int r = 0; r < 3; ++r) CHECK(*levels.source_V[std::size_t(r)] == doctest::Approx(2.0));
}

TEST_CASE("nodal topology: C-1 and R-1 segments per line, drivers on the end cells") {
  CrossbarSpec spec;
  spec.rows = 3;
  spec.cols = 4;
  spec.preamble = {".model ecram ecram (gmin=1u gmax=10u)"};
  spec.rowVoltages_V = {0.1, 0.2, 0.3};
  spec.sourceSegment_ohm = 1.5;
  spec.drainSegment_ohm = 2.5;
  spec.gateSegment_ohm = 3.5;
  spec.driverResistance_ohm = 20;
  spec.senseResistance_ohm = 7;
  const auto lines = crossbarLines(spec);
  auto count = [&](const std::string& prefix) {  // segment names: prefix then a digit
    return std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.rfind(prefix, 0) == 0 && l.size() > prefix.size() &&
             std::isdigit(static_cast<unsigned char>(l[prefix.size()]));
    });
  };
  CHECK(count("RS") == 3 * 3);
  CHECK(count("RG") == 3 * 3);
  CHECK(count("RD") == 2 * 4);
  auto has = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  CHECK(has("RS1_1 s_1_0 s_1_1 1.5"));
  CHECK(has("RD0_3 d_0_3 d_1_3 2.5"));
  CHECK(has("ROS1 vs_1 s_1_0 20"));
  CHECK(has("ROG2 vg_2 g_2_0 20"));
  CHECK(has("RSENSE3 d_2_3 sn_3 7"));
  CHECK(has("VSENSE3 sn_3 0 DC 0"));
  CHECK(lineEndNode(spec, LineKind::Drain, 3) == "d_2_3");
  spec.gates = GateDirection::AlongColumns;
  CHECK_THROWS_AS((void)crossbarLines(spec), ecramsim::InputError);
}

TEST_CASE("generator rejects inconsistent specs") {
  CrossbarSpec spec;
  spec.rows = 2;
  spec.cols = 2;
  CHECK_THROWS_AS((void)crossbarLines(spec), ecramsim::InputError);  // no row voltages
  spec.rowVoltages_V = {0.1, 0.2};
  spec.drainSegment_ohm = -1;
  CHECK_THROWS_AS((void)crossbarLines(spec), ecramsim::InputError);
  spec.drainSegment_ohm = 1;
  ProgramSpec p;
  p.row = 2;
  spec.program = p;
  CHECK_THROWS_AS((void)crossbarLines(spec), ecramsim::InputError);
}

TEST_CASE("generated ECRAM crossbar reads back: systematic names, instances found") {
  CrossbarSpec spec;
  spec.rows = 2;
  spec.cols = 3;
  spec.preamble = {".model ecram ecram (gmin=1u gmax=10u)"};
  spec.rowVoltages_V = {0.1, 0.2};
  spec.sourceSegment_ohm = 1.5;
  spec.drainSegment_ohm = 0.0;  // ideal wire: 0 V sources keep the node names
  spec.gateSegment_ohm = 10;
  spec.gates = GateDirection::AlongColumns;
  spec.topology = LineTopology::DriverSegment;
  const Netlist net = parseNetlist(crossbarNetlist(spec), "xbar.cir");
  const EcramSplit split = splitEcram(net);
  REQUIRE(split.instances.size() == 6);
  const auto& cell = split.instances[5];
  CHECK(cell.name == "N1_2");
  CHECK(cell.gate == "g_1_2");
  CHECK(cell.drain == "d_1_2");
  CHECK(cell.source == "s_1_2");
  REQUIRE(split.models.size() == 1);
  auto has = [&](const std::string& line) {
    const auto l = split.netlist.lines();
    return std::find(l.begin(), l.end(), line) != l.end();
  };
  CHECK(has("RS1_2 s_1_1 s_1_2 1.5"));
  CHECK(has("VRD1_2 d_1_2 dl_2 DC 0"));
  CHECK(has("RG1_2 g_0_2 g_1_2 10"));  // gate lines along columns, from the top
  CHECK(has("RG0_2 gl_2 g_0_2 10"));
  CHECK(has("VSENSE2 dl_2 0 DC 0"));
  CHECK(has("VS1 sl_1 0 DC 0.20000000000000001"));
}

namespace {

struct NodalAnswer {
  std::vector<double> columnCurrent_A;
  std::vector<double> senseNode_V;  // v(dl_c)
};

/// Independent nodal solution of the resistor crossbar: unknowns sl_r, s_r_c, d_r_c, dl_c.
/// The sense node dl_c is tied to ground by a conductance gSense (virtual ground: dl_c is
/// eliminated, gSense infinite; TIA: (1 + A) / Rf).
NodalAnswer solveNodal(const CrossbarSpec& spec, std::optional<double> gSense) {
  const int R = spec.rows;
  const int C = spec.cols;
  int n = 0;
  std::map<std::string, int> id;
  auto node = [&](const std::string& name) {
    const auto it = id.find(name);
    if (it != id.end()) return it->second;
    id[name] = n;
    return n++;
  };
  std::vector<Eigen::Triplet<double>> t;
  std::vector<std::pair<int, double>> rhs;
  auto stamp = [&](int a, int b, double g) {  // b < 0: ground
    t.emplace_back(a, a, g);
    if (b >= 0) {
      t.emplace_back(b, b, g);
      t.emplace_back(a, b, -g);
      t.emplace_back(b, a, -g);
    }
  };
  const double gDrv = 1.0 / spec.driverResistance_ohm;
  for (int r = 0; r < R; ++r) {
    const int sl = node("sl_" + std::to_string(r));
    stamp(sl, -1, gDrv);
    rhs.emplace_back(sl, gDrv * spec.rowVoltages_V[static_cast<std::size_t>(r)]);
    for (int c = 0; c < C; ++c) {
      const std::string i = std::to_string(r) + "_" + std::to_string(c);
      const int s = node("s_" + i);
      const int prev = c == 0 ? sl : node("s_" + std::to_string(r) + "_" + std::to_string(c - 1));
      stamp(prev, s, 1.0 / spec.sourceSegment_ohm);
      const int d = node("d_" + i);
      stamp(d, s, (*spec.cellConductances_S)[static_cast<std::size_t>(r * C + c)]);
    }
  }
  for (int c = 0; c < C; ++c) {
    for (int r = 0; r < R; ++r) {
      const int d = node("d_" + std::to_string(r) + "_" + std::to_string(c));
      const int next = r == R - 1 ? (gSense ? node("dl_" + std::to_string(c)) : -1)
                                  : node("d_" + std::to_string(r + 1) + "_" + std::to_string(c));
      stamp(d, next, 1.0 / spec.drainSegment_ohm);
    }
    if (gSense) stamp(node("dl_" + std::to_string(c)), -1, *gSense);
  }
  Eigen::SparseMatrix<double> A(n, n);
  A.setFromTriplets(t.begin(), t.end());
  Eigen::VectorXd b = Eigen::VectorXd::Zero(n);
  for (auto [i, v] : rhs) b[i] += v;
  Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>> solver(A);
  REQUIRE(solver.info() == Eigen::Success);
  const Eigen::VectorXd x = solver.solve(b);
  NodalAnswer out;
  for (int c = 0; c < C; ++c) {
    const double vLast = x[id.at("d_" + std::to_string(R - 1) + "_" + std::to_string(c))];
    const double vSense = gSense ? x[id.at("dl_" + std::to_string(c))] : 0.0;
    out.columnCurrent_A.push_back((vLast - vSense) / spec.drainSegment_ohm);
    out.senseNode_V.push_back(vSense);
  }
  return out;
}

CrossbarSpec resistorArray() {
  CrossbarSpec spec;
  spec.topology = LineTopology::DriverSegment;  // solveNodal builds that network
  spec.rows = 4;
  spec.cols = 4;
  spec.sourceSegment_ohm = 2.5;
  spec.drainSegment_ohm = 3.7;
  spec.driverResistance_ohm = 50.0;
  spec.rowVoltages_V = {0.2, -0.1, 0.15, 0.05};
  std::vector<double> g;
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 4; ++c) g.push_back(1e-4 * (1.0 + r + 0.37 * c * c));  // 0.1 .. 0.7 mS
  }
  spec.cellConductances_S = g;
  return spec;
}

}  // namespace

TEST_CASE("4x4 resistor crossbar with line resistance: ngspice column currents = nodal 1e-9") {
  auto& engine = ecramsim::spice::Engine::instance();
  SUBCASE("virtual ground") {
    const CrossbarSpec spec = resistorArray();
    const auto r = engine.run(crossbarLines(spec));
    const NodalAnswer ref = solveNodal(spec, std::nullopt);
    double worst = 0.0;
    for (int c = 0; c < 4; ++c) {
      const double got = r.last("i(vsense" + std::to_string(c) + ")");
      CAPTURE(c);
      CHECK(rel(got, ref.columnCurrent_A[static_cast<std::size_t>(c)]) < 1e-9);
      worst = std::max(worst, rel(got, ref.columnCurrent_A[static_cast<std::size_t>(c)]));
    }
    MESSAGE("virtual ground: I_col[0] = " << ref.columnCurrent_A[0] << " A, worst rel diff "
                                          << worst);
    // Line resistance matters here: the ideal-wire current differs by far more than 1e-9.
    double ideal = 0.0;
    for (int row = 0; row < 4; ++row) {
      ideal += (*spec.cellConductances_S)[static_cast<std::size_t>(row * 4)] *
               spec.rowVoltages_V[static_cast<std::size_t>(row)];
    }
    CHECK(rel(ref.columnCurrent_A[0], ideal) > 1e-3);
  }
  SUBCASE("behavioural TIA") {
    CrossbarSpec spec = resistorArray();
    spec.sense = SenseMode::Tia;
    spec.tiaGain = 1e4;
    spec.tiaFeedback_ohm = 1e3;
    const auto r = engine.run(crossbarLines(spec));
    const NodalAnswer ref = solveNodal(spec, (1.0 + spec.tiaGain) / spec.tiaFeedback_ohm);
    for (int c = 0; c < 4; ++c) {
      const std::string n = std::to_string(c);
      const double current = (r.last("dl_" + n) - r.last("to_" + n)) / spec.tiaFeedback_ohm;
      CAPTURE(c);
      CHECK(rel(current, ref.columnCurrent_A[static_cast<std::size_t>(c)]) < 1e-9);
      CHECK(rel(r.last("dl_" + n), ref.senseNode_V[static_cast<std::size_t>(c)]) < 1e-9);
      const double expectedOut =
          -spec.tiaFeedback_ohm * ref.columnCurrent_A[static_cast<std::size_t>(c)] *
          spec.tiaGain / (1.0 + spec.tiaGain);
      CHECK(rel(r.last("to_" + n), expectedOut) < 1e-9);
    }
  }
}

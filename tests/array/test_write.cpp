// Write mode of the nodal engine: bias schemes, half-select margin, agreement with the
// single-cell integration, energy bookkeeping, the ArrayBackend contract.
#include <doctest/doctest.h>

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "array/crossbar_engine.hpp"
#include "array/nodal_backend.hpp"
#include "array/sneak_read.hpp"
#include "array/write_solver.hpp"
#include "control/program.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "device/integrate.hpp"
#include "device/physics.hpp"
#include "modelcard/ecram_table.hpp"

using namespace ecramsim;
using Eigen::Index;
using Eigen::MatrixXd;

namespace {

EcramParams noVariation() {
  EcramParams p = defaultEcramParams();
  p.dg_c2c = 0.0;
  p.gmin_d2d = p.gmax_d2d = p.i0_d2d = p.qc_d2d = 0.0;
  return p;
}

CrossbarGeometry smallLines(Index n) {
  CrossbarGeometry geo;
  geo.rows = geo.cols = n;
  geo.r_gate_seg = 2.0;
  geo.r_row_seg = 2.0;
  geo.r_col_seg = 2.0;
  geo.r_drv = 10.0;
  geo.r_sense = 10.0;
  return geo;
}

struct Disturb {
  double selected = 0.0;   ///< S, |delta G| of the selected cell
  double worstOther = 0.0; ///< S, largest |delta G| of any other cell
  PulseLog log;
  double energy_j = 0.0;   ///< J, drawn from the drivers
};

Disturb onePulse(const BiasScheme& scheme) {
  Rng rng(1);
  CrossbarGeometry geo = smallLines(10);
  geo.wiring = scheme.wiring;
  NodalBackend arr(noVariation(), geo, rng);
  arr.setStates(MatrixXd::Constant(10, 10, 0.5));  // both directions of disturb can show
  const MatrixXd before = arr.probeConductances();
  const std::vector<PulseRequest> pulse{{5, 5, 5.0, 0.1}};
  const PulseBatchResult res = arr.applyPulses(pulse, scheme, PulseOrder::Serial);
  MatrixXd dg = (arr.probeConductances() - before).cwiseAbs();
  Disturb d;
  d.selected = dg(5, 5);
  dg(5, 5) = 0.0;
  d.worstOther = dg.maxCoeff();
  d.log = res.pulses.at(0);
  d.energy_j = res.energy_j;
  return d;
}

}  // namespace

TEST_CASE("write: the gate element's two ends add up to the cell's ionic plus leakage current") {
  const CellParams p = cellParams(defaultEcramParams());
  for (const auto& [vg, vd, vs] : {std::array{5.0, 0.0, 0.0}, std::array{2.5, -2.5, 0.0},
                                   std::array{-1.0, 0.7, 0.2}, std::array{1.667, 1.2, -0.4}}) {
    const double x = 0.37;
    const auto ends = gateBranchCurrents(p, vg - vs, vg - vd, x);
    const double whole = physics::gateIonicCurrent(p, vg, vd, vs, x) +
                         physics::leakageCurrent(p, vg, vd, vs);
    CHECK(ends.total() == doctest::Approx(whole).epsilon(1e-14));
    // The end nearer the larger gate-to-channel voltage takes the larger share.
    const double faradaicSource = ends.source - 0.5 * (vg - vs) / p.r_leak;
    const double faradaicDrain = ends.drain - 0.5 * (vg - vd) / p.r_leak;
    if (vd != vs) CHECK(((faradaicSource > faradaicDrain) == (vg - vs > vg - vd)));
  }
}

TEST_CASE("write: bias levels put V on the selected cell and at most V/2 or V/3 elsewhere") {
  for (const auto wiring : {Wiring::SourceRows, Wiring::SourceCols}) {
    for (const auto frac : {BiasFraction::Half, BiasFraction::Third}) {
      CAPTURE(static_cast<int>(wiring));
      CAPTURE(static_cast<int>(frac));
      const double limit = frac == BiasFraction::Half ? 2.5 : 5.0 / 3.0;
      const BiasLevels l = biasLevels({frac, UnselectedLines::Grounded, wiring}, 5.0);
      const Terminals sel = l.cell(true, true);
      CHECK(sel.vg - sel.vd == doctest::Approx(5.0).epsilon(1e-15));
      // The source end: V/2 (V/3) below the gate with source rows, the whole V with source
      // columns (no channel voltage).
      CHECK(sel.vg - sel.vs ==
            doctest::Approx(wiring == Wiring::SourceCols ? 5.0 : limit).epsilon(1e-15));
      for (const Terminals& t : {l.cell(true, false), l.cell(false, true), l.cell(false, false)}) {
        CHECK(std::abs(t.vg - t.vd) <= limit * (1 + 1e-15));
        CHECK(std::abs(t.vg - t.vs) <= limit * (1 + 1e-15));
        if (wiring == Wiring::SourceCols) CHECK(t.vd == t.vs);
      }
    }
  }
}

TEST_CASE("write: V/2 one 5 V 100 ms pulse on (5,5) of a 10x10 array") {
  const Disturb d = onePulse({BiasFraction::Half, UnselectedLines::Grounded});
  CHECK(d.selected > 1000.0 * d.worstOther);
  CHECK(d.log.v_gd_v == doctest::Approx(5.0).epsilon(0.01));
  CHECK(d.log.v_gd_v < 5.0);  // the lines drop some of it
  CHECK(d.log.v_gs_v == doctest::Approx(2.5).epsilon(0.01));
  // The selected cell alone at the ideal V/2 terminals (gate-source 2.5 V, gate-drain 5 V):
  // the lines take a few percent of the drive. About a tenth of a bench pulse at 5 V (the
  // distributed gate sees 5 V only at the drain end).
  const CellParams cell = cellParams(noVariation());
  const double ideal = advanceHeld(cell, 0.5, {2.5, -2.5, 0.0}, 0.1).x - 0.5;
  const double bench = advanceHeld(cell, 0.5, {5.0, 0.0, 0.0}, 0.1).x - 0.5;
  CHECK(d.selected / 2e-6 == doctest::Approx(ideal).epsilon(0.05));
  CHECK(ideal / bench == doctest::Approx(0.10).epsilon(0.05));
  MESSAGE("V/2 grounded: selected/worst other = " << d.selected / d.worstOther);
  const double idealSelectivity =
      arrayGateFigures(noVariation(), GateModel::Distributed, BiasFraction::Half, 5.0, 0.1)
          .selectivity;
  CHECK(d.selected / d.worstOther == doctest::Approx(idealSelectivity).epsilon(0.05));
}

TEST_CASE("write: V/3 one 5 V 100 ms pulse on (5,5) of a 10x10 array") {
  const Disturb d = onePulse({BiasFraction::Third, UnselectedLines::Grounded});
  CHECK(d.selected > 2e4 * d.worstOther);
  CHECK(d.log.v_gd_v == doctest::Approx(5.0).epsilon(0.01));
  MESSAGE("V/3 grounded: selected/worst other = " << d.selected / d.worstOther);
  // The lines cost little: the selectivity of the same write with ideal lines (rates at x_eq).
  const double ideal =
      arrayGateFigures(noVariation(), GateModel::Distributed, BiasFraction::Third, 5.0, 0.1)
          .selectivity;
  CHECK(d.selected / d.worstOther == doctest::Approx(ideal).epsilon(0.05));
}

TEST_CASE("write: source lines along the columns, one 5 V 100 ms pulse on (5,5) of a 10x10 array") {
  // Each column's two channel lines sit at one potential: the selected cell sees V along its
  // whole channel (a bench pulse less the line drops), no cell carries channel current.
  const CellParams cell = cellParams(noVariation());
  const double bench = advanceHeld(cell, 0.5, {5.0, 0.0, 0.0}, 0.1).x - 0.5;
  for (const auto frac : {BiasFraction::Half, BiasFraction::Third}) {
    CAPTURE(static_cast<int>(frac));
    const Disturb cols = onePulse({frac, UnselectedLines::Grounded, Wiring::SourceCols});
    const Disturb rows = onePulse({frac, UnselectedLines::Grounded, Wiring::SourceRows});
    const double range = noVariation().gmax - noVariation().gmin;
    CHECK(cols.log.v_gd_v == doctest::Approx(5.0).epsilon(1e-3));
    CHECK(cols.log.v_gs_v == doctest::Approx(5.0).epsilon(1e-3));
    CHECK(cols.selected / range == doctest::Approx(bench).epsilon(0.01));
    const double ideal = arrayGateFigures(noVariation(), GateModel::Distributed, frac, 5.0, 0.1,
                                          Wiring::SourceCols)
                             .selectivity;
    CHECK(cols.selected / cols.worstOther == doctest::Approx(ideal).epsilon(0.05));
    MESSAGE((frac == BiasFraction::Half ? "V/2" : "V/3")
            << ": selected dG source-cols " << cols.selected << " S, source-rows " << rows.selected
            << " S; selectivity " << cols.selected / cols.worstOther << " against "
            << rows.selected / rows.worstOther << "; energy " << cols.energy_j << " J against "
            << rows.energy_j << " J");
    CHECK(cols.selected > 5.0 * rows.selected);
    // No channel current: the drivers deliver gate currents only (leakage and Faradaic, nA).
    CHECK(cols.energy_j < 1e-3 * rows.energy_j);
  }
}

TEST_CASE("write: source lines along the columns, ideal lines equal the single-cell integration") {
  const EcramParams p = noVariation();
  CrossbarGeometry geo;  // every resistance 0
  geo.rows = 3;
  geo.cols = 4;
  geo.wiring = Wiring::SourceCols;
  Rng rng(9);
  NodalBackend arr(p, geo, rng);
  arr.setStates(MatrixXd::Constant(3, 4, 0.5));
  const double v = -5.0, w = 0.1;
  const std::vector<PulseRequest> pulses(3, PulseRequest{2, 1, v, w});
  (void)arr.applyPulses(pulses, {BiasFraction::Third, UnselectedLines::Grounded, Wiring::SourceCols},
                        PulseOrder::Serial);
  const CellParams cell = cellParams(p);
  // V/3 with source columns: selected (gate 2V/3, drain and source -V/3), same column (0, -V/3,
  // -V/3), others (0, V/3, V/3).
  double xs = 0.5, xc = 0.5, xo = 0.5;
  for (int k = 0; k < 3; ++k) {
    xs = advanceHeld(cell, xs, {2 * v / 3, -v / 3, -v / 3}, w).x;
    xc = advanceHeld(cell, xc, {0.0, -v / 3, -v / 3}, w).x;
    xo = advanceHeld(cell, xo, {0.0, v / 3, v / 3}, w).x;
  }
  CHECK(xs < 0.5 - 0.002);  // it moved (depression)
  CHECK(arr.states()(2, 1) == doctest::Approx(xs).epsilon(1e-9));
  CHECK(arr.states()(0, 1) == doctest::Approx(xc).epsilon(1e-9));
  CHECK(arr.states()(0, 3) == doctest::Approx(xo).epsilon(1e-9));
}

TEST_CASE("write: an array wired with source columns refuses reads and foreign schemes") {
  CrossbarGeometry geo = smallLines(3);
  geo.wiring = Wiring::SourceCols;
  Rng rng(2);
  NodalBackend arr(noVariation(), geo, rng);
  auto refusesWithWiring = [](auto&& call) {
    try {
      call();
    } catch (const InputError& e) {
      CHECK(e.parameter() == "--wiring");
      return true;
    }
    return false;
  };
  CHECK(refusesWithWiring([&] { (void)arr.vmm(MatrixXd::Ones(1, 3)); }));
  CHECK(refusesWithWiring([&] { (void)arr.readConductances(0.2); }));
  CHECK(refusesWithWiring([&] { (void)CrossbarEngine(geo); }));
  CHECK(refusesWithWiring(
      [&] { (void)readCellSneak(geo, MatrixXd::Constant(3, 3, 1e-6), 1, 1, 0.2, false); }));
  const std::vector<PulseRequest> pulse{{0, 0, 5.0, 0.1}};
  CHECK(refusesWithWiring([&] {
    (void)arr.applyPulses(pulse, {BiasFraction::Half, UnselectedLines::Grounded, Wiring::SourceRows},
                          PulseOrder::Serial);
  }));
  CHECK(arr.counters().pulses == 0);
  CHECK(parseWiring("source-cols") == Wiring::SourceCols);
  CHECK(refusesWithWiring([&] { (void)parseWiring("drain-rows"); }));
}

TEST_CASE("write: floating unselected lines keep the V/2 margin") {
  const Disturb d = onePulse({BiasFraction::Half, UnselectedLines::Floating});
  CHECK(d.selected > 1000.0 * d.worstOther);
  CHECK(d.log.v_gd_v == doctest::Approx(5.0).epsilon(0.01));
  MESSAGE("V/2 floating: selected/worst other = " << d.selected / d.worstOther);
}

namespace {

/// The drive of one V/3 pulse of 5 V on cell (1, 3) of a 5 x 5 array with floating lines.
LineDrive floatingThirdDrive() {
  const BiasLevels lv = biasLevels({BiasFraction::Third, UnselectedLines::Floating}, 5.0);
  LineDrive d;
  d.gate_v = Eigen::VectorXd::Constant(5, lv.gate_unselected_v);
  d.gate_v(1) = lv.gate_selected_v;
  d.gate_driven = {false, true, false, false, false};
  d.source_v = Eigen::VectorXd::Constant(5, lv.source_selected_v);
  d.drain_v = Eigen::VectorXd::Constant(5, lv.drain_unselected_v);
  d.drain_v(3) = lv.drain_selected_v;
  d.drain_driven = {false, false, false, true, false};
  return d;
}

}  // namespace

TEST_CASE("write: at DC a floating line draws no net current from its cells") {
  for (double rDrv : {10.0, 0.0}) {  // both ways of building the network
    CAPTURE(rDrv);
    CrossbarGeometry geo = smallLines(5);
    geo.r_drv = rDrv;
    const CellParams cp = cellParams(noVariation(), DeviceVariation{});
    const std::vector<CellParams> cells(25, cp);
    WriteSolver solver(geo);
    const WriteOperatingPoint op =
        solver.solve(cells, MatrixXd::Constant(5, 5, 0.5), floatingThirdDrive());
    // Gate line 4 floats: its cells' gate currents (ionic + leakage) cancel.
    double sum = 0.0, scale = 0.0;
    for (Index c = 0; c < 5; ++c) {
      const double vg = op.vg(4, c), vd = op.vd(4, c), vs = op.vs(4, c);
      const double i = physics::gateIonicCurrent(cp, vg, vd, vs, 0.5) +
                       physics::leakageCurrent(cp, vg, vd, vs);
      sum += i;
      scale = std::max(scale, std::abs(i));
    }
    CHECK(scale > 0.0);
    CHECK(std::abs(sum) < 1e-9 * scale);
    // Drain line 0 floats: channel currents and gate returns into it cancel.
    double dsum = 0.0, dscale = 0.0;
    for (Index r = 0; r < 5; ++r) {
      const double ch = physics::channelCurrent(cp, 0.5, op.vd(r, 0) - op.vs(r, 0));
      const double gd =
          gateBranchCurrents(cp, op.vg(r, 0) - op.vs(r, 0), op.vg(r, 0) - op.vd(r, 0), 0.5).drain;
      dsum += ch - gd;
      dscale = std::max({dscale, std::abs(ch), std::abs(gd)});
    }
    CHECK(std::abs(dsum) < 1e-9 * dscale);
    // It floats near the source level V/3 that its channels tie it to.
    CHECK(op.vd(2, 0) == doctest::Approx(5.0 / 3.0).epsilon(1e-3));
  }
}

TEST_CASE("write: a double-layer step keeps a floating gate's charge, a long one reaches DC") {
  const CrossbarGeometry geo = smallLines(5);
  const CellParams cp = cellParams(noVariation(), DeviceVariation{});
  const std::vector<CellParams> cells(25, cp);
  const MatrixXd x = MatrixXd::Constant(5, 5, 0.5);
  const LineDrive drive = floatingThirdDrive();
  LineDrive rest = drive;
  rest.gate_v.setZero();
  rest.source_v.setZero();
  rest.drain_v.setZero();
  WriteSolver solver(geo);
  const WriteOperatingPoint atRest = solver.solve(cells, x, rest);
  const WriteOperatingPoint dc = solver.solve(cells, x, drive);
  DoubleLayerStep step;
  step.vgs_prev = atRest.vg - atRest.vs;
  step.vgd_prev = atRest.vg - atRest.vd;
  // 1 ns after the edge: the charge on floating gate line 4, sum over its cells of
  // c_dl/2 (vgs + vgd), has not moved (1 pS leakage and fA ionic currents for 1 ns).
  step.h_s = 1e-9;
  const WriteOperatingPoint edge = solver.solve(cells, x, drive, &step);
  double q0 = 0.0, q1 = 0.0, swing = 0.0;
  for (Index c = 0; c < 5; ++c) {
    q0 += 0.5 * cp.c_dl * (step.vgs_prev(4, c) + step.vgd_prev(4, c));
    q1 += 0.5 * cp.c_dl * ((edge.vg(4, c) - edge.vs(4, c)) + (edge.vg(4, c) - edge.vd(4, c)));
    swing += 0.5 * cp.c_dl * std::abs(edge.vs(4, c) + edge.vd(4, c));
  }
  MESSAGE("floating gate line 4: DC " << dc.vg(4, 0) << " V, right after the edge "
          << edge.vg(4, 0) << " V");
  CHECK(std::abs(q1 - q0) < 1e-9 * swing);
  // The divider and the DC balance differ (the test is not vacuous).
  CHECK(std::abs(edge.vg(4, 0) - dc.vg(4, 0)) > 1e-3);
  // A step far longer than c_dl r_leak (2.5 s) lands on the DC operating point.
  step.vgs_prev = edge.vg - edge.vs;
  step.vgd_prev = edge.vg - edge.vd;
  step.h_s = 1e9;
  const WriteOperatingPoint late = solver.solve(cells, x, drive, &step);
  CHECK(late.vg(4, 0) == doctest::Approx(dc.vg(4, 0)).epsilon(1e-6));
}

TEST_CASE("write: ideal lines, n pulses equal the single-cell integration repeated n times") {
  const EcramParams p = noVariation();
  CrossbarGeometry geo;  // every resistance 0
  geo.rows = 4;
  geo.cols = 5;
  Rng rng(9);
  NodalBackend arr(p, geo, rng);
  const int n = 7;
  const double v = 5.0, w = 0.1;
  std::vector<PulseRequest> pulses(n, PulseRequest{1, 2, v, w});
  const PulseBatchResult res =
      arr.applyPulses(pulses, {BiasFraction::Half, UnselectedLines::Grounded}, PulseOrder::Serial);
  // Reference: the cell alone, terminals as the V/2 scheme sets them (gate +V/2, drain -V/2,
  // source 0), advanced n times.
  const CellParams cell = cellParams(p);
  double x = p.x0;
  for (int k = 0; k < n; ++k) x = advanceHeld(cell, x, {v / 2, -v / 2, 0.0}, w).x;
  CHECK(arr.states()(1, 2) == doctest::Approx(x).epsilon(1e-9));
  CHECK(x > 0.005);  // it moved: n pulses of about 1/900 of the range each
  CHECK(res.pulses.size() == std::size_t(n));
  CHECK(res.pulses.back().x_after == arr.states()(1, 2));
  CHECK(res.duration_s == doctest::Approx(n * w).epsilon(1e-15));
  CHECK(arr.counters().elapsed_s == doctest::Approx(n * w).epsilon(1e-15));
  CHECK(arr.counters().pulses == n);
  // A cell in the same row sees (V/2, V/2): also the single-cell integration at its terminals.
  double xr = p.x0;
  for (int k = 0; k < n; ++k) xr = advanceHeld(cell, xr, {v / 2, 0.0, 0.0}, w).x;
  CHECK(arr.states()(1, 4) == doctest::Approx(xr).epsilon(1e-9));
  // With ideal lines no energy is lost in wires: the drivers deliver what the cells take.
  CHECK(res.energy_j == doctest::Approx(res.cell_energy_j.sum()).epsilon(1e-9));
  CHECK(res.energy_j > 0.0);
}

TEST_CASE("write: line resistance costs energy and drive") {
  Rng rng(2);
  CrossbarGeometry geo = smallLines(6);
  geo.r_gate_seg = geo.r_row_seg = geo.r_col_seg = 2e3;  // resistive lines: 10 kOhm-ish
  geo.r_drv = 1e3;
  NodalBackend arr(noVariation(), geo, rng);
  const std::vector<PulseRequest> pulse{{5, 5, 5.0, 0.1}};
  const PulseBatchResult res =
      arr.applyPulses(pulse, {BiasFraction::Half, UnselectedLines::Grounded}, PulseOrder::Serial);
  CHECK(res.energy_j > res.cell_energy_j.sum() * (1 + 1e-6));
  CHECK(res.pulses[0].v_gd_v < 5.0 * (1 - 1e-4));
  CHECK(arr.lastOperatingPoint().newton_iterations >= 2);
}

TEST_CASE("write: cycle-to-cycle noise follows the bench's rule and its seed") {
  EcramParams p = noVariation();
  p.dg_c2c = 0.1;
  CrossbarGeometry geo;
  geo.rows = geo.cols = 3;
  Rng rngA(5), rngB(5);
  // With every _d2d sigma 0, drawVariation draws nothing: rngB stays in step with rngA.
  NodalBackend arr(p, geo, rngA);
  const std::vector<PulseRequest> pulse{{0, 1, 5.0, 0.1}};
  (void)arr.applyPulses(pulse, {}, PulseOrder::Serial);
  const CellParams cell = cellParams(p);
  const double dx = advanceHeld(cell, p.x0, {2.5, -2.5, 0.0}, 0.1).x - p.x0;
  const double expected = p.x0 + dx * (1.0 + 0.1 * rngB.normal());
  CHECK(arr.states()(0, 1) == doctest::Approx(expected).epsilon(1e-9));
  // Half-selected cells are not noisy: (0, 2) matches its deterministic integration.
  const double xr = advanceHeld(cell, p.x0, {2.5, 0.0, 0.0}, 0.1).x;
  CHECK(arr.states()(0, 2) == doctest::Approx(xr).epsilon(1e-9));
}

TEST_CASE("write: row-parallel PWM releases each column at its own width") {
  Rng rng(4);
  NodalBackend arr(noVariation(), smallLines(6), rng);
  arr.setStates(MatrixXd::Constant(6, 6, 0.3));
  const std::vector<PulseRequest> pulses{{2, 1, 5.0, 0.05}, {2, 4, 5.0, 0.1}, {2, 3, 5.0, 0.1}};
  const PulseBatchResult res = arr.applyPulses(
      pulses, {BiasFraction::Half, UnselectedLines::Grounded}, PulseOrder::RowParallel);
  CHECK(res.duration_s == doctest::Approx(0.1).epsilon(1e-15));  // one phase
  const MatrixXd dx = res.delta_x;
  CHECK(dx(2, 1) / dx(2, 4) == doctest::Approx(0.5).epsilon(0.01));
  CHECK(dx(2, 3) == doctest::Approx(dx(2, 4)).epsilon(0.01));
  CHECK(std::abs(dx(2, 0)) < 1e-3 * dx(2, 4));  // not pulsed, same row
  CHECK(res.pulses.size() == 3);
  CHECK(res.pulses[0].start_s == res.pulses[2].start_s);
}

TEST_CASE("backend: reads through the array") {
  Rng rng(11);
  CrossbarGeometry ideal;
  ideal.rows = 5;
  ideal.cols = 4;
  NodalBackend a(defaultEcramParams(), ideal, rng);  // with device-to-device variation
  MatrixXd x(5, 4);
  for (Index k = 0; k < x.size(); ++k) x(k) = double(k) / double(x.size());
  a.setStates(x);
  const MatrixXd probe = a.probeConductances();
  CHECK((a.readConductances(0.1) - probe).cwiseAbs().maxCoeff() < 1e-12 * probe.maxCoeff());
  CHECK(a.counters().reads == 5);
  const MatrixXd in = MatrixXd::Constant(2, 5, 0.1);
  const MatrixXd out = a.vmm(in);
  CHECK((out - in * probe).cwiseAbs().maxCoeff() < 1e-12 * out.cwiseAbs().maxCoeff());
  CHECK(a.counters().reads == 7);
  CHECK(a.counters().energy_j > 0.0);

  Rng rng2(11);
  NodalBackend b(defaultEcramParams(), smallLines(5), rng2);
  b.setStates(MatrixXd::Constant(5, 5, 1.0));
  const MatrixXd measured = b.readConductances(0.1);
  const MatrixXd exact = b.probeConductances();
  // Lines make the far corner read low, by a little.
  CHECK(measured(0, 4) < exact(0, 4));
  CHECK(measured(0, 4) > 0.99 * exact(0, 4));
}

TEST_CASE("backend: bad input is an InputError") {
  Rng rng(1);
  CrossbarGeometry geo;
  geo.rows = geo.cols = 3;
  NodalBackend arr(noVariation(), geo, rng);
  const BiasScheme s;
  const std::vector<PulseRequest> outside{{3, 0, 5.0, 0.1}};
  CHECK_THROWS_AS((void)arr.applyPulses(outside, s, PulseOrder::Serial), InputError);
  const std::vector<PulseRequest> noWidth{{0, 0, 5.0, 0.0}};
  CHECK_THROWS_AS((void)arr.applyPulses(noWidth, s, PulseOrder::Serial), InputError);
  const std::vector<PulseRequest> nanAmp{{0, 0, std::nan(""), 0.1}};
  CHECK_THROWS_AS((void)arr.applyPulses(nanAmp, s, PulseOrder::Serial), InputError);
  CHECK_THROWS_AS(arr.setStates(MatrixXd::Constant(3, 3, 1.5)), InputError);
  CHECK_THROWS_AS(arr.setStates(MatrixXd::Constant(2, 3, 0.5)), InputError);
  CHECK_THROWS_AS((void)arr.vmm(MatrixXd::Zero(1, 4)), InputError);
  CHECK_THROWS_AS((void)arr.readConductances(0.0), InputError);
  EcramParams cubic = noVariation();
  cubic.c3 = 0.1;
  CHECK_THROWS_AS(NodalBackend(cubic, geo, rng), InputError);
  geo.r_drv = -5.0;
  CHECK_THROWS_AS(NodalBackend(noVariation(), geo, rng), InputError);
}

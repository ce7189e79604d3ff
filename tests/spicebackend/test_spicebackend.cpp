// SpiceBackend and the generated crossbar netlist against the nodal engine (issue 4
// acceptance A and D, issue 5 acceptance D). The longest cross-checks are `bench` test cases,
// skipped here and run by tools/bench/spice_crosscheck.sh.
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "app/cards.hpp"
#include "app/program_job.hpp"
#include "array/crossbar_engine.hpp"
#include "array/nodal_backend.hpp"
#include "array/write_solver.hpp"
#include "core/progress.hpp"
#include "core/result.hpp"
#include "cosim/spice_backend.hpp"

using namespace ecramsim;
using Index = Eigen::Index;

namespace {

const std::string kRoot = ECRAMSIM_TEST_DATA_DIR "/..";

EcramParams card(bool variation) {
  app::CardOverrides ov;
  ov.noVariation = !variation;
  return app::resolveCard(kRoot + "/models/wox_ysz.model", ov).params;
}

CrossbarGeometry lossyGeometry(Index n) {
  CrossbarGeometry g;
  g.rows = g.cols = n;
  g.r_gate_seg = 3.0;
  g.r_row_seg = 2.0;
  g.r_col_seg = 5.0;
  g.r_drv = 20.0;
  g.r_sense = 0.0;
  return g;
}

Eigen::MatrixXd randomStates(Index n, Rng& rng) {
  Eigen::MatrixXd x(n, n);
  for (Index r = 0; r < n; ++r) {
    for (Index c = 0; c < n; ++c) x(r, c) = rng.uniform();
  }
  return x;
}

double maxRel(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  double worst = 0.0;
  for (Index i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::abs(a(i) - b(i)) / std::max(std::abs(b(i)), 1e-300));
  }
  return worst;
}

/// The drive NodalBackend uses for a single pulse on (row, col) of an array wired as `geo`.
LineDrive writeDrive(const CrossbarGeometry& geo, Index row, Index col, const BiasScheme& scheme,
                     double v) {
  const Index R = geo.rows, C = geo.cols;
  const BiasLevels lv = biasLevels(scheme, v);
  const bool floating = scheme.unselected == UnselectedLines::Floating;
  LineDrive d;
  d.gate_v = Eigen::VectorXd::Constant(R, lv.gate_unselected_v);
  d.gate_v(row) = lv.gate_selected_v;
  d.gate_driven.assign(std::size_t(R), !floating);
  d.gate_driven[std::size_t(row)] = true;
  d.source_v = Eigen::VectorXd::Constant(geo.sourceLines(), lv.source_unselected_v);
  d.source_v(geo.sourceLine(row, col)) = lv.source_selected_v;
  d.drain_v = Eigen::VectorXd::Constant(C, lv.drain_unselected_v);
  d.drain_v(col) = lv.drain_selected_v;
  d.drain_driven.assign(std::size_t(C), !floating);
  d.drain_driven[std::size_t(col)] = true;
  return d;
}

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Reads (probe, read and VMM) of an n x n array with random states, through ngspice and through
/// the nodal engine, with and without a sense resistance: agreement to 1e-9 relative.
void checkReads(Index n) {
  const EcramParams p = card(true);
  for (double rSense : {0.0, 7.0}) {
    CAPTURE(n);
    CAPTURE(rSense);
    CrossbarGeometry geo = lossyGeometry(n);
    geo.r_sense = rSense;
    Rng rngA(11), rngB(11), rngX(5);
    NodalBackend nodal(p, geo, rngA);
    SpiceBackend spice(p, geo, rngB);
    const Eigen::MatrixXd x = randomStates(n, rngX);
    nodal.setStates(x);
    spice.setStates(x);
    REQUIRE(maxRel(spice.probeConductances(), nodal.probeConductances()) == 0.0);
    const auto t0 = std::chrono::steady_clock::now();
    const Eigen::MatrixXd gs = spice.readConductances(0.2);
    const double tSpice = seconds(t0);
    const Eigen::MatrixXd gn = nodal.readConductances(0.2);
    const double relG = maxRel(gs, gn);
    Eigen::MatrixXd in(3, n);
    for (Index k = 0; k < in.size(); ++k) in(k) = rngX.uniform() - 0.3;
    const double relI = maxRel(spice.vmm(in), nodal.vmm(in));
    MESSAGE(n << "x" << n << " r_sense " << rSense << ": read max rel " << relG
              << ", vmm max rel " << relI << ", " << n << " .op runs " << tSpice << " s");
    CHECK(relG <= 1e-9);
    CHECK(relI <= 1e-9);
    // Sanity: line resistance is visible (the read is not the ideal product).
    CHECK(maxRel(gs, nodal.probeConductances()) > 1e-6);
    CHECK(spice.counters().reads == n + 3);
  }
}

/// Write operating points of an n x n array wired as `wiring` under V/2 and V/3, unselected
/// lines grounded and floating: gate-to-channel voltages through ngspice and WriteSolver agree
/// to 1e-9.
void checkWriteOperatingPoints(Index n, Wiring wiring = Wiring::SourceRows) {
  const EcramParams p = card(true);
  for (auto frac : {BiasFraction::Half, BiasFraction::Third}) {
    // Floating lines: an unselected gate line is held only by its cells' 1 TOhm leakage and
    // the Faradaic branches. The generated netlist writes floating lines' segments (and the
    // cells' electrolyte resistance) in branch form; with plain resistors ngspice's LU lost
    // the leakage against the 3 Ohm segments and differed by 2.3e-5 (4x4), and V/3 did not
    // converge (netlist/crossbar.hpp).
    for (auto unsel : {UnselectedLines::Grounded, UnselectedLines::Floating}) {
      CAPTURE(n);
      CAPTURE(static_cast<int>(frac));
      CAPTURE(static_cast<int>(unsel));
      CAPTURE(wiringName(wiring));
      CrossbarGeometry geo = lossyGeometry(n);
      geo.wiring = wiring;
      Rng rngB(3), rngX(9);
      SpiceBackend spice(p, geo, rngB);
      const Eigen::MatrixXd x = randomStates(n, rngX);
      spice.setStates(x);
      const double v = 5.0;
      const LineDrive d = writeDrive(geo, n / 2, n - 2, {frac, unsel, wiring}, v);
      WriteSolver solver(geo);
      const auto t0 = std::chrono::steady_clock::now();
      const SpiceOperatingPoint so = spice.writeOperatingPoint(d);
      const double tSpice = seconds(t0);
      const WriteOperatingPoint no = solver.solve(spice.cellParameters(), x, d);
      const Eigen::MatrixXd gdS = so.vg - so.vd, gsS = so.vg - so.vs;
      const Eigen::MatrixXd gdN = no.vg - no.vd, gsN = no.vg - no.vs;
      // Relative to the larger of |value| and 1% of V: cells at 0 V carry only line drops.
      double worst = 0.0;
      for (Index i = 0; i < gdS.size(); ++i) {
        worst = std::max(worst, std::abs(gdS(i) - gdN(i)) / std::max(std::abs(gdN(i)), 0.01 * v));
        worst = std::max(worst, std::abs(gsS(i) - gsN(i)) / std::max(std::abs(gsN(i)), 0.01 * v));
      }
      const double absWorst = std::max((gdS - gdN).cwiseAbs().maxCoeff(),
                                       (gsS - gsN).cwiseAbs().maxCoeff());
      MESSAGE(wiringName(wiring) << " " << n << "x" << n
                << (frac == BiasFraction::Half ? " V/2 " : " V/3 ")
                << (unsel == UnselectedLines::Grounded ? "grounded" : "floating")
                << ": max rel " << worst << ", max abs " << absWorst << " V, .op " << tSpice
                << " s");
      CHECK(worst <= 1e-9);
      if (unsel == UnselectedLines::Floating) {
        // Not vacuous: the floating gate lines settle tens of mV or more (0.05 V at 32x32
        // V/2) away from their 0 V level, which grounded lines would hold.
        CHECK(std::abs(so.vg(0, 0)) > 0.02);
      }
      // The selected cell sees about V at its drain end (and at its source end with source
      // columns).
      CHECK(std::abs(gdS(n / 2, n - 2) - v) < 0.05 * v);
      if (wiring == Wiring::SourceCols) CHECK(std::abs(gsS(n / 2, n - 2) - v) < 0.05 * v);
    }
  }
}

/// An n x n array (wired as `wiring`) with variation and the shipped lines gets `perCell`
/// 5 V / 100 ms pulses on every cell, row-parallel under V/2, through ngspice and through the
/// nodal engine: the maps agree within 1e-3 of the range (issue 4 acceptance D, issue 13
/// acceptance B), lines grounded and floating.
void checkRowParallelMaps(int perCell, Index n = 10, Wiring wiring = Wiring::SourceRows) {
  const EcramParams p = card(true);
  CrossbarGeometry geo = app::defaultGeometry(n, n);
  geo.wiring = wiring;
  for (auto unsel : {UnselectedLines::Grounded, UnselectedLines::Floating}) {
    CAPTURE(static_cast<int>(unsel));
    CAPTURE(wiringName(wiring));
    Rng rngA(7), rngB(7);
    NodalBackend nodal(p, geo, rngA);
    SpiceBackend spice(p, geo, rngB);
    std::vector<PulseRequest> req;
    for (int k = 0; k < perCell; ++k) {
      for (Index r = 0; r < n; ++r) {
        for (Index c = 0; c < n; ++c) req.push_back({r, c, 5.0, 100e-3});
      }
    }
    const BiasScheme scheme{BiasFraction::Half, unsel, wiring};
    const Eigen::MatrixXd g0 = nodal.probeConductances();
    const auto t0 = std::chrono::steady_clock::now();
    const PulseBatchResult bs = spice.applyPulses(req, scheme, PulseOrder::RowParallel);
    const double tSpice = seconds(t0);
    const PulseBatchResult bn = nodal.applyPulses(req, scheme, PulseOrder::RowParallel);
    const Eigen::MatrixXd gs = spice.probeConductances(), gn = nodal.probeConductances();
    const double range = p.gmax - p.gmin;
    const double diff = (gs - gn).cwiseAbs().maxCoeff() / range;
    const double moved = (gn - g0).minCoeff() / range;
    MESSAGE(wiringName(wiring) << " " << n << "x" << n << " row-parallel, " << (unsel == UnselectedLines::Grounded ? "grounded" : "floating")
            << ", " << perCell << " pulses/cell (" << bs.pulses.size() << " pulses, " << spice.spiceRuns()
            << " runs): max |dG| " << diff << " of the range, min movement " << moved << ", spice "
            << tSpice << " s; energy spice " << bs.energy_j << " J nodal " << bn.energy_j << " J");
    // Every cell moved by >= 0.08% of the range per pulse (the selected cell's step from x = 0
    // is 0.12% with ideal lines: device gate-iv, array_step_v2).
    CHECK(moved > 0.0008 * perCell);
    CHECK(diff <= 1e-3);
    CHECK(spice.counters().pulses == std::size_t(n * n * perCell));
    CHECK(spice.counters().elapsed_s == doctest::Approx(nodal.counters().elapsed_s));
    CHECK(bs.energy_j == doctest::Approx(bn.energy_j).epsilon(0.05));
  }
}

}  // namespace

// The suite runs the cross-checks on arrays where ngspice takes seconds; the same checks at
// 32x32 and with 10 pulses per cell (minutes of ngspice) are benchmarks, run by
// tools/bench/spice_crosscheck.sh (`--no-skip -tc='bench*'`).

TEST_CASE("acceptance A: reads through ngspice equal the nodal engine to 1e-9 (4x4, 10x10)") {
  checkReads(4);
  checkReads(10);
}

TEST_CASE("bench acceptance A: reads through ngspice equal the nodal engine to 1e-9 (32x32)" *
          doctest::skip()) {
  checkReads(32);
}

TEST_CASE("acceptance A: write operating points through ngspice equal WriteSolver to 1e-9 (4x4)") {
  checkWriteOperatingPoints(4);
}

TEST_CASE("acceptance A: write operating points through ngspice equal WriteSolver to 1e-9 (10x10)") {
  checkWriteOperatingPoints(10);
}

TEST_CASE("acceptance B (issue 13): source-column write operating points, ngspice = WriteSolver to 1e-9 (4x4)") {
  checkWriteOperatingPoints(4, Wiring::SourceCols);
}

TEST_CASE("acceptance B (issue 13): source-column write operating points, ngspice = WriteSolver to 1e-9 (10x10)") {
  checkWriteOperatingPoints(10, Wiring::SourceCols);
}

TEST_CASE("acceptance B (issue 13): source columns, 5x5, 3 pulses per cell, spice and nodal maps within 1e-3") {
  checkRowParallelMaps(3, 5, Wiring::SourceCols);
}

TEST_CASE("source columns: the spice backend refuses reads and VMMs, naming --wiring") {
  CrossbarGeometry geo = lossyGeometry(3);
  geo.wiring = Wiring::SourceCols;
  Rng rng(1);
  SpiceBackend spice(card(false), geo, rng);
  for (int which = 0; which < 2; ++which) {
    CAPTURE(which);
    bool refused = false;
    try {
      if (which == 0) (void)spice.vmm(Eigen::MatrixXd::Ones(1, 3));
      else (void)spice.readConductances(0.2);
    } catch (const InputError& e) {
      refused = e.parameter() == "--wiring";
    }
    CHECK(refused);
  }
  CHECK(spice.spiceRuns() == 0);
}

TEST_CASE("bench acceptance A: write operating points, ngspice against WriteSolver (32x32)" *
          doctest::skip()) {
  checkWriteOperatingPoints(32);
}

TEST_CASE("acceptance D (issue 4): 10x10, 3 pulses per cell, spice and nodal maps within 1e-3") {
  checkRowParallelMaps(3);
}

TEST_CASE("bench acceptance D (issue 4): 10x10, 10 pulses per cell, spice and nodal maps within 1e-3" *
          doctest::skip()) {
  checkRowParallelMaps(10);
}

TEST_CASE("floating lines: the half-select disturb of the nodal engine follows the ngspice transient") {
  // 20 pulses of 5 V / 100 ms on cell (1, 2) of a 4x4 array under V/3 with floating lines. A
  // floating gate line relaxes with c_dl r_leak = 2.5 s, so through a pulse it stays near its
  // capacitive-divider potential; a DC floating gate would misplace it (this check failed with
  // the former DC treatment: nodal disturb 8.9e-6 against ngspice's 2.37e-5).
  const EcramParams p = card(false);
  const CrossbarGeometry geo = lossyGeometry(4);
  Rng rngA(5), rngB(5);
  NodalBackend nodal(p, geo, rngA);
  SpiceBackend spice(p, geo, rngB);
  const Eigen::MatrixXd x0 = Eigen::MatrixXd::Constant(4, 4, 0.5);
  nodal.setStates(x0);
  spice.setStates(x0);
  const std::vector<PulseRequest> req(20, PulseRequest{1, 2, 5.0, 100e-3});
  const BiasScheme scheme{BiasFraction::Third, UnselectedLines::Floating};
  const PulseBatchResult bn = nodal.applyPulses(req, scheme, PulseOrder::Serial);
  const PulseBatchResult bs = spice.applyPulses(req, scheme, PulseOrder::Serial);
  double disturbN = 0.0, disturbS = 0.0, diff = 0.0;
  for (Index r = 0; r < 4; ++r) {
    for (Index c = 0; c < 4; ++c) {
      if (r == 1 && c == 2) continue;
      disturbN = std::max(disturbN, std::abs(bn.delta_x(r, c)));
      disturbS = std::max(disturbS, std::abs(bs.delta_x(r, c)));
      diff = std::max(diff, std::abs(bn.delta_x(r, c) - bs.delta_x(r, c)));
    }
  }
  MESSAGE("V/3 floating, 20 pulses: largest disturb nodal " << disturbN << ", spice " << disturbS
          << " (state units); largest difference " << diff << "; selected cell moved "
          << bn.delta_x(1, 2) << " (nodal) " << bs.delta_x(1, 2) << " (spice)");
  CHECK(disturbS > 1e-6);  // there is a disturb to compare (3.7e-6 with the distributed gate)
  CHECK(diff <= 0.05 * disturbS);
  CHECK(bn.delta_x(1, 2) == doctest::Approx(bs.delta_x(1, 2)).epsilon(1e-3));
}

namespace {

/// Programs `target` (pwm, serial, with variation and the shipped lines) through the nodal engine
/// and through ngspice: the maps agree within 1% of the window (issue 5 acceptance D), and both
/// moved cells far from the start.
void checkProgramSpiceAgainstNodal(const std::string& target, Wiring wiring = Wiring::SourceRows,
                                   double tolerance = 0.01) {
  NullProgress quiet;
  app::ProgramJob job;
  job.target = target;
  app::CardOverrides ov;
  job.card = app::resolveCard(kRoot + "/models/wox_ysz.model", ov);  // with variation
  job.geometry = app::defaultGeometry(0, 0);
  job.geometry.wiring = wiring;
  job.config.scheme = ProgramScheme::Pwm;
  job.config.order = PulseOrder::Serial;
  job.seed = 42;
  job.engine = "nodal";
  const ResultTree nodal = app::runProgramJob(job, quiet);
  job.engine = "spice";
  const auto t0 = std::chrono::steady_clock::now();
  const ResultTree spice = app::runProgramJob(job, quiet);
  const double tSpice = seconds(t0);
  const auto& an = nodal.values("/maps/after_s");
  const auto& as = spice.values("/maps/after_s");
  REQUIRE(!an.empty());
  REQUIRE(as.size() == an.size());
  const double window = job.card.params.gmax - job.card.params.gmin;
  double worst = 0.0;
  for (std::size_t i = 0; i < an.size(); ++i) worst = std::max(worst, std::abs(as[i] - an[i]) / window);
  MESSAGE(wiringName(wiring) << " " << target << " pwm serial, " << an.size() << " cells: max |G_spice - G_nodal| = "
                 << 100.0 * worst << "% of the window; spice program run " << tSpice << " s");
  CHECK(worst <= tolerance);
  // Not trivially equal: both moved the cells far from the start.
  double spread = 0.0;
  for (double g : an) spread = std::max(spread, (g - job.card.params.gmin) / window);
  CHECK(spread > 0.3);
}

}  // namespace

namespace {

/// An n x n crop-sized target with grey levels from 0 to 0.5 of the window (a temporary CSV,
/// removed by the destructor).
struct GradedTarget {
  std::filesystem::path csv = std::filesystem::temp_directory_path() /
                              ("ecramsim_sb_target_" + std::to_string(::getpid()) + ".csv");
  explicit GradedTarget(int n) {
    std::ofstream out(csv);
    for (int r = 0; r < n; ++r) {
      for (int c = 0; c < n; ++c) out << (c ? "," : "") << double((r * n + c) % 7) / 12.0;
      out << "\n";
    }
  }
  ~GradedTarget() { std::filesystem::remove(csv); }
  GradedTarget(const GradedTarget&) = delete;
  GradedTarget& operator=(const GradedTarget&) = delete;
};

}  // namespace

TEST_CASE("acceptance D (issue 5): program a graded 5x5 target (pwm, serial), spice and nodal within 1%") {
  // ngspice takes seconds: an array pulse moves a cell about 1.2e-3 of the range per 100 ms
  // under V/2.
  const GradedTarget target(5);
  checkProgramSpiceAgainstNodal(target.csv.string());
}

TEST_CASE("acceptance B (issue 13): source columns, program a graded 3x3 target, spice and nodal within 0.1%") {
  const GradedTarget target(3);
  checkProgramSpiceAgainstNodal(target.csv.string(), Wiring::SourceCols, 1e-3);
}

TEST_CASE("bench acceptance D (issue 5): program letter_e (pwm, serial), spice and nodal within 1%" *
          doctest::skip()) {
  checkProgramSpiceAgainstNodal(kRoot + "/data/patterns/letter_e.pgm");
}

/// Line compensation of the pwm scheme (`--compensate lines`, control/compensation.hpp) on the
/// nodal engine: nominal cells (no variation, no cycle noise), so that what is left is what the
/// controller's model misses (gate currents in the lines, the linear step of the disturb).

#include <doctest/doctest.h>

#include <Eigen/Core>
#include <cmath>
#include <ctime>
#include <memory>

#include "array/line_potentials.hpp"
#include "array/nodal_backend.hpp"
#include "control/compensation.hpp"
#include "control/program.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "device/params.hpp"
#include "modelcard/ecram_table.hpp"
#include "../support/geometry.hpp"
#include "../support/targets.hpp"

using namespace ecramsim;
using ecramsim::test::randomTarget;
using Eigen::Index;
using Eigen::MatrixXd;

namespace {

EcramParams nominalCard() {
  EcramParams p = defaultEcramParams();
  p.dg_c2c = p.gmin_d2d = p.gmax_d2d = p.i0_d2d = p.qc_d2d = 0.0;
  return p;
}

/// n x n array whose line segments are `rSeg` Ohm (20 Ohm drivers).
CrossbarGeometry lines(Index n, double rSeg) {
  CrossbarGeometry geo = test::shippedLines(n);
  geo.r_gate_seg = geo.r_row_seg = geo.r_col_seg = rSeg;
  return geo;
}

struct Run {
  ProgramResult result;
  MatrixXd states;
};

/// A pwm programming run of `target` on nominal cells, compensated when `model` is given.
Run program(const CrossbarGeometry& geo, const MatrixXd& target, const WriteLineModel* model,
            PulseOrder order = PulseOrder::RowParallel) {
  const EcramParams p = nominalCard();
  Rng rng(1);
  NodalBackend array(p, geo, rng);
  ProgramConfig cfg;
  cfg.scheme = ProgramScheme::Pwm;
  cfg.order = order;
  cfg.lines = model;
  NullProgress quiet;
  Run run{programArray(array, p, target, p.gmin, p.gmax, cfg, quiet), {}};
  run.states = array.states();
  return run;
}

double rmse(const ProgramResult& r) {
  const double window = nominalCard().gmax - nominalCard().gmin;
  return std::sqrt((r.after_s - r.target_s).squaredNorm() / double(r.after_s.size())) / window;
}

}  // namespace

TEST_CASE("compensate lines: planned widths cut the error of a 24x24 array a hundredfold") {
  // 10 Ohm segments (five times the shipped lines): the selected cells far from the drivers
  // see tens of mV less than V and fall a few % of the window short uncompensated (2.4 %
  // RMSE); the planned widths leave about 1e-3 % (the model leaves out the gate currents'
  // share of the line currents).
  const CrossbarGeometry geo = lines(24, 10.0);
  const MatrixXd target = randomTarget(24);
  const std::unique_ptr<WriteLineModel> model = makeLadderLineModel(geo);
  const double none = rmse(program(geo, target, nullptr).result);
  const double planned = rmse(program(geo, target, model.get()).result);
  MESSAGE("RMSE of the window: " << 100 * none << " % uncompensated, " << 100 * planned
                                 << " % with --compensate lines");
  CHECK(none > 0.02);
  CHECK(planned < 0.01 * none);
}

TEST_CASE("compensate lines: predicted disturb and final states agree with the nodal engine") {
  // The plan's disturb (every cell's change over the phases that do not pulse it, before and
  // after its own) against the nodal engine's, and its final states against the array's.
  // Measured: disturb within 0.6 % of the largest (1.0e-3 of the range), the mean within
  // 1e-4 of itself, final states within 2e-5.
  const CrossbarGeometry geo = lines(24, 10.0);
  const MatrixXd target = randomTarget(24);
  const std::unique_ptr<WriteLineModel> model = makeLadderLineModel(geo);
  const EcramParams p = nominalCard();
  const LinePlan plan = planLineCompensation(p, *model, target, MatrixXd::Zero(24, 24),
                                             LinePlanConfig{});
  const Run run = program(geo, target, model.get());
  const MatrixXd simulated = run.result.disturb_s / (p.gmax - p.gmin);
  const double largest = simulated.cwiseAbs().maxCoeff();
  const double worst = (plan.disturb - simulated).cwiseAbs().maxCoeff();
  const double mean = simulated.mean(), meanPredicted = plan.disturb.mean();
  const double states = (plan.predicted - run.states).cwiseAbs().maxCoeff();
  MESSAGE("disturb (fraction of the range): simulated mean " << mean << ", largest " << largest
          << "; predicted mean " << meanPredicted << "; largest |predicted - simulated| "
          << worst << "; final states: largest |predicted - simulated| " << states);
  CHECK(largest > 1e-3);
  CHECK(worst < 0.02 * largest);
  CHECK(std::fabs(meanPredicted - mean) < 0.005 * mean);
  CHECK(states < 1e-4);
}

TEST_CASE("compensate lines: serial order on a 12x12 array, and what it refuses") {
  // 20 Ohm segments, one cell per phase: 0.97 % uncompensated, 0.022 % planned.
  const CrossbarGeometry geo = lines(12, 20.0);
  const MatrixXd target = randomTarget(12);
  const std::unique_ptr<WriteLineModel> model = makeLadderLineModel(geo);
  const double none = rmse(program(geo, target, nullptr, PulseOrder::Serial).result);
  const double planned = rmse(program(geo, target, model.get(), PulseOrder::Serial).result);
  MESSAGE("serial RMSE of the window: " << 100 * none << " % uncompensated, " << 100 * planned
                                        << " % with --compensate lines");
  CHECK(planned < 0.05 * none);

  const EcramParams p = nominalCard();
  Rng rng(1);
  NodalBackend array(p, geo, rng);
  ProgramConfig cfg;
  cfg.lines = model.get();
  NullProgress quiet;
  cfg.scheme = ProgramScheme::Count;
  CHECK_THROWS_AS((void)programArray(array, p, target, p.gmin, p.gmax, cfg, quiet), InputError);
  cfg.scheme = ProgramScheme::Pwm;
  cfg.bias.unselected = UnselectedLines::Floating;
  CHECK_THROWS_AS((void)programArray(array, p, target, p.gmin, p.gmax, cfg, quiet), InputError);
  cfg.bias.unselected = UnselectedLines::Grounded;
  cfg.line_plans = 0;
  CHECK_THROWS_AS((void)programArray(array, p, target, p.gmin, p.gmax, cfg, quiet), InputError);
}

TEST_CASE("bench compensate lines: CPU time of the plans on the random 64x64 and 128x128 targets" *
          doctest::skip()) {
  // tools/bench/compensate.sh runs it: what --compensate lines adds to a programming run.
  for (const Index n : {64, 128}) {
    const CrossbarGeometry geo = test::shippedLines(n);
    const std::unique_ptr<WriteLineModel> model = makeLadderLineModel(geo);
    const MatrixXd target = randomTarget(n);
    const std::clock_t start = std::clock();
    const LinePlan plan =
        planLineCompensation(nominalCard(), *model, target, MatrixXd::Zero(n, n), {});
    const double cpu = double(std::clock() - start) / CLOCKS_PER_SEC;
    MESSAGE(n << " x " << n << ": two plans in " << cpu << " s CPU, mean predicted disturb "
              << 100 * plan.disturb.mean() << " % of the range");
    CHECK(plan.width_s.maxCoeff() > 0.0);
  }
}

// The fast read solver (array/line_solver.hpp) against the exact one (CHOLMOD) on the same
// network: column and driver currents within 1e-10 of full scale (the largest exact current),
// node voltages within 1e-10 of the largest input, across line resistances, conductance
// extremes, pinned and resistive line ends and floating lines; and the fallback to the exact
// solver when the iteration cannot meet its tolerance.
#include <doctest/doctest.h>

#include <Eigen/Dense>
#include <cmath>
#include <string>
#include <vector>

#include "array/crossbar_engine.hpp"
#include "array/line_solver.hpp"
#include "array/sneak_read.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "../support/geometry.hpp"

using namespace ecramsim;
using Eigen::Index;
using Eigen::MatrixXd;

namespace {

constexpr double kAgree = 1e-10;  ///< of full scale

/// Conductances uniform in [lo, hi] S, with a share `zeros` of open cells.
MatrixXd conductances(Index rows, Index cols, double lo, double hi, double zeros, Rng& rng) {
  MatrixXd g(rows, cols);
  for (Index r = 0; r < rows; ++r) {
    for (Index c = 0; c < cols; ++c) {
      g(r, c) = rng.uniform() < zeros ? 0.0 : lo + (hi - lo) * rng.uniform();
    }
  }
  return g;
}

MatrixXd inputs(Index k, Index rows, Rng& rng) {
  MatrixXd v(k, rows);
  for (Index i = 0; i < k; ++i) {
    for (Index r = 0; r < rows; ++r) v(i, r) = 0.2 * rng.uniform() - 0.05;
  }
  return v;
}

double relToScale(const MatrixXd& fast, const MatrixXd& exact) {
  const double scale = exact.cwiseAbs().maxCoeff();
  return scale > 0.0 ? (fast - exact).cwiseAbs().maxCoeff() / scale
                     : fast.cwiseAbs().maxCoeff();
}

/// Fast against exact on one network: transfer matrix, a few vectors with node voltages.
/// Returns the fast solver's iterations on the few vectors, negative when it used CG.
int compare(const CrossbarGeometry& geo, const MatrixXd& g, const ReadLines& lines, Rng& rng) {
  CrossbarEngine fast(geo, ReadSolverKind::Fast, lines);
  CrossbarEngine exact(geo, ReadSolverKind::Exact, lines);
  REQUIRE(fast.usesFast());
  REQUIRE_FALSE(exact.usesFast());
  fast.setConductances(g);
  exact.setConductances(g);
  const MatrixXd in = inputs(3, geo.rows, rng);
  const ReadResult a = fast.solve(in, true);
  const int iterations = fast.lastUsedCg() ? -fast.lastIterations() : fast.lastIterations();
  const ReadResult b = exact.solve(in, true);
  CHECK(relToScale(a.column_currents_a, b.column_currents_a) < kAgree);
  CHECK(relToScale(a.row_currents_a, b.row_currents_a) < kAgree);
  for (std::size_t k = 0; k < a.source_v.size(); ++k) {
    const double vScale = in.cwiseAbs().maxCoeff();
    CHECK((a.source_v[k] - b.source_v[k]).cwiseAbs().maxCoeff() < kAgree * vScale);
    CHECK((a.drain_v[k] - b.drain_v[k]).cwiseAbs().maxCoeff() < kAgree * vScale);
  }
  CHECK(relToScale(fast.transfer(), exact.transfer()) < kAgree);
  CHECK(fast.fallbacks() == 0);
  return iterations;
}

}  // namespace

TEST_CASE("read fast: equals exact across line resistances and conductance extremes") {
  Rng rng(11);
  struct Case {
    std::string name;
    double rSeg, rDrv, rSense, gLo, gHi, zeros;
  };
  // Shipped lines (2 Ohm, 20 Ohm driver, ideal sense) with the card's window; the card's
  // extremes and open cells; 1 kOhm cells (strong coupling); 200 Ohm segments (the lines carry
  // most of the voltage, CG); pinned drivers; resistive sense.
  const std::vector<Case> cases{
      {"shipped", 2.0, 20.0, 0.0, 2e-6, 4e-6, 0.0},
      {"gmin/gmax and open cells", 2.0, 20.0, 0.0, 1e-9, 4e-6, 0.3},
      {"1 kOhm cells", 2.0, 20.0, 0.0, 1e-4, 1e-3, 0.0},
      {"200 Ohm segments", 200.0, 20.0, 5.0, 2e-6, 1e-4, 0.0},
      {"ideal drivers", 5.0, 0.0, 0.0, 1e-6, 1e-4, 0.1},
      {"resistive sense", 2.0, 20.0, 1e3, 1e-6, 1e-4, 0.0},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CrossbarGeometry geo = test::shippedLines(1);
    geo.rows = 23;
    geo.cols = 17;  // not square
    geo.r_row_seg = geo.r_col_seg = c.rSeg;
    geo.r_drv = c.rDrv;
    geo.r_sense = c.rSense;
    const int it = compare(geo, conductances(geo.rows, geo.cols, c.gLo, c.gHi, c.zeros, rng), {},
                           rng);
    MESSAGE(c.name << ": " << std::abs(it) << std::string(it < 0 ? " CG iterations" : " sweeps"));
    // The slowly contracting case exercises CG, the others Gauss-Seidel.
    CHECK((it < 0) == (c.name == "200 Ohm segments"));
  }
}

TEST_CASE("read fast: floating lines and single-line arrays equal exact") {
  Rng rng(12);
  CrossbarGeometry geo = test::shippedLines(1);
  geo.rows = 13;
  geo.cols = 19;
  for (double rSense : {0.0, 10.0}) {
    CAPTURE(rSense);
    geo.r_sense = rSense;
    ReadLines lines{std::vector<bool>(13), std::vector<bool>(19)};
    for (auto&& b : lines.source_driven) b = rng.uniform() < 0.5;
    for (auto&& b : lines.drain_sensed) b = rng.uniform() < 0.5;
    lines.source_driven[0] = true;
    lines.drain_sensed[3] = true;
    (void)compare(geo, conductances(13, 19, 2e-6, 4e-6, 0.0, rng), lines, rng);
  }
  for (auto [rows, cols] : {std::pair<Index, Index>{1, 9}, {9, 1}, {1, 1}}) {
    CAPTURE(rows);
    CAPTURE(cols);
    CrossbarGeometry line = test::shippedLines(1);
    line.rows = rows;
    line.cols = cols;
    (void)compare(line, conductances(rows, cols, 1e-6, 1e-4, 0.0, rng), {}, rng);
  }
}

TEST_CASE("read fast: the sneak read agrees with the exact solver, grounded and floating") {
  Rng rng(13);
  const CrossbarGeometry geo = test::shippedLines(16);
  MatrixXd g = MatrixXd::Constant(16, 16, 4e-6);
  g(0, 15) = 2e-6;
  for (bool floating : {false, true}) {
    CAPTURE(floating);
    const SneakRead a = readCellSneak(geo, g, 0, 15, 0.1, floating, ReadSolverKind::Fast);
    const SneakRead b = readCellSneak(geo, g, 0, 15, 0.1, floating, ReadSolverKind::Exact);
    CHECK(std::abs(a.current_a - b.current_a) < kAgree * std::abs(b.current_a));
  }
}

TEST_CASE("read fast: the fused transfer matrix equals exact and the block solve") {
  // LineSolver::transfer() (fused sweeps over all unit inputs) against the exact solver's
  // transfer matrix and its driver currents of the R unit inputs, within 1e-10 of full scale;
  // the engine's transfer() with and without the fused sweeps within 1e-12. 37 rows: two
  // blocks of 16 unit inputs and two of 4 (the last one zero-padded). Where line Gauss-Seidel
  // contracts slowly (200 Ohm segments) the fused path declines and the engine's transfer
  // comes from the block solve (CG); floating lines (anchored only through their cells)
  // contract at about kMaxContraction, so either path may answer, but some must be fused.
  Rng rng(16);
  enum class Fused { Yes, No, Either };
  struct Case {
    std::string name;
    double rSeg, rDrv, rSense, gLo, gHi, zeros;
    bool floating;
    Fused fused;
  };
  const std::vector<Case> cases{
      {"shipped", 2.0, 20.0, 0.0, 2e-6, 4e-6, 0.0, false, Fused::Yes},
      {"gmin/gmax and open cells", 2.0, 20.0, 0.0, 1e-9, 4e-6, 0.3, false, Fused::Yes},
      {"ideal drivers", 5.0, 0.0, 0.0, 1e-6, 1e-4, 0.1, false, Fused::Yes},
      {"resistive sense", 2.0, 20.0, 1e3, 1e-6, 1e-4, 0.0, false, Fused::Yes},
      {"floating lines", 2.0, 20.0, 0.0, 2e-6, 4e-6, 0.0, true, Fused::Either},
      {"floating lines, 1 kOhm cells", 2.0, 20.0, 0.0, 1e-4, 1e-3, 0.0, true, Fused::Either},
      {"floating lines, 20 Ohm segments", 20.0, 20.0, 0.0, 2e-6, 4e-6, 0.0, true, Fused::Either},
      {"floating lines, ideal drivers, resistive sense", 2.0, 0.0, 10.0, 2e-6, 4e-6, 0.0, true,
       Fused::Either},
      {"200 Ohm segments", 200.0, 20.0, 5.0, 2e-6, 1e-4, 0.0, false, Fused::No},
  };
  int floatingFused = 0;
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CrossbarGeometry geo = test::shippedLines(1);
    geo.rows = 37;
    geo.cols = 21;
    geo.r_row_seg = geo.r_col_seg = c.rSeg;
    geo.r_drv = c.rDrv;
    geo.r_sense = c.rSense;
    ReadLines lines;
    if (c.floating) {
      lines.source_driven.assign(37, true);
      lines.drain_sensed.assign(21, true);
      for (Index r = 0; r < 37; r += 3) lines.source_driven[std::size_t(r)] = false;
      for (Index col = 1; col < 21; col += 4) lines.drain_sensed[std::size_t(col)] = false;
    }
    const MatrixXd g = conductances(37, 21, c.gLo, c.gHi, c.zeros, rng);
    LineSolver solver(geo, lines);
    solver.setConductances(g);
    const LineSolver::Outcome o = solver.transfer(1e-12, 1000);
    if (c.fused != Fused::Either) CHECK(o.converged == (c.fused == Fused::Yes));
    if (c.floating && o.converged) ++floatingFused;
    CrossbarEngine exact(geo, ReadSolverKind::Exact, lines);
    exact.setConductances(g);
    const MatrixXd unit = MatrixXd::Identity(37, 37);
    const ReadResult ref = exact.solve(unit);
    CHECK(relToScale(exact.transfer().transpose(), ref.column_currents_a) < 1e-12);
    if (o.converged) {
      CHECK_FALSE(o.conjugate_gradients);
      MESSAGE(c.name << ": " << o.iterations << " fused sweeps");
      CHECK(relToScale(o.column_currents_a, ref.column_currents_a) < kAgree);
      CHECK(relToScale(o.row_currents_a, ref.row_currents_a) < kAgree);
      // Undriven rows carry no unit input; unsensed columns collect nothing.
      for (Index r = 0; r < 37; ++r) {
        if (!lines.source_driven.empty() && !lines.source_driven[std::size_t(r)]) {
          CHECK(o.column_currents_a.row(r).cwiseAbs().maxCoeff() == 0.0);
        }
      }
    }
    CrossbarEngine fused(geo, ReadSolverKind::Fast, lines);
    CrossbarEngine blocks(geo, ReadSolverKind::Fast, lines);
    blocks.setFusedTransfer(false);
    fused.setConductances(g);
    blocks.setConductances(g);
    CHECK(relToScale(fused.transfer(), exact.transfer()) < kAgree);
    CHECK(relToScale(fused.transfer(), blocks.transfer()) < 1e-12);
    // The driver currents of the cached transfer (solve() of R vectors answers from it).
    CHECK(relToScale(fused.solve(unit).row_currents_a, ref.row_currents_a) < kAgree);
    CHECK(fused.fallbacks() + blocks.fallbacks() == 0);
  }
  CHECK(floatingFused > 0);
}

TEST_CASE("read fast: a solve that cannot converge in its iteration limit is redone exactly") {
  Rng rng(14);
  CrossbarGeometry geo = test::shippedLines(12);
  geo.r_row_seg = geo.r_col_seg = 500.0;  // slow: the lines carry most of the voltage
  const MatrixXd g = conductances(12, 12, 1e-4, 1e-3, 0.0, rng);
  CrossbarEngine fast(geo), exact(geo, ReadSolverKind::Exact);
  fast.setConductances(g);
  exact.setConductances(g);
  fast.setFastIterationLimit(1);
  const MatrixXd in = inputs(2, 12, rng);
  const MatrixXd a = fast.solve(in).column_currents_a;
  CHECK(fast.fallbacks() == 1);
  CHECK(relToScale(a, exact.solve(in).column_currents_a) < 1e-12);
  CHECK(relToScale(fast.transfer(), exact.transfer()) < 1e-12);
  CHECK(fast.fallbacks() == 2);
  CHECK_THROWS_AS(fast.setFastIterationLimit(0), InputError);
}

TEST_CASE("read: vectors spanning fewer dimensions are solved on their span") {
  // A voltage sweep of one row and a combination of two vectors: 2 dimensions for 6 vectors.
  Rng rng(15);
  const CrossbarGeometry geo = test::shippedLines(20);
  for (ReadSolverKind kind : {ReadSolverKind::Fast, ReadSolverKind::Exact}) {
    CrossbarEngine engine(geo, kind);
    engine.setConductances(conductances(20, 20, 2e-6, 4e-6, 0.0, rng));
    const MatrixXd base = inputs(2, 20, rng);
    MatrixXd in(6, 20);
    for (Index k = 0; k < 4; ++k) in.row(k) = 0.25 * double(k) * base.row(0);
    in.row(4) = base.row(1);
    in.row(5) = base.row(0) - 2.0 * base.row(1);
    const ReadResult all = engine.solve(in, true);
    for (Index k = 0; k < 6; ++k) {
      const ReadResult one = engine.solve(in.row(k), true);
      const double scale = all.column_currents_a.cwiseAbs().maxCoeff();
      CHECK((all.column_currents_a.row(k) - one.column_currents_a).cwiseAbs().maxCoeff() <
            1e-13 * scale);
      CHECK((all.source_v[std::size_t(k)] - one.source_v[0]).cwiseAbs().maxCoeff() < 1e-13);
    }
  }
}


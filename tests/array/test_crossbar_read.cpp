// Read network of the nodal engine against Ohm's law, the ideal product and an independent
// dense node-by-node KCL solution.
#include <doctest/doctest.h>

#include <Eigen/Dense>
#include <cmath>
#include <limits>
#include <vector>

#include "array/crossbar_engine.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"

using ecramsim::CrossbarEngine;
using ecramsim::CrossbarGeometry;
using ecramsim::InputError;
using ecramsim::ReadResult;
using ecramsim::Rng;
using Eigen::Index;
using Eigen::MatrixXd;

namespace {

MatrixXd randomConductances(Index rows, Index cols, Rng& rng) {
  MatrixXd g(rows, cols);
  for (Index r = 0; r < rows; ++r) {
    for (Index c = 0; c < cols; ++c) g(r, c) = 1e-6 + 99e-6 * rng.uniform();  // 1-100 uS
  }
  return g;
}

MatrixXd randomInputs(Index k, Index rows, Rng& rng) {
  MatrixXd v(k, rows);
  for (Index i = 0; i < k; ++i) {
    for (Index r = 0; r < rows; ++r) v(i, r) = 0.4 * rng.uniform() - 0.2;  // +-0.2 V
  }
  return v;
}

double maxRelDiff(const MatrixXd& a, const MatrixXd& b) {
  return (a - b).cwiseAbs().maxCoeff() / b.cwiseAbs().maxCoeff();
}

/// Independent reference: every source and drain node an unknown (all resistances > 0 except
/// possibly r_sense), KCL written node by node from its neighbours, dense LU. Column current
/// from the sense resistor, or, for an ideal virtual ground, from the branches meeting there.
struct DenseReference {
  MatrixXd vs, vd;
  Eigen::VectorXd columnCurrents;
};

DenseReference denseSolve(const CrossbarGeometry& geo, const MatrixXd& g,
                          const Eigen::VectorXd& vin) {
  const Index R = geo.rows, C = geo.cols;
  const bool idealSense = geo.r_sense == 0.0;
  // Node numbering: S(r,c) -> r*C+c; D(r,c) -> R*C + r*C + c, except the sensed-end drain node
  // under an ideal virtual ground, which is 0 V and not an unknown.
  auto sIdx = [&](Index r, Index c) { return r * C + c; };
  auto dIdx = [&](Index r, Index c) -> Index {
    if (idealSense && r == R - 1) return -1;
    return R * C + r * C + c;
  };
  const Index n = 2 * R * C;
  MatrixXd a = MatrixXd::Zero(n, n);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(n);
  const double gRow = 1.0 / geo.r_row_seg, gCol = 1.0 / geo.r_col_seg, gDrv = 1.0 / geo.r_drv;
  for (Index r = 0; r < R; ++r) {
    for (Index c = 0; c < C; ++c) {
      // KCL at the source node: currents leaving = 0.
      const Index i = sIdx(r, c);
      if (c > 0) { a(i, i) += gRow; a(i, sIdx(r, c - 1)) -= gRow; }
      if (c + 1 < C) { a(i, i) += gRow; a(i, sIdx(r, c + 1)) -= gRow; }
      if (c == 0) { a(i, i) += gDrv; b(i) += gDrv * vin(r); }
      a(i, i) += g(r, c);
      if (dIdx(r, c) >= 0) a(i, dIdx(r, c)) -= g(r, c);
      // KCL at the drain node.
      const Index j = dIdx(r, c);
      if (j < 0) {
        a(R * C + r * C + c, R * C + r * C + c) = 1.0;  // 0 V, kept to make the matrix square
        continue;
      }
      a(j, j) += g(r, c);
      a(j, i) -= g(r, c);
      if (r > 0) { a(j, j) += gCol; a(j, dIdx(r - 1, c)) -= gCol; }
      if (r + 1 < R) {
        a(j, j) += gCol;
        if (dIdx(r + 1, c) >= 0) a(j, dIdx(r + 1, c)) -= gCol;
      }
      if (r == R - 1) a(j, j) += 1.0 / geo.r_sense;
    }
  }
  const Eigen::VectorXd v = a.partialPivLu().solve(b);
  DenseReference ref;
  ref.vs.resize(R, C);
  ref.vd.resize(R, C);
  for (Index r = 0; r < R; ++r) {
    for (Index c = 0; c < C; ++c) {
      ref.vs(r, c) = v(sIdx(r, c));
      ref.vd(r, c) = dIdx(r, c) >= 0 ? v(dIdx(r, c)) : 0.0;
    }
  }
  ref.columnCurrents.resize(C);
  for (Index c = 0; c < C; ++c) {
    if (!idealSense) {
      ref.columnCurrents(c) = ref.vd(R - 1, c) / geo.r_sense;
    } else {
      double i = g(R - 1, c) * ref.vs(R - 1, c);
      if (R > 1) i += gCol * ref.vd(R - 2, c);
      ref.columnCurrents(c) = i;
    }
  }
  return ref;
}

}  // namespace

TEST_CASE("read: one cell with ideal wires obeys Ohm's law exactly") {
  CrossbarGeometry geo;  // 1 x 1, every resistance 0
  CrossbarEngine eng(geo);
  const double g = 3.3e-6, v = 0.137;
  eng.setConductances(MatrixXd::Constant(1, 1, g));
  const auto res = eng.solve(MatrixXd::Constant(1, 1, v), true);
  CHECK(res.column_currents_a(0, 0) == doctest::Approx(g * v).epsilon(1e-12));
  CHECK(res.row_currents_a(0, 0) == doctest::Approx(g * v).epsilon(1e-12));
  CHECK(res.source_v[0](0, 0) == v);
  CHECK(res.drain_v[0](0, 0) == 0.0);
  CHECK(eng.unknowns() == 0);
}

TEST_CASE("read: one cell with driver and sense resistance is a voltage divider") {
  CrossbarGeometry geo;
  geo.r_drv = 1e4;
  geo.r_sense = 5e3;
  CrossbarEngine eng(geo);
  const double g = 1e-4, v = 0.2;
  eng.setConductances(MatrixXd::Constant(1, 1, g));
  const auto res = eng.solve(MatrixXd::Constant(1, 1, v));
  CHECK(res.column_currents_a(0, 0) == doctest::Approx(v / (1e4 + 1e4 + 5e3)).epsilon(1e-12));
}

TEST_CASE("read: line and driver resistance against a dense node-by-node KCL solution") {
  Rng rng(42);
  for (Index n : {4, 10}) {
    for (double rSense : {20.0, 0.0}) {
      CAPTURE(n);
      CAPTURE(rSense);
      CrossbarGeometry geo;
      geo.rows = n;
      geo.cols = n + 1;  // not square, so rows and columns cannot be confused
      geo.r_row_seg = 2.5;
      geo.r_col_seg = 4.0;
      geo.r_gate_seg = 7.0;  // not part of the read network
      geo.r_drv = 50.0;
      geo.r_sense = rSense;
      const MatrixXd g = randomConductances(geo.rows, geo.cols, rng);
      const MatrixXd in = randomInputs(3, geo.rows, rng);
      CrossbarEngine eng(geo);
      eng.setConductances(g);
      const auto res = eng.solve(in, true);
      for (Index k = 0; k < in.rows(); ++k) {
        const DenseReference ref = denseSolve(geo, g, in.row(k).transpose());
        const MatrixXd got = res.column_currents_a.row(k).transpose();
        CHECK(maxRelDiff(got, ref.columnCurrents) < 1e-9);
        CHECK((res.source_v[std::size_t(k)] - ref.vs).cwiseAbs().maxCoeff() < 1e-9 * 0.2);
        CHECK((res.drain_v[std::size_t(k)] - ref.vd).cwiseAbs().maxCoeff() < 1e-9 * 0.2);
        // Line resistance matters at this size: the result is not the ideal product.
        CHECK(maxRelDiff(got, eng.ideal(in.row(k)).transpose()) > 1e-5);
        // Charge conservation: what the drivers deliver the sense nodes collect.
        CHECK(res.row_currents_a.row(k).sum() ==
              doctest::Approx(res.column_currents_a.row(k).sum()).epsilon(1e-9));
      }
    }
  }
}

TEST_CASE("read: ideal lines give the ideal product") {
  Rng rng(7);
  CrossbarGeometry geo;
  geo.rows = 12;
  geo.cols = 9;
  CrossbarEngine eng(geo);
  const MatrixXd g = randomConductances(geo.rows, geo.cols, rng);
  eng.setConductances(g);
  const MatrixXd in = randomInputs(20, geo.rows, rng);
  CHECK(maxRelDiff(eng.solve(in).column_currents_a, eng.ideal(in)) < 1e-12);

  // Ideal lines but real drivers: the matrix is one node per line.
  geo.r_drv = 100.0;
  geo.r_sense = 10.0;
  CrossbarEngine merged(geo);
  CHECK(merged.unknowns() == geo.rows + geo.cols);
}

TEST_CASE("read: refactorization after new conductances matches a fresh engine") {
  Rng rng(3);
  CrossbarGeometry geo;
  geo.rows = 8;
  geo.cols = 6;
  geo.r_row_seg = 3.0;
  geo.r_col_seg = 3.0;
  geo.r_drv = 20.0;
  geo.r_sense = 5.0;
  const MatrixXd g1 = randomConductances(geo.rows, geo.cols, rng);
  const MatrixXd g2 = randomConductances(geo.rows, geo.cols, rng);
  const MatrixXd in = randomInputs(5, geo.rows, rng);
  CrossbarEngine reused(geo);
  reused.setConductances(g1);
  const MatrixXd first = reused.solve(in).column_currents_a;
  std::vector<double> rowMajor;
  for (Index r = 0; r < geo.rows; ++r) {
    for (Index c = 0; c < geo.cols; ++c) rowMajor.push_back(g2(r, c));
  }
  reused.setConductances(rowMajor);
  CrossbarEngine fresh(geo);
  fresh.setConductances(g2);
  const MatrixXd again = reused.solve(in).column_currents_a;
  CHECK(maxRelDiff(again, fresh.solve(in).column_currents_a) < 1e-14);
  CHECK(maxRelDiff(again, first) > 1e-3);  // the change was real
  CHECK(reused.factorizations() == 2);    // one per setting solved with, none at construction
}

TEST_CASE("read: the cached transfer matrix gives the direct solution") {
  Rng rng(5);
  CrossbarGeometry geo;
  geo.rows = 10;
  geo.cols = 7;
  geo.r_row_seg = 2.0;
  geo.r_col_seg = 3.0;
  geo.r_drv = 30.0;
  geo.r_sense = 10.0;
  CrossbarEngine eng(geo);
  eng.setConductances(randomConductances(geo.rows, geo.cols, rng));
  const MatrixXd few = randomInputs(3, geo.rows, rng);
  const ReadResult direct = eng.solve(few);                // 3 < R vectors: direct solves
  const MatrixXd many = randomInputs(2 * geo.rows, geo.rows, rng);
  MatrixXd both(few.rows() + many.rows(), geo.rows);
  both << few, many;
  const ReadResult viaTransfer = eng.solve(both);          // >= R vectors: transfer matrix
  CHECK(maxRelDiff(viaTransfer.column_currents_a.topRows(3), direct.column_currents_a) < 1e-12);
  CHECK(maxRelDiff(viaTransfer.row_currents_a.topRows(3), direct.row_currents_a) < 1e-12);
  const ReadResult cached = eng.solve(few);                // transfer now cached
  const ReadResult withNodes = eng.solve(few, true);       // node voltages: always direct
  CHECK(maxRelDiff(cached.column_currents_a, withNodes.column_currents_a) < 1e-12);
  CHECK(eng.transfer().rows() == geo.cols);
}

TEST_CASE("read: bad input is an InputError") {
  CrossbarGeometry geo;
  geo.rows = 3;
  geo.cols = 2;
  CrossbarEngine eng(geo);
  CHECK_THROWS_AS((void)eng.solve(MatrixXd::Zero(1, 2)), InputError);
  CHECK_THROWS_AS((void)eng.ideal(MatrixXd::Zero(1, 4)), InputError);
  CHECK_THROWS_AS((void)eng.solve(MatrixXd::Constant(1, 3, std::nan(""))), InputError);
  CHECK_THROWS_AS(eng.setConductances(MatrixXd::Zero(2, 3)), InputError);
  CHECK_THROWS_AS(eng.setConductances(std::vector<double>(5, 1e-6)), InputError);
  MatrixXd g = MatrixXd::Constant(3, 2, 1e-6);
  g(1, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(eng.setConductances(g), InputError);
  g(1, 1) = -1e-6;
  CHECK_THROWS_AS(eng.setConductances(g), InputError);
  g(1, 1) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(eng.setConductances(g), InputError);

  CrossbarGeometry bad = geo;
  bad.r_col_seg = -1.0;
  CHECK_THROWS_AS(CrossbarEngine{bad}, InputError);
  bad = geo;
  bad.r_drv = std::nan("");
  CHECK_THROWS_AS(CrossbarEngine{bad}, InputError);
  bad = geo;
  bad.rows = 0;
  CHECK_THROWS_AS(CrossbarEngine{bad}, InputError);
}

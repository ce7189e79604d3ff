// Issue 12, item 5: how the nodal engine's costs grow with the array side N. One `bench` case
// (skipped in the suite; tools/bench/scale.sh runs it) prints one table row per N: read factor
// + solve of 10 vectors, the transfer matrix, one row-parallel write phase (pwm: N distinct
// widths; count: one width) with grounded and with floating lines (CPU time: the machine is
// shared), and the peak resident memory so far. SCALE_SIZES (default "16 32 64 128 256 512") and SCALE_WRITE_MAX (largest N
// of the write columns, default 128; floating: SCALE_FLOAT_MAX, default 32) bound the run.
// The suite case checks the engine on a 24x24 array against the simplicial factorization.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <time.h>

#include <Eigen/Core>
#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "array/crossbar_engine.hpp"
#include "array/nodal_backend.hpp"
#include "core/rng.hpp"
#include "modelcard/ecram_table.hpp"
#include "../support/geometry.hpp"

using namespace ecramsim;
using ecramsim::test::shippedLines;
using Eigen::Index;
using Eigen::MatrixXd;

namespace {

MatrixXd randomConductances(Index n, Rng& rng) {
  MatrixXd g(n, n);
  for (Index r = 0; r < n; ++r) {
    for (Index c = 0; c < n; ++c) g(r, c) = 2e-6 + 2e-6 * rng.uniform();
  }
  return g;
}

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double peakMiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

std::vector<Index> envSizes(const char* name, const std::vector<Index>& fallback) {
  const char* s = std::getenv(name);
  if (s == nullptr) return fallback;
  std::vector<Index> out;
  std::istringstream in(s);
  for (Index n; in >> n;) out.push_back(n);
  return out;
}

Index envIndex(const char* name, Index fallback) {
  const char* s = std::getenv(name);
  return s == nullptr ? fallback : static_cast<Index>(std::atol(s));
}

/// s, CPU time of this process (one core; the machine's other load does not count).
double cpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

/// s, median CPU time of `repeats` row-parallel write phases on row N/2 of an N x N array.
double writePhase(Index n, UnselectedLines lines, bool distinctWidths, int repeats) {
  Rng rng(3);
  const EcramParams p = defaultEcramParams();
  NodalBackend arr(p, shippedLines(n), rng);
  arr.setStates(MatrixXd::Constant(n, n, 0.3));
  std::vector<double> times;
  for (int k = 0; k < repeats; ++k) {
    std::vector<PulseRequest> pulses;
    for (Index c = 0; c < n; ++c) {
      const double w = distinctWidths ? 0.1 * (1.0 + double(c) / double(n)) : 0.1;
      pulses.push_back({n / 2, c, 5.0, w});
    }
    const double t0 = cpuSeconds();
    (void)arr.applyPulses(pulses, {BiasFraction::Half, lines}, PulseOrder::RowParallel);
    times.push_back(cpuSeconds() - t0);
  }
  std::nth_element(times.begin(), times.begin() + repeats / 2, times.end());
  return times[std::size_t(repeats / 2)];
}

/// Least-squares slope of log(y) against log(x) over the positive entries.
double growth(const std::vector<double>& x, const std::vector<double>& y) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  int m = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!(y[i] > 0.0)) continue;
    const double lx = std::log(x[i]), ly = std::log(y[i]);
    sx += lx;
    sy += ly;
    sxx += lx * lx;
    sxy += lx * ly;
    ++m;
  }
  if (m < 2) return NAN;
  return (m * sxy - sx * sy) / (m * sxx - sx * sx);
}

}  // namespace

TEST_CASE("read: the supernodal engine equals a dense solve of the same network (24x24)") {
  // The same network through CrossbarEngine (CHOLMOD supernodal, METIS or AMD ordering) and as
  // a dense LDLT of the nodal matrix assembled from the engine's own transfer definition: the
  // column currents of unit inputs agree to 1e-10 relative.
  const Index n = 24;
  Rng rng(5);
  CrossbarGeometry geo = shippedLines(n);
  geo.r_sense = 5.0;
  CrossbarEngine engine(geo);
  const MatrixXd g = randomConductances(n, rng);
  engine.setConductances(g);
  const MatrixXd viaTransfer = engine.transfer();  // C x R
  // Dense reference: nodes (source r,c), (drain r,c); source line r driven at c = 0 through
  // r_drv, drain line c sensed at r = R-1 through r_sense to 0 V.
  const Index m = 2 * n * n;
  auto s = [&](Index r, Index c) { return r * n + c; };
  auto d = [&](Index r, Index c) { return n * n + r * n + c; };
  MatrixXd a = MatrixXd::Zero(m, m);
  auto stamp = [&](Index i, Index j, double gg) {
    a(i, i) += gg;
    a(j, j) += gg;
    a(i, j) -= gg;
    a(j, i) -= gg;
  };
  for (Index r = 0; r < n; ++r) {
    for (Index c = 0; c < n; ++c) {
      stamp(s(r, c), d(r, c), g(r, c));
      if (c + 1 < n) stamp(s(r, c), s(r, c + 1), 1.0 / geo.r_row_seg);
      if (r + 1 < n) stamp(d(r, c), d(r + 1, c), 1.0 / geo.r_col_seg);
    }
    a(s(r, 0), s(r, 0)) += 1.0 / geo.r_drv;
  }
  for (Index c = 0; c < n; ++c) a(d(n - 1, c), d(n - 1, c)) += 1.0 / geo.r_sense;
  Eigen::LDLT<MatrixXd> ldlt(a);
  double worst = 0.0;
  for (Index r = 0; r < n; ++r) {
    Eigen::VectorXd b = Eigen::VectorXd::Zero(m);
    b(s(r, 0)) = 1.0 / geo.r_drv;
    const Eigen::VectorXd v = ldlt.solve(b);
    for (Index c = 0; c < n; ++c) {
      const double ic = v(d(n - 1, c)) / geo.r_sense;
      worst = std::max(worst, std::abs(ic - viaTransfer(c, r)) / std::abs(ic));
    }
  }
  MESSAGE("largest relative difference of the transfer matrix: " << worst);
  CHECK(worst <= 1e-10);
}

TEST_CASE("bench scale: read, transfer and write costs against the array side" *
          doctest::skip()) {
  const std::vector<Index> sizes = envSizes("SCALE_SIZES", {16, 32, 64, 128, 256, 512});
  const Index writeMax = envIndex("SCALE_WRITE_MAX", 128);
  const Index floatMax = envIndex("SCALE_FLOAT_MAX", 32);
  std::vector<double> ns, fs, tr, pwmG, cntG, pwmF, mem;
  std::printf("%6s %12s %12s %12s %12s %12s %12s %10s\n", "N", "read_f+s_s", "transfer_s",
              "pwm_gnd_s", "count_gnd_s", "pwm_float_s", "count_flt_s", "peak_MiB");
  std::vector<double> cntF;
  for (const Index n : sizes) {
    Rng rng(1);
    CrossbarEngine engine(shippedLines(n));
    const MatrixXd g = randomConductances(n, rng);
    MatrixXd in(10, n);
    for (Index k = 0; k < 10; ++k) {
      for (Index r = 0; r < n; ++r) in(k, r) = 0.1 * rng.uniform();
    }
    auto t0 = std::chrono::steady_clock::now();
    engine.setConductances(g);
    const ReadResult res = engine.solve(in);
    const double fsS = seconds(t0);
    CHECK(res.column_currents_a.allFinite());
    double trS = NAN;
    if (n <= 256) {
      t0 = std::chrono::steady_clock::now();
      (void)engine.transfer();
      trS = seconds(t0);
    }
    const bool w = n <= writeMax, f = n <= floatMax;
    const double pg = w ? writePhase(n, UnselectedLines::Grounded, true, 1) : NAN;
    const double cg = w ? writePhase(n, UnselectedLines::Grounded, false, 5) : NAN;
    const double pf = f ? writePhase(n, UnselectedLines::Floating, true, 1) : NAN;
    const double cf = f ? writePhase(n, UnselectedLines::Floating, false, 1) : NAN;
    ns.push_back(double(n));
    fs.push_back(fsS);
    tr.push_back(trS);
    pwmG.push_back(pg);
    cntG.push_back(cg);
    pwmF.push_back(pf);
    cntF.push_back(cf);
    mem.push_back(peakMiB());
    std::printf("%6ld %12.4g %12.4g %12.4g %12.4g %12.4g %12.4g %10.1f\n", long(n), fsS, trS, pg,
                cg, pf, cf, mem.back());
    std::fflush(stdout);
  }
  std::printf("%6s %12.2f %12.2f %12.2f %12.2f %12.2f %12.2f %10.2f\n", "growth", growth(ns, fs),
              growth(ns, tr), growth(ns, pwmG), growth(ns, cntG), growth(ns, pwmF),
              growth(ns, cntF), growth(ns, mem));
}

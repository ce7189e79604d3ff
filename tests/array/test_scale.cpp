// Issue 12, item 5: how the nodal engine's costs grow with the array side N. One `bench` case
// (skipped in the suite; tools/bench/scale.sh runs it) prints one table row per N: read of 10
// vectors and the transfer matrix with the fast and the exact read solver (their ratio is the
// speed-up; the largest deviation of fast from exact is checked below 1e-10 of the largest
// current), one row-parallel write phase (pwm: N distinct widths; count: one width; CPU time, as
// the machine is shared) with grounded and with floating lines, and the peak resident memory so
// far. SCALE_SIZES (default "16 32 64 128 256 512"), SCALE_EXACT_MAX (largest N of the exact
// read, 512), SCALE_TRANSFER_MAX (of the transfer matrix, 256) and SCALE_WRITE_MAX (largest N of
// the write columns, default 128; floating: SCALE_FLOAT_MAX, default 32) bound the run.
// The suite case checks both read solvers on a 24x24 array against a dense solve.
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

/// s, CPU time of this thread (what a run costs on an idle core; wall time adds the waits of a
/// shared machine).
double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
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

TEST_CASE("read: both read solvers equal a dense solve of the same network (24x24)") {
  // The same network through CrossbarEngine (exact: CHOLMOD supernodal, METIS or AMD ordering;
  // fast: the line solver) and as a dense LDLT of the nodal matrix assembled from the engine's
  // own transfer definition: the column currents of unit inputs agree to 1e-10 relative.
  const Index n = 24;
  Rng rng(5);
  CrossbarGeometry geo = shippedLines(n);
  geo.r_sense = 5.0;
  const MatrixXd g = randomConductances(n, rng);
  for (ReadSolverKind kind : {ReadSolverKind::Exact, ReadSolverKind::Fast}) {
    CrossbarEngine engine(geo, kind);
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
    MESSAGE(std::string(kind == ReadSolverKind::Fast ? "fast" : "exact")
            << ": largest relative difference of the transfer matrix: " << worst);
    CHECK(worst <= 1e-10);
  }
}

TEST_CASE("bench scale: read, transfer and write costs against the array side" *
          doctest::skip()) {
  const std::vector<Index> sizes = envSizes("SCALE_SIZES", {16, 32, 64, 128, 256, 512});
  const Index writeMax = envIndex("SCALE_WRITE_MAX", 128);
  const Index floatMax = envIndex("SCALE_FLOAT_MAX", 32);
  const Index exactMax = envIndex("SCALE_EXACT_MAX", 512);
  const Index transferMax = envIndex("SCALE_TRANSFER_MAX", 256);
  std::vector<double> ns, fs, fx, tr, tx, pwmG, cntG, pwmF, mem;
  std::printf("%6s %10s %10s %10s %10s %10s %5s %9s %12s %12s %12s %12s %10s\n", "N",
              "read_s", "read_x_s", "transfer_s", "transf_cpu", "transf_x_s", "iters", "fast-x",
              "pwm_gnd_s", "count_gnd_s", "pwm_float_s", "count_flt_s", "peak_MiB");
  std::vector<double> cntF;
  for (const Index n : sizes) {
    Rng rng(1);
    const MatrixXd g = randomConductances(n, rng);
    MatrixXd in(10, n);
    for (Index k = 0; k < 10; ++k) {
      for (Index r = 0; r < n; ++r) in(k, r) = 0.1 * rng.uniform();
    }
    // Read: engine construction (the exact one analyses the pattern), conductances, 10 vectors;
    // then the C x R transfer matrix on a second engine (fresh caches). Fast and exact solvers.
    struct Times {
      double read = NAN, transfer = NAN, transferCpu = NAN;
      MatrixXd out;
      int iterations = 0;
    };
    auto timeRead = [&](ReadSolverKind kind, bool withTransfer) {
      Times t;
      auto t0 = std::chrono::steady_clock::now();
      CrossbarEngine engine(shippedLines(n), kind);
      engine.setConductances(g);
      t.out = engine.solve(in).column_currents_a;
      t.read = seconds(t0);
      t.iterations = engine.lastIterations();
      CHECK(engine.fallbacks() == 0);
      if (withTransfer) {
        CrossbarEngine fresh(shippedLines(n), kind);
        fresh.setConductances(g);
        t0 = std::chrono::steady_clock::now();
        const double c0 = threadCpuSeconds();
        (void)fresh.transfer();
        t.transfer = seconds(t0);
        t.transferCpu = threadCpuSeconds() - c0;
      }
      return t;
    };
    const Times fast = timeRead(ReadSolverKind::Fast, n <= transferMax);
    const Times exact = n <= exactMax ? timeRead(ReadSolverKind::Exact, n <= transferMax) : Times{};
    const double fsS = fast.read;
    const double dev = exact.out.size() > 0 ? (fast.out - exact.out).cwiseAbs().maxCoeff() /
                                                  exact.out.cwiseAbs().maxCoeff()
                                            : NAN;
    CHECK(fast.out.allFinite());
    if (exact.out.size() > 0) CHECK(dev < 1e-10);
    const bool w = n <= writeMax, f = n <= floatMax;
    const double pg = w ? writePhase(n, UnselectedLines::Grounded, true, 1) : NAN;
    const double cg = w ? writePhase(n, UnselectedLines::Grounded, false, 5) : NAN;
    const double pf = f ? writePhase(n, UnselectedLines::Floating, true, 1) : NAN;
    const double cf = f ? writePhase(n, UnselectedLines::Floating, false, 1) : NAN;
    ns.push_back(double(n));
    fs.push_back(fsS);
    fx.push_back(exact.read);
    tr.push_back(fast.transfer);
    tx.push_back(exact.transfer);
    pwmG.push_back(pg);
    cntG.push_back(cg);
    pwmF.push_back(pf);
    cntF.push_back(cf);
    mem.push_back(peakMiB());
    std::printf(
        "%6ld %10.4g %10.4g %10.4g %10.4g %10.4g %5d %9.2g %12.4g %12.4g %12.4g %12.4g %10.1f\n",
        long(n), fsS, exact.read, fast.transfer, fast.transferCpu, exact.transfer,
        fast.iterations, dev, pg, cg, pf, cf, mem.back());
    std::fflush(stdout);
  }
  std::printf(
      "%6s %10.2f %10.2f %10.2f %10s %10.2f %5s %9s %12.2f %12.2f %12.2f %12.2f %10.2f\n",
      "growth", growth(ns, fs), growth(ns, fx), growth(ns, tr), "", growth(ns, tx), "", "",
      growth(ns, pwmG), growth(ns, cntG), growth(ns, pwmF), growth(ns, cntF), growth(ns, mem));
}

TEST_CASE("bench transfer: fused transfer matrix against the block solve and exact" *
          doctest::skip()) {
  // Per N of TRANSFER_SIZES (default "128"), TRANSFER_REPEATS (default 9) rounds; in each,
  // on fresh engines (line factorization included, conductances set beforehand), in rotating
  // order: the fast solver's fused transfer (LineSolver::transfer()), the fast solver's former
  // path (the R unit inputs as blocks of 32 vectors through solve(), setFusedTransfer(false))
  // and the exact solver; then the fused transfer again on the first engine after new
  // conductances ("warm": workspace allocated, as when a training tile is refreshed). Medians
  // of wall and thread CPU time; largest deviations from exact (of the largest current).
  const std::vector<Index> sizes = envSizes("TRANSFER_SIZES", {128});
  const int repeats = int(envIndex("TRANSFER_REPEATS", 9));
  REQUIRE(repeats >= 1);
  std::printf("%6s %8s %10s %10s %10s %10s %10s %10s %10s %10s %6s %9s %9s\n", "N", "",
              "fused_s", "fused_cpu", "blocks_s", "block_cpu", "exact_s", "exact_cpu",
              "warm_s", "warm_cpu", "sweeps", "fused-x", "blocks-x");
  for (const Index n : sizes) {
    Rng rng(1);
    const MatrixXd g = randomConductances(n, rng), g2 = randomConductances(n, rng);
    enum { kFused, kBlocks, kExact, kWarm, kKinds };
    std::vector<std::vector<double>> wall(kKinds), cpu(kKinds);
    double devFused = 0.0, devBlocks = 0.0;
    int sweeps = 0;
    for (int k = 0; k < repeats; ++k) {
      CrossbarEngine fused(shippedLines(n)), blocks(shippedLines(n));
      CrossbarEngine exact(shippedLines(n), ReadSolverKind::Exact);
      blocks.setFusedTransfer(false);
      MatrixXd t[3];
      CrossbarEngine* engines[3] = {&fused, &blocks, &exact};
      for (int i = 0; i < 3; ++i) {
        const int which = (i + k) % 3;
        engines[which]->setConductances(g);
        const auto t0 = std::chrono::steady_clock::now();
        const double c0 = threadCpuSeconds();
        t[which] = engines[which]->transfer();
        cpu[std::size_t(which)].push_back(threadCpuSeconds() - c0);
        wall[std::size_t(which)].push_back(seconds(t0));
      }
      sweeps = fused.lastIterations();
      CHECK_FALSE(fused.lastUsedCg());
      CHECK(fused.fallbacks() + blocks.fallbacks() == 0);
      const double scale = t[kExact].cwiseAbs().maxCoeff();
      devFused = std::max(devFused, (t[kFused] - t[kExact]).cwiseAbs().maxCoeff() / scale);
      devBlocks = std::max(devBlocks, (t[kBlocks] - t[kExact]).cwiseAbs().maxCoeff() / scale);
      fused.setConductances(g2);
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = threadCpuSeconds();
      (void)fused.transfer();
      cpu[kWarm].push_back(threadCpuSeconds() - c0);
      wall[kWarm].push_back(seconds(t0));
    }
    CHECK(devFused < 1e-10);
    CHECK(devBlocks < 1e-10);
    auto median = [](std::vector<double> v) {
      std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
      return v[v.size() / 2];
    };
    double mw[kKinds], mc[kKinds];
    for (int i = 0; i < kKinds; ++i) {
      mw[i] = median(wall[std::size_t(i)]);
      mc[i] = median(cpu[std::size_t(i)]);
    }
    std::printf("%6ld %8s %10.4g %10.4g %10.4g %10.4g %10.4g %10.4g %10.4g %10.4g %6d %9.2g"
                " %9.2g\n",
                long(n), "median", mw[kFused], mc[kFused], mw[kBlocks], mc[kBlocks], mw[kExact],
                mc[kExact], mw[kWarm], mc[kWarm], sweeps, devFused, devBlocks);
    std::printf("%6ld %8s %10s %10s %10.3g %10.3g %10.3g %10.3g\n", long(n), "speed-up", "", "",
                mw[kBlocks] / mw[kFused], mc[kBlocks] / mc[kFused], mw[kExact] / mw[kFused],
                mc[kExact] / mc[kFused]);
    std::fflush(stdout);
  }
}

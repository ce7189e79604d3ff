#include "array/line_solver.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>

#include "core/error.hpp"
#include "core/progress.hpp"

namespace ecramsim {

namespace {

using Index = Eigen::Index;

std::size_t u(Index i) { return static_cast<std::size_t>(i); }

// Four doubles as one SIMD value (GCC/Clang vector extension: AVX registers in the x86-64-v3
// clones, pairs of SSE2 registers in the baseline): the transfer sweeps are written with it,
// as GCC keeps their running maxima in memory and leaves their line recurrences scalar when
// they are written per double.
// The helpers are always inlined, so the warning that passing such values by value changes the
// ABI without AVX does not apply.
#if defined(__GNUC__)  // GCC and Clang
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
using Vec4 = double __attribute__((vector_size(32)));
using Bits4 = long long __attribute__((vector_size(32)));

[[gnu::always_inline]] inline Vec4 load4(const double* p) {
  Vec4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

[[gnu::always_inline]] inline void store4(double* p, Vec4 v) { std::memcpy(p, &v, sizeof v); }

[[gnu::always_inline]] inline Vec4 abs4(Vec4 v) {
  constexpr long long kMagnitude = 0x7fffffffffffffffLL;
  const Bits4 mask = {kMagnitude, kMagnitude, kMagnitude, kMagnitude};
  return (Vec4)((Bits4)v & mask);
}

[[gnu::always_inline]] inline Vec4 max4(Vec4 a, Vec4 b) { return a > b ? a : b; }

enum class SweepVerdict { Continue, Converged, TooSlow };

/// The stopping test of line Gauss-Seidel after a sweep, per vector j: the steps shrink by the
/// contraction rho = step / prev; what is left after this sweep is at most about
/// step rho / (1 - rho), to be within rel_tol of scale. TooSlow when some rho exceeds
/// max_contraction. With `done`, a vector that has met the test is marked and no longer tested
/// (later sweeps only refine it; its steps, down in rounding, need not contract).
template <int W>
SweepVerdict sweepTest(const std::array<double, W>& step, const std::array<double, W>& prev,
                       const std::array<double, W>& scale, double rel_tol,
                       double max_contraction, std::array<bool, W>* done) {
  bool all = true;
  for (int j = 0; j < W; ++j) {
    if ((done != nullptr && (*done)[u(j)]) || step[u(j)] == 0.0) continue;
    const double rho = prev[u(j)] > 0.0 ? step[u(j)] / prev[u(j)] : 1.0;
    if (rho > max_contraction) return SweepVerdict::TooSlow;
    if (step[u(j)] * rho / (1.0 - rho) > rel_tol * scale[u(j)]) {
      all = false;
    } else if (done != nullptr) {
      (*done)[u(j)] = true;
    }
  }
  return all ? SweepVerdict::Converged : SweepVerdict::Continue;
}

}  // namespace

// The sweeps are streams of independent multiply-adds across the K vectors of a node: with GCC
// they are also compiled for x86-64-v3 (AVX2, FMA), chosen at load time on CPUs that have it
// (function multiversioning); the baseline build runs everywhere else.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define ECRAMSIM_KERNEL __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define ECRAMSIM_KERNEL
#endif

bool LineSolver::supports(const CrossbarGeometry& geo) {
  return (geo.cols == 1 || geo.r_row_seg > 0.0) && (geo.rows == 1 || geo.r_col_seg > 0.0);
}

LineSolver::LineSolver(const CrossbarGeometry& geo, const ReadLines& lines) : geo_(geo) {
  const Index R = geo.rows, C = geo.cols;
  driven_ = lines.source_driven.empty() ? std::vector<bool>(u(R), true) : lines.source_driven;
  sensed_ = lines.drain_sensed.empty() ? std::vector<bool>(u(C), true) : lines.drain_sensed;
  gRow_ = C > 1 ? 1.0 / geo.r_row_seg : 0.0;
  gCol_ = R > 1 ? 1.0 / geo.r_col_seg : 0.0;
  gDrv_ = geo.r_drv > 0.0 ? 1.0 / geo.r_drv : 0.0;
  gSense_ = geo.r_sense > 0.0 ? 1.0 / geo.r_sense : 0.0;
  pinS_.resize(u(R));
  pinD_.resize(u(C));
  for (Index r = 0; r < R; ++r) pinS_[u(r)] = driven_[u(r)] && geo.r_drv == 0.0;
  for (Index c = 0; c < C; ++c) pinD_[u(c)] = sensed_[u(c)] && geo.r_sense == 0.0;
}

void LineSolver::factorLines(Index lines, Index count, Index lineStride, Index nodeStride,
                             const std::vector<double>& a, const std::vector<double>& e,
                             LineFactors& f, const char* kind, bool reverse) {
  const std::size_t n = a.size();
  f.m.assign(n, 0.0);
  f.invd.assign(n, 0.0);
  f.u.assign(n, 0.0);
  for (Index l = 0; l < lines; ++l) {
    const Index first = l * lineStride;
    // Node at elimination position i, and the coupling between positions i and i + 1 (e is
    // stored on the lower-indexed node of a pair).
    auto node = [&](Index i) { return u(first + (reverse ? count - 1 - i : i) * nodeStride); };
    auto coupling = [&](Index i) { return e[reverse ? node(i + 1) : node(i)]; };
    double dPrev = 0.0;
    for (Index i = 0; i < count; ++i) {
      const std::size_t at = node(i);
      double d = a[at];
      if (i > 0) {
        f.m[at] = coupling(i - 1) / dPrev;
        d -= f.m[at] * coupling(i - 1);
      }
      // A floating line whose cells are all open has a zero pivot (up to rounding).
      if (!(d > 1e-13 * a[at])) {
        throw SimulationError(std::string("read network: singular ") + kind +
                              " line (a floating line without any conducting cell)");
      }
      f.invd[at] = 1.0 / d;
      f.u[at] = i + 1 < count ? coupling(i) / d : 0.0;
      dPrev = d;
    }
  }
}

void LineSolver::setConductances(const Eigen::MatrixXd& g_s) {
  const Index R = geo_.rows, C = geo_.cols, n = R * C;
  g_.resize(u(n));
  couple_.resize(u(n));
  std::vector<double> aS(u(n)), eS(u(n), 0.0);
  aD_.assign(u(n), 0.0);
  eD_.assign(u(n), 0.0);
  for (Index r = 0; r < R; ++r) {
    for (Index c = 0; c < C; ++c) {
      const std::size_t at = u(r * C + c);
      const double g = g_s(r, c);
      const bool sPin = c == 0 && pinS_[u(r)];
      const bool dPin = r == R - 1 && pinD_[u(c)];
      g_[at] = g;
      couple_[at] = (sPin || dPin) ? 0.0 : g;
      // Source node (r, c): cell, segments to both neighbours, driver at c = 0.
      if (sPin) {
        aS[at] = 1.0;
      } else {
        aS[at] = g + gRow_ * double((c > 0) + (c + 1 < C));
        if (c == 0 && driven_[u(r)]) aS[at] += gDrv_;
        if (c + 1 < C && !(c == 0 && pinS_[u(r)])) eS[at] = -gRow_;
      }
      // Drain node (r, c): cell, segments, sense at r = R - 1.
      if (dPin) {
        aD_[at] = 1.0;
      } else {
        aD_[at] = g + gCol_ * double((r > 0) + (r + 1 < R));
        if (r == R - 1 && sensed_[u(c)]) aD_[at] += gSense_;
        if (r + 1 < R && !(r + 1 == R - 1 && pinD_[u(c)])) eD_[at] = -gCol_;
      }
    }
  }
  factorLines(R, C, C, 1, aS, eS, fs_, "source");
  factorLines(C, R, 1, C, aD_, eD_, fd_, "drain");
  factorLines(C, R, 1, C, aD_, eD_, fdUp_, "drain", true);
}

template <int W>
ECRAMSIM_KERNEL void LineSolver::sourceSolve(const double* in, const double* b, double* out) const {
  const Index R = geo_.rows, C = geo_.cols;
  const double* cg = couple_.data();
  for (Index row = 0; row < R; ++row) {
    const Index first = row * C;
    double* line = out + first * W;
    const double* src = in != nullptr ? in + first * W : nullptr;
    const double* br = b != nullptr ? b + row * 2 * W : nullptr;
    // Forward y_c = (G x + b)_c - m_c y_{c-1}, backward x_c = y_c / d_c - u_c x_{c+1}; one line
    // at a time, so the line stays in cache between the two passes.
    if (src != nullptr) {
      for (Index c = 0; c < C; ++c) {
        const double g = cg[first + c];
        for (int j = 0; j < W; ++j) line[c * W + j] = g * src[c * W + j];
      }
    } else {
      std::fill(line, line + C * W, 0.0);
    }
    if (br != nullptr) {
      for (Index c = 0; c < std::min<Index>(C, 2); ++c) {
        for (int j = 0; j < W; ++j) line[c * W + j] += br[c * W + j];
      }
    }
    for (Index c = 1; c < C; ++c) {
      const double m = fs_.m[u(first + c)];
      double* x = line + c * W;
      for (int j = 0; j < W; ++j) x[j] -= m * x[j - W];
    }
    const double invLast = fs_.invd[u(first + C - 1)];
    for (int j = 0; j < W; ++j) line[(C - 1) * W + j] *= invLast;
    for (Index c = C - 2; c >= 0; --c) {
      const double invd = fs_.invd[u(first + c)], uu = fs_.u[u(first + c)];
      double* x = line + c * W;
      for (int j = 0; j < W; ++j) x[j] = invd * x[j] - uu * x[j + W];
    }
  }
}

template <int W>
std::vector<double> LineSolver::sourceRhs(const std::vector<double>& vin) const {
  const Index R = geo_.rows, C = geo_.cols;
  std::vector<double> b(u(R * 2 * W), 0.0);
  for (Index row = 0; row < R; ++row) {
    if (!driven_[u(row)]) continue;
    const double* v = vin.data() + row * W;
    double* b0 = b.data() + row * 2 * W;
    for (int j = 0; j < W; ++j) {
      if (pinS_[u(row)]) {
        b0[j] = v[j];
        if (C > 1) b0[W + j] = gRow_ * v[j];
      } else {
        b0[j] = gDrv_ * v[j];
      }
    }
  }
  return b;
}

template <int W>
std::vector<double> LineSolver::drainRhs(const std::vector<double>& vin) const {
  const Index R = geo_.rows, C = geo_.cols;
  std::vector<double> b(u(R * W), 0.0);
  for (Index row = 0; row < R; ++row) {
    if (!pinS_[u(row)] || (row == R - 1 && pinD_[0])) continue;
    const double g = g_[u(row * C)];
    for (int j = 0; j < W; ++j) b[u(row * W + j)] = g * vin[u(row * W + j)];
  }
  return b;
}

template <int W>
ECRAMSIM_KERNEL void LineSolver::drainSolve(double* z, const double* res, double* dot) const {
  const Index n = geo_.rows * geo_.cols, C = geo_.cols;
  for (Index i = C; i < n; ++i) {
    const double m = fd_.m[u(i)];
    for (int j = 0; j < W; ++j) z[i * W + j] -= m * z[(i - C) * W + j];
  }
  std::fill(dot, dot + W, 0.0);
  for (Index i = n - 1; i >= 0; --i) {
    const double invd = fd_.invd[u(i)], uu = i + C < n ? fd_.u[u(i)] : 0.0;
    const double* zn = i + C < n ? z + (i + C) * W : z + i * W;
    for (int j = 0; j < W; ++j) {
      const double zi = invd * z[i * W + j] - uu * zn[j];
      z[i * W + j] = zi;
      dot[j] += res[i * W + j] * zi;
    }
  }
}

template <int W>
ECRAMSIM_KERNEL bool LineSolver::gaussSeidel(const std::vector<double>& bs, const std::vector<double>& bd,
                             double rel_tol, int max_sweeps, Outcome& out) const {
  const Index n = geo_.rows * geo_.cols, C = geo_.cols;
  const std::size_t size = u(n * W);
  const double* cg = couple_.data();
  std::vector<double>& d = work_.x;   // drain potentials, in
  std::vector<double>& s = work_.t;   // source potentials
  std::vector<double>& dn = work_.z;  // drain potentials, out
  dn.resize(size);
  std::array<double, W> prev{};
  for (int sweep = 1; sweep <= max_sweeps; ++sweep) {
    globalCancelToken().throwIfCancelled();
    // S = A_SS^-1 (b_S + G D), then D' = A_DD^-1 (b_D + G S) along the drain lines in
    // row-major sweeps, forward then backward.
    sourceSolve<W>(d.data(), bs.data(), s.data());
    for (Index i = 0; i < n; ++i) {
      const double g = cg[i];
      const double* si = s.data() + i * W;
      double* y = dn.data() + i * W;
      for (int j = 0; j < W; ++j) y[j] = g * si[j];
      if (i % C == 0) {
        const double* b = bd.data() + (i / C) * W;
        for (int j = 0; j < W; ++j) y[j] += b[j];
      }
      if (i >= C) {
        const double m = fd_.m[u(i)];
        const double* yp = y - C * W;
        for (int j = 0; j < W; ++j) y[j] -= m * yp[j];
      }
    }
    // Per vector: the step |D' - D| (the preconditioned residual of D) and the scale |D'|.
    std::array<double, W> step{}, scale{};
    for (Index i = n - 1; i >= 0; --i) {
      const double invd = fd_.invd[u(i)];
      // The last row has no next node: its backward multiplier is 0.
      const double uu = i + C < n ? fd_.u[u(i)] : 0.0;
      double* y = dn.data() + i * W;
      const double* yn = i + C < n ? y + C * W : y;
      const double* old = d.data() + i * W;
      for (int j = 0; j < W; ++j) {
        const double v = invd * y[j] - uu * yn[j];
        y[j] = v;
        step[u(j)] = std::max(step[u(j)], std::fabs(v - old[j]));
        scale[u(j)] = std::max(scale[u(j)], std::fabs(v));
      }
    }
    std::swap(d, dn);
    out.iterations = std::max(out.iterations, sweep);
    if (sweep == 1) {
      prev = step;
      continue;
    }
    // A contraction above kMaxContraction is left to CG.
    const SweepVerdict verdict =
        sweepTest<W>(step, prev, scale, rel_tol, kMaxContraction, nullptr);
    if (verdict != SweepVerdict::Continue) return verdict == SweepVerdict::Converged;
    prev = step;
  }
  return false;
}

template <int W>
void LineSolver::finish(const std::vector<double>& vin, const std::vector<double>& bs, Index k0,
                        Index kk, bool with_node_voltages, Outcome& out) const {
  const Index R = geo_.rows, C = geo_.cols;
  const std::vector<double>& x = work_.x;
  std::vector<double>& t = work_.t;
  // Source potentials S = A_SS^-1 (b_S + G d), then the terminal currents.
  sourceSolve<W>(x.data(), bs.data(), t.data());
  auto s = [&](Index row, Index col, Index j) { return t[u((row * C + col) * W + j)]; };
  auto d = [&](Index row, Index col, Index j) { return x[u((row * C + col) * W + j)]; };
  for (Index j = 0; j < kk; ++j) {
    for (Index col = 0; col < C; ++col) {
      if (!sensed_[u(col)]) continue;
      double i = 0.0;
      if (pinD_[u(col)]) {
        i = g_[u((R - 1) * C + col)] * s(R - 1, col, j);
        if (R > 1) i += gCol_ * d(R - 2, col, j);
      } else {
        i = gSense_ * d(R - 1, col, j);
      }
      out.column_currents_a(k0 + j, col) = i;
    }
    for (Index row = 0; row < R; ++row) {
      if (!driven_[u(row)]) continue;
      const double v = vin[u(row * W + j)];
      double i = 0.0;
      if (pinS_[u(row)]) {
        i = g_[u(row * C)] * (v - d(row, 0, j));
        if (C > 1) i += gRow_ * (v - s(row, 1, j));
      } else {
        i = gDrv_ * (v - s(row, 0, j));
      }
      out.row_currents_a(k0 + j, row) = i;
    }
    if (with_node_voltages) {
      Eigen::MatrixXd vs(R, C), vd(R, C);
      for (Index row = 0; row < R; ++row) {
        for (Index col = 0; col < C; ++col) {
          vs(row, col) = s(row, col, j);
          vd(row, col) = d(row, col, j);
        }
      }
      out.source_v.push_back(std::move(vs));
      out.drain_v.push_back(std::move(vd));
    }
  }
}

template <int W>
void LineSolver::solveBlock(const Eigen::MatrixXd& inputs_v, Index k0, bool with_node_voltages,
                            double rel_tol, int max_iterations, Outcome& out) const {
  const Index R = geo_.rows, C = geo_.cols, n = R * C;
  const Index kk = std::min<Index>(W, inputs_v.rows() - k0);
  const std::size_t size = u(n * W);
  const double* cg = couple_.data();
  // Inputs, row-major R x W, zero-padded.
  std::vector<double> vin(u(R * W), 0.0);
  for (Index row = 0; row < R; ++row) {
    if (!driven_[u(row)]) continue;
    for (Index j = 0; j < kk; ++j) vin[u(row * W + j)] = inputs_v(k0 + j, row);
  }
  const std::vector<double> bs = sourceRhs<W>(vin), bd = drainRhs<W>(vin);
  std::vector<double>& x = work_.x;
  std::vector<double>& t = work_.t;
  x.assign(size, 0.0);
  t.resize(size);
  if (gaussSeidel<W>(bs, bd, rel_tol, std::min(kMaxSweeps, max_iterations), out)) {
    finish<W>(vin, bs, k0, kk, with_node_voltages, out);
    return;
  }

  // CG on the Schur complement. out = A_SS^-1 (G o v):
  out.conjugate_gradients = true;
  auto sourceOfCells = [&](const double* v, double* o) { sourceSolve<W>(v, nullptr, o); };
  // o = A_DD v - G tt (tt = A_SS^-1 G v), dot_j = v_j . o_j.
  auto drainOperator = [&](const double* v, const double* tt, double* o, double* dot) {
    std::fill(dot, dot + W, 0.0);
    for (Index i = 0; i < n; ++i) {
      const Index row = i / C;
      const double a = aD_[u(i)], eNext = eD_[u(i)], ePrev = row > 0 ? eD_[u(i - C)] : 0.0;
      const double* vi = v + i * W;
      const double* vp = row > 0 ? vi - C * W : vi;
      const double* vn = row + 1 < R ? vi + C * W : vi;
      double* oi = o + i * W;
      for (int j = 0; j < W; ++j) {
        oi[j] = a * vi[j] + ePrev * vp[j] + eNext * vn[j] - cg[i] * tt[i * W + j];
        dot[j] += vi[j] * oi[j];
      }
    }
  };
  // Drain potentials x, residual r, preconditioned residual z, direction p, S p image q.
  std::vector<double>& r = work_.r;
  std::vector<double>& z = work_.z;
  std::vector<double>& p = work_.p;
  std::vector<double>& q = work_.q;
  std::vector<double>& rhs = work_.rhs;
  x.assign(size, 0.0);
  p.assign(size, 0.0);
  r.resize(size);
  z.resize(size);
  q.resize(size);
  // Right-hand side of the Schur system: b_D + G A_SS^-1 b_S.
  sourceSolve<W>(nullptr, bs.data(), t.data());
  for (Index i = 0; i < n; ++i) {
    for (int j = 0; j < W; ++j) r[u(i * W + j)] = cg[i] * t[u(i * W + j)];
  }
  for (Index row = 0; row < R; ++row) {
    for (int j = 0; j < W; ++j) r[u(row * C * W + j)] += bd[u(row * W + j)];
  }
  rhs = r;

  std::array<double, W> rz0{}, rz{}, rzNew{}, pq{}, alpha{}, beta{};
  z = r;
  drainSolve<W>(z.data(), r.data(), rz0.data());
  rz = rz0;
  auto converged = [&](const std::array<double, W>& now, double factor) {
    for (int j = 0; j < W; ++j) {
      if (now[u(j)] > factor * factor * rel_tol * rel_tol * rz0[u(j)]) return false;
    }
    return true;
  };
  int iterations = 0;
  while (!converged(rz, 1.0) && iterations < max_iterations) {
    globalCancelToken().throwIfCancelled();
    for (std::size_t i = 0; i < size; i += W) {
      for (int j = 0; j < W; ++j) p[i + u(j)] = z[i + u(j)] + beta[u(j)] * p[i + u(j)];
    }
    sourceOfCells(p.data(), t.data());
    drainOperator(p.data(), t.data(), q.data(), pq.data());
    for (int j = 0; j < W; ++j) {
      alpha[u(j)] = pq[u(j)] > 0.0 && rz[u(j)] > 0.0 ? rz[u(j)] / pq[u(j)] : 0.0;
    }
    for (std::size_t i = 0; i < size; i += W) {
      for (int j = 0; j < W; ++j) {
        x[i + u(j)] += alpha[u(j)] * p[i + u(j)];
        r[i + u(j)] -= alpha[u(j)] * q[i + u(j)];
        z[i + u(j)] = r[i + u(j)];
      }
    }
    drainSolve<W>(z.data(), r.data(), rzNew.data());
    for (int j = 0; j < W; ++j) beta[u(j)] = rz[u(j)] > 0.0 ? rzNew[u(j)] / rz[u(j)] : 0.0;
    rz = rzNew;
    ++iterations;
  }
  // The recursively updated residual drifts from the true one: confirm on the true residual,
  // allowing a factor 10 for that drift.
  sourceOfCells(x.data(), t.data());
  drainOperator(x.data(), t.data(), q.data(), pq.data());
  for (std::size_t i = 0; i < size; ++i) z[i] = r[i] = rhs[i] - q[i];
  drainSolve<W>(z.data(), r.data(), rz.data());
  out.iterations = std::max(out.iterations, iterations);
  out.converged = out.converged && converged(rz, 10.0);
  finish<W>(vin, bs, k0, kk, with_node_voltages, out);
}

template <int W>
ECRAMSIM_KERNEL void LineSolver::transferPass(bool down, bool first, const double* vin,
                                              const double* bs, const double* bd, double* y,
                                              double* d, double* t, const double* zero,
                                              double* sLast, double* rowI, double* step,
                                              double* scale) const {
  const Index R = geo_.rows, C = geo_.cols, lineW = C * W;
  // Top-down passes substitute back with the bottom-up factors and eliminate with the top-down
  // ones; bottom-up passes the converse. A row's neighbour in both is the row passed before.
  const LineFactors& back = down ? fdUp_ : fd_;
  const LineFactors& elim = down ? fd_ : fdUp_;
  // The step and scale maxima run over chunks of 16 vectors (8 registers of 4 doubles).
  static_assert(W % 4 == 0, "transfer blocks are whole SIMD values");
  constexpr int kChunk = W < 16 ? W : 16, kV = kChunk / 4;
  std::array<double, W> st{}, sc{};
  for (Index k = 0; k < R; ++k) {
    const Index row = down ? k : R - 1 - k, at = row * C;
    const Index prevRow = down ? row - 1 : row + 1;
    double* __restrict yr = y + row * lineW;
    double* __restrict dr = d + row * lineW;
    double* __restrict tr = t;
    // The first row of a pass has no previous row: its coefficients are 0, times zeros.
    const double* __restrict yp = k > 0 ? y + prevRow * lineW : zero;
    const double* __restrict dp = k > 0 ? d + prevRow * lineW : zero;
    const double* g = couple_.data() + at;
    // Drain back substitution d = D^-1 y - U d_prev (not in the first pass: d = 0).
    if (!first) {
      const double* ib = back.invd.data() + at;
      const double* ub = back.u.data() + at;
      for (int j0 = 0; j0 < W; j0 += kChunk) {
        Vec4 stc[kV] = {}, scc[kV] = {};
        for (Index c = 0; c < C; ++c) {
          const Vec4 ic = {ib[c], ib[c], ib[c], ib[c]};
          const double ucs = k > 0 ? ub[c] : 0.0;
          const Vec4 uc = {ucs, ucs, ucs, ucs};
          for (int v = 0; v < kV; ++v) {
            const Index x = c * W + j0 + 4 * v;
            const Vec4 dn = ic * load4(yr + x) - uc * load4(dp + x);
            stc[v] = max4(stc[v], abs4(dn - load4(dr + x)));
            scc[v] = max4(scc[v], abs4(dn));
            store4(dr + x, dn);
          }
        }
        for (int v = 0; v < kV; ++v) {
          for (int j = 0; j < 4; ++j) {
            st[u(j0 + 4 * v + j)] = std::max(st[u(j0 + 4 * v + j)], stc[v][j]);
            sc[u(j0 + 4 * v + j)] = std::max(sc[u(j0 + 4 * v + j)], scc[v][j]);
          }
        }
      }
    }
    // Source line, forward: t_c = g_c d_c + b_c - m_c t_{c-1} (b on nodes 0 and 1 only).
    const double* ms = fs_.m.data() + at;
    const double* b = bs + row * 2 * W;
    for (int j = 0; j < W; ++j) tr[j] = g[0] * dr[j] + b[j];
    for (Index c = 1; c < C; ++c) {
      const double gc = g[c], mc = ms[c];
      const double* bc = c == 1 ? b + W : zero;
      const Vec4 gc4 = {gc, gc, gc, gc}, mc4 = {mc, mc, mc, mc};
      for (int j = 0; j < W; j += 4) {
        const Index x = c * W + j;
        store4(tr + x, gc4 * load4(dr + x) + load4(bc + j) - mc4 * load4(tr + x - W));
      }
    }
    // Backward: s_c = t_c / d_c - u_c s_{c+1} (into t), then the drain elimination of the
    // pass direction, y = G s + b_D - M y_prev (b_D on node 0 only).
    const double* is = fs_.invd.data() + at;
    const double* us = fs_.u.data() + at;
    const double* me = elim.m.data() + at;
    for (Index c = C - 1; c >= 0; --c) {
      const double ic = is[c], uc = c + 1 < C ? us[c] : 0.0, gc = g[c];
      const double mc = k > 0 ? me[c] : 0.0;
      const double* sn = c + 1 < C ? tr + (c + 1) * W : zero;
      const Vec4 ic4 = {ic, ic, ic, ic}, uc4 = {uc, uc, uc, uc};
      const Vec4 gc4 = {gc, gc, gc, gc}, mc4 = {mc, mc, mc, mc};
      for (int j = 0; j < W; j += 4) {
        const Index x = c * W + j;
        const Vec4 sv = ic4 * load4(tr + x) - uc4 * load4(sn + j);
        store4(tr + x, sv);
        store4(yr + x, gc4 * sv - mc4 * load4(yp + x));
      }
    }
    for (int j = 0; j < W; ++j) yr[j] += bd[row * W + j];
    // Driver currents (finish()); the source potentials of row R - 1 for the column currents.
    double* ri = rowI + row * W;
    const double* v = vin + row * W;
    for (int j = 0; j < W; ++j) {
      if (!driven_[u(row)]) {
        ri[j] = 0.0;
      } else if (pinS_[u(row)]) {
        ri[j] = g_[u(at)] * (v[j] - dr[j]) + (C > 1 ? gRow_ * (v[j] - tr[W + j]) : 0.0);
      } else {
        ri[j] = gDrv_ * (v[j] - tr[j]);
      }
    }
    if (row == R - 1) std::copy(tr, tr + lineW, sLast);
  }
  std::copy(st.begin(), st.end(), step);
  std::copy(sc.begin(), sc.end(), scale);
}

template <int W>
bool LineSolver::transferBlock(Index k0, double rel_tol, int max_sweeps, Outcome& out) const {
  const Index R = geo_.rows, C = geo_.cols, n = R * C;
  const Index kk = std::min<Index>(W, R - k0);
  std::vector<double> vin(u(R * W), 0.0);
  for (Index j = 0; j < kk; ++j) vin[u((k0 + j) * W + j)] = driven_[u(k0 + j)] ? 1.0 : 0.0;
  const std::vector<double> bs = sourceRhs<W>(vin), bd = drainRhs<W>(vin);
  std::vector<double>& y = work_.x;
  std::vector<double>& d = work_.t;
  y.resize(u(n * W));
  d.assign(u(n * W), 0.0);
  work_.s.resize(u(C * W));
  work_.zero.assign(u(C * W), 0.0);
  work_.sLast.resize(u(C * W));
  work_.rowI.resize(u(R * W));
  std::array<double, W> step{}, scale{}, prev{};
  std::array<bool, W> done{};
  auto pass = [&](bool down, bool first) {
    transferPass<W>(down, first, vin.data(), bs.data(), bd.data(), y.data(), d.data(),
                    work_.s.data(), work_.zero.data(), work_.sLast.data(), work_.rowI.data(),
                    step.data(), scale.data());
  };
  // Sweep 0 is half a sweep from d = 0: the source lines and the top-down elimination.
  pass(true, true);
  for (int sweep = 1; sweep <= max_sweeps; ++sweep) {
    globalCancelToken().throwIfCancelled();
    pass(sweep % 2 == 0, false);
    out.iterations = std::max(out.iterations, sweep);
    if (sweep == 1) {
      prev = step;
      continue;
    }
    // The stopping test of gaussSeidel(), except that a vector which has met it is done.
    const SweepVerdict verdict =
        sweepTest<W>(step, prev, scale, rel_tol, kMaxContraction, &done);
    if (verdict == SweepVerdict::TooSlow) return false;
    prev = step;
    if (verdict == SweepVerdict::Continue) continue;
    // The last pass left the final drain potentials in d, the source potentials of row R - 1
    // in sLast and the driver currents in rowI.
    const double* sl = work_.sLast.data();
    for (Index j = 0; j < kk; ++j) {
      for (Index col = 0; col < C; ++col) {
        double i = 0.0;
        if (!sensed_[u(col)]) {
          i = 0.0;
        } else if (pinD_[u(col)]) {
          i = g_[u((R - 1) * C + col)] * sl[u(col * W + j)];
          if (R > 1) i += gCol_ * d[u(((R - 2) * C + col) * W + j)];
        } else {
          i = gSense_ * d[u(((R - 1) * C + col) * W + j)];
        }
        out.column_currents_a(k0 + j, col) = i;
      }
      for (Index row = 0; row < R; ++row) {
        out.row_currents_a(k0 + j, row) = work_.rowI[u(row * W + j)];
      }
    }
    return true;
  }
  return false;
}

LineSolver::Outcome LineSolver::transfer(double rel_tol, int max_iterations) const {
  const Index R = geo_.rows;
  Outcome out;
  out.column_currents_a = Eigen::MatrixXd::Zero(R, geo_.cols);
  out.row_currents_a = Eigen::MatrixXd::Zero(R, R);
  out.converged = true;
  const int sweeps = std::min(kMaxSweeps, max_iterations);
  for (Index k0 = 0; k0 < R && out.converged; ) {
    const Index left = R - k0;
    // Full blocks, then the rest in blocks of 4 (the last one zero-padded).
    if (left >= kTransferWidth) {
      out.converged = transferBlock<kTransferWidth>(k0, rel_tol, sweeps, out);
      k0 += kTransferWidth;
    } else {
      out.converged = transferBlock<4>(k0, rel_tol, sweeps, out);
      k0 += 4;
    }
  }
  return out;
}

LineSolver::Outcome LineSolver::solve(const Eigen::MatrixXd& inputs_v, bool with_node_voltages,
                                      double rel_tol, int max_iterations) const {
  const Index K = inputs_v.rows();
  Outcome out;
  out.converged = true;
  out.column_currents_a = Eigen::MatrixXd::Zero(K, geo_.cols);
  out.row_currents_a = Eigen::MatrixXd::Zero(K, geo_.rows);
  // Blocks of 32, 16 or 8 vectors while that many are left, then the rest at width 4
  // (zero-padded) or, for a single vector, 1.
  Index k0 = 0;
  while (k0 < K && out.converged) {
    const Index left = K - k0;
    const Index w = left >= 32 ? 32 : left >= 16 ? 16 : left >= 8 ? 8 : left > 1 ? 4 : 1;
    const auto block = [&](auto width) {
      solveBlock<decltype(width)::value>(inputs_v, k0, with_node_voltages, rel_tol,
                                         max_iterations, out);
    };
    switch (w) {
      case 32: block(std::integral_constant<int, 32>{}); break;
      case 16: block(std::integral_constant<int, 16>{}); break;
      case 8: block(std::integral_constant<int, 8>{}); break;
      case 4: block(std::integral_constant<int, 4>{}); break;
      default: block(std::integral_constant<int, 1>{});
    }
    k0 += w;
  }
  return out;
}

}  // namespace ecramsim

#include "array/write_solver.hpp"

#include <algorithm>
#include <boost/math/differentiation/autodiff.hpp>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "array/network.hpp"
#include "core/error.hpp"
#include "core/parallel.hpp"
#include "device/physics.hpp"

namespace ecramsim {

namespace {

using Index = Eigen::Index;
using nodal::LineKind;
using nodal::NodeRef;
namespace ad = boost::math::differentiation;
using Dual = ad::autodiff_fvar<double, 1>;

/// Double-layer halves (DoubleLayerSource: gate to source end, DoubleLayerDrain: gate to drain
/// end) carry current only within a DoubleLayerStep.
enum class BranchKind { Line, Channel, DoubleLayerSource, DoubleLayerDrain };

/// A branch from node a to node b: current a -> b is a function of v_a - v_b.
struct Branch {
  NodeRef a, b;
  BranchKind kind;
  Index cell = -1;      ///< row-major cell index for device branches
  double g = 0.0;       ///< S, line resistors only
  Index terminal = -1;  ///< driver resistors: the driver's terminal (0 S while it floats)
};

struct Eval {
  double i = 0.0;     ///< A, a -> b
  double didv = 0.0;  ///< S
};

/// Current of branch `br` at voltage dv, with its derivative when `derivative` is set (the
/// physics then runs on dual numbers) and 0 in its place otherwise.
Eval evalBranch(const Branch& br, double dv, std::span<const CellParams> cells,
                const Eigen::MatrixXd& xRowMajor, const std::vector<bool>& driven,
                bool derivative, const DoubleLayerStep* step) {
  if (br.kind == BranchKind::Line) {
    const double g = br.terminal >= 0 && !driven[std::size_t(br.terminal)] ? 0.0 : br.g;
    return {g * dv, g};
  }
  const CellParams& p = cells[static_cast<std::size_t>(br.cell)];
  const Index C = xRowMajor.cols();
  if (br.kind == BranchKind::DoubleLayerSource || br.kind == BranchKind::DoubleLayerDrain) {
    if (step == nullptr) return {0.0, 0.0};
    const double g = 0.5 * p.c_dl / step->h_s;
    const Eigen::MatrixXd& prev =
        br.kind == BranchKind::DoubleLayerSource ? step->vgs_prev : step->vgd_prev;
    return {g * (dv - prev(br.cell / C, br.cell % C)), g};
  }
  // Channel branches run drain -> source: channelCurrent is the drain-to-source current at vds.
  const double xCell = xRowMajor(br.cell / C, br.cell % C);
  if (!derivative) return {physics::channelCurrent(p, xCell, dv), 0.0};
  const Dual x(xCell);
  const Dual i = physics::channelCurrent(p, x, ad::make_fvar<double, 1>(dv));
  return {i.derivative(0), i.derivative(1)};
}

/// A cell's gate element (gateBranchCurrents) between its gate node g and its channel ends s
/// and d, with the handles of its three Jacobian conductances.
struct GateElement {
  NodeRef g, s, d;
  Index cell = -1;
  Index gs = -1, gd = -1, ds = -1;
};

struct GateEval {
  double i_s = 0.0, i_d = 0.0;                 ///< A, gate -> source end, gate -> drain end
  double g_gs = 0.0, g_gd = 0.0, g_ds = 0.0;  ///< S, the Jacobian as three conductances
};

/// Currents of a gate element at vgs, vgd; with `derivative`, its Jacobian: with A, B, D the
/// derivatives of (i_s, i_d) by (vgs, vgd) (B = d i_s / d vgd = d i_d / d vgs), the
/// conductances are g_gs = A + B, g_gd = B + D, g_ds = -B.
GateEval evalGate(const CellParams& p, double vgs, double vgd, double x, bool derivative) {
  if (!derivative) {
    const auto i = gateBranchCurrents(p, vgs, vgd, x);
    return {i.source, i.drain};
  }
  const Dual xd(x);
  const auto bySource = gateBranchCurrents(p, ad::make_fvar<double, 1>(vgs), Dual(vgd), xd);
  const auto byDrain = gateBranchCurrents(p, Dual(vgs), ad::make_fvar<double, 1>(vgd), xd);
  const double a = bySource.source.derivative(1);
  const double b = 0.5 * (byDrain.source.derivative(1) + bySource.drain.derivative(1));
  const double d = byDrain.drain.derivative(1);
  return {bySource.source.derivative(0), bySource.drain.derivative(0), a + b, b + d, -b};
}

/// A cell's Faradaic gate split linearized about a reference point (the fast solver's lazy
/// gate). The split depends on the terminals only through the effective gate-to-channel
/// voltages es = vgs - U_oc(x) and ed = vgd - U_oc(x) (every gate model of device/physics.hpp
/// drives i0 sinh over vgc - U_oc), so one reference covers moves of x too.
struct alignas(64) LazyGate {
  bool valid = false;
  double es = 0.0, ed = 0.0;            ///< V, effective voltages at the reference
  double fs = 0.0, fd = 0.0;            ///< A, Faradaic current into the source and drain end
  double a = 0.0, bs = 0.0, bd = 0.0, d = 0.0;  ///< S: dfs/des, dfs/ded, dfd/des, dfd/ded
  double curvature = 0.0;               ///< A/V^2, bound of the second derivatives near here
  double slope_err = 0.0;               ///< S, bound of the error of each partial
  /// The cell's parameters that the check and the leakage use, copied at each evaluation: a
  /// valid record is all a sweep reads of its cell (two cache lines; the cell's parameter
  /// set is two more).
  double k_oc = 0.0, x_eq = 0.0, v0 = 0.0, r_leak = 0.0;
};

/// A, gateLeakage with the cell's r_leak from its valid LazyGate.
inline physics::GateSplit<double> lazyLeakage(const LazyGate& lg, const CellParams& p, double vgs,
                                              double vgd) {
  return gateLeakage(lg.valid ? lg.r_leak : p.r_leak, vgs, vgd);
}

/// The write network as three families of chains (source lines, drain lines, gate lines), each
/// node on exactly one chain joined to its neighbours by line segments and to at most one driver;
/// absent (nullopt) when the wiring is not of that form (ideal wires merging nodes).
struct Chains {
  std::vector<Index> start;    ///< chain k holds positions [start[k], start[k + 1])
  std::vector<Index> node;     ///< per position: unknown index
  std::vector<double> g_prev;  ///< S, segment to the previous position of its chain (0: first)
  std::vector<Index> drv;      ///< per position: known index of its driver, or -1
  std::vector<double> g_drv;   ///< S
  std::vector<Index> drv_terminal;  ///< per position: terminal of the driver (driven flags)
};

std::optional<Chains> chainsOf(const nodal::CrossbarNet& net, Index R, Index C) {
  Chains ch;
  const Index n = net.unknowns();
  if (n != 3 * R * C) return std::nullopt;
  std::vector<Index> pos(std::size_t(n), -1);
  auto push = [&](LineKind kind, Index r, Index c) {
    const NodeRef ref = net.node(kind, r, c);
    if (ref.known || pos[std::size_t(ref.index)] >= 0) return false;
    pos[std::size_t(ref.index)] = Index(ch.node.size());
    ch.node.push_back(ref.index);
    return true;
  };
  for (Index r = 0; r < R; ++r) {
    ch.start.push_back(Index(ch.node.size()));
    for (Index c = 0; c < C; ++c) {
      if (!push(LineKind::Source, r, c)) return std::nullopt;
    }
  }
  for (Index c = 0; c < C; ++c) {
    ch.start.push_back(Index(ch.node.size()));
    for (Index r = 0; r < R; ++r) {
      if (!push(LineKind::Drain, r, c)) return std::nullopt;
    }
  }
  for (Index r = 0; r < R; ++r) {
    ch.start.push_back(Index(ch.node.size()));
    for (Index c = 0; c < C; ++c) {
      if (!push(LineKind::Gate, r, c)) return std::nullopt;
    }
  }
  ch.start.push_back(Index(ch.node.size()));
  const std::size_t m = ch.node.size();
  ch.g_prev.assign(m, 0.0);
  ch.drv.assign(m, -1);
  ch.g_drv.assign(m, 0.0);
  ch.drv_terminal.assign(m, -1);
  std::vector<Index> chainOf(m);
  for (std::size_t k = 0; k + 1 < ch.start.size(); ++k) {
    for (Index q = ch.start[k]; q < ch.start[k + 1]; ++q) chainOf[std::size_t(q)] = Index(k);
  }
  for (const auto& res : net.resistors()) {
    if (res.a.known && res.b.known) continue;
    if (!res.a.known && !res.b.known) {
      const Index pa = pos[std::size_t(res.a.index)], pb = pos[std::size_t(res.b.index)];
      if (chainOf[std::size_t(pa)] != chainOf[std::size_t(pb)] || std::abs(pa - pb) != 1) {
        return std::nullopt;
      }
      ch.g_prev[std::size_t(std::max(pa, pb))] += res.g;
      continue;
    }
    const NodeRef known = res.a.known ? res.a : res.b;
    const std::size_t p = std::size_t(pos[std::size_t((res.a.known ? res.b : res.a).index)]);
    if (ch.drv[p] >= 0 || res.terminal < 0) return std::nullopt;
    ch.drv[p] = known.index;
    ch.g_drv[p] = res.g;
    ch.drv_terminal[p] = res.terminal;
  }
  return ch;
}

/// S, d faradaicCurrent / d vgc at the current `i` it returned: with i = i0 sinh(w) and
/// v0 w + rs i0 sinh(w) = vgc - U_oc, di/dvgc = i0 cosh(w) / (v0 + rs i0 cosh(w)).
double faradaicSlope(const CellParams& p, double i) {
  const double c = p.i0 * std::sqrt(1.0 + (i / p.i0) * (i / p.i0));
  return c / (p.v0 + p.rs * c);
}

/// The Faradaic split at vgs, vgd and state x with its partials by the effective voltages
/// (LazyGate's a, bs, bd, d), exactly where the model is a sum over gate segments (the
/// quadrature of the distributed gate with rs > 0, the two-point gate); the values equal
/// physics::gateCurrentAt. Returns false for the closed form (distributed, rs = 0), which the
/// caller differences.
bool gateWithPartials(const CellParams& p, double vgs, double vgd, double x,
                      physics::GateSplit<double>& f, LazyGate& lg) {
  if (p.gate == GateModel::TwoPoint) {
    const double is = physics::faradaicCurrent(p, vgs, x), id = physics::faradaicCurrent(p, vgd, x);
    f = {0.5 * is, 0.5 * id};
    lg.a = 0.5 * faradaicSlope(p, is);
    lg.d = 0.5 * faradaicSlope(p, id);
    lg.bs = lg.bd = 0.0;
    return true;
  }
  if (p.rs <= 0.0) return false;
  // physics::gateQuadrature, node by node: the node at xi sees vgs + xi (vgd - vgs).
  const physics::GaussRule& rule = physics::gaussRule(p.gate_points);
  f = {0.0, 0.0};
  lg.a = lg.bs = lg.d = 0.0;
  for (std::size_t k = 0; k < rule.node.size(); ++k) {
    const double xi = rule.node[k];
    const double i = rule.weight[k] * physics::faradaicCurrent(p, vgs + xi * (vgd - vgs), x);
    f.source += (1.0 - xi) * i;
    f.drain += xi * i;
    const double slope = rule.weight[k] * faradaicSlope(p, i / rule.weight[k]);
    lg.a += (1.0 - xi) * (1.0 - xi) * slope;
    lg.bs += (1.0 - xi) * xi * slope;
    lg.d += xi * xi * slope;
  }
  lg.bd = lg.bs;
  if (vgs == vgd) f = physics::gateCurrentAt(p, vgs, vgd, x);  // its special case, to the bit
  return true;
}

/// A, the Faradaic split of a cell at vgs, vgd and state x from its LazyGate `lg` when the
/// linearization is within `tol_a` of the physics; otherwise from the physics (counted in
/// `evals`), and that point becomes the new reference with its partials (gateWithPartials,
/// else forward differences of step h). The bound: every gate model is a weighted sum (weights
/// <= 1, summing to 1) of terms F(u), u between the effective voltages, with |F| <= M(u) =
/// i0 cosh(u / v0) and |F''| <= M(u) / v0^2 (rs only lowers both). Moving both effective
/// voltages by at most delta <= v0 / 10 then errs by at most 0.56 delta^2 curvature (Taylor,
/// cosh growing by at most e^0.1 = 1.105), plus 2 delta slope_err for the partials (exact ones:
/// the physics' own convergence, 1e-12 M / v0; differenced: truncation h/2 curvature, rounding
/// 2e-14 M / h).
[[gnu::noinline]] physics::GateSplit<double> refreshGate(LazyGate& lg, const CellParams& p,
                                                         double vgs, double vgd, double x,
                                                         double es, double ed);

inline physics::GateSplit<double> lazyGate(LazyGate& lg, const CellParams& p, double vgs,
                                           double vgd, double x, double tol_a, int& evals) {
  if (lg.valid) {
    const double uoc = physics::openCircuitPotential(lg.k_oc, lg.x_eq, x);
    const double es = vgs - uoc, ed = vgd - uoc;
    const double ds = es - lg.es, dd = ed - lg.ed;
    const double delta = std::max(std::fabs(ds), std::fabs(dd));
    if (delta <= 0.1 * lg.v0 &&
        delta * (0.56 * delta * lg.curvature + 2.0 * lg.slope_err) <= tol_a) {
      return {lg.fs + lg.a * ds + lg.bs * dd, lg.fd + lg.bd * ds + lg.d * dd};
    }
  }
  ++evals;
  const double uoc = physics::openCircuitPotential(p, x);
  return refreshGate(lg, p, vgs, vgd, x, vgs - uoc, vgd - uoc);
}

/// lazyGate's evaluation at a new reference point (effective voltages es, ed).
physics::GateSplit<double> refreshGate(LazyGate& lg, const CellParams& p, double vgs,
                                       double vgd, double x, double es, double ed) {
  physics::GateSplit<double> f;
  const bool exact = gateWithPartials(p, vgs, vgd, x, f, lg);
  const double h = exact ? 0.0 : 1e-6 * p.v0;
  const double m = p.i0 * std::cosh((std::max(std::fabs(es), std::fabs(ed)) + h) / p.v0);
  lg.curvature = m / (p.v0 * p.v0);
  if (exact) {
    lg.slope_err = 1e-12 * m / p.v0;
  } else {
    f = physics::gateCurrentAt(p, vgs, vgd, x);
    const physics::GateSplit<double> bySource = physics::gateCurrentAt(p, vgs + h, vgd, x);
    const physics::GateSplit<double> byDrain = physics::gateCurrentAt(p, vgs, vgd + h, x);
    lg.a = (bySource.source - f.source) / h;
    lg.bd = (bySource.drain - f.drain) / h;
    lg.bs = (byDrain.source - f.source) / h;
    lg.d = (byDrain.drain - f.drain) / h;
    lg.slope_err = 0.5 * h * lg.curvature + 2e-14 * m / h;
  }
  lg.es = es;
  lg.ed = ed;
  lg.fs = f.source;
  lg.fd = f.drain;
  lg.k_oc = p.k_oc;
  lg.x_eq = p.x_eq;
  lg.v0 = p.v0;
  lg.r_leak = p.r_leak;
  lg.valid = std::isfinite(lg.curvature);
  return f;
}

/// Every line driven at its end through r_drv, except the floating gate and drain lines.
nodal::CrossbarNet writeNet(const CrossbarGeometry& geo, const LineDrive& d) {
  const nodal::LineTermination gate{geo.r_drv, d.gate_driven};
  const nodal::LineTermination source{geo.r_drv,
                                      std::vector<bool>(std::size_t(geo.sourceLines()), true)};
  const nodal::LineTermination drain{geo.r_drv, d.drain_driven};
  return nodal::CrossbarNet(geo, &gate, source, drain);
}

}  // namespace

/// One Gauss-Seidel pass over chains of one family (relax()): per chain a forward and a back
/// substitution of its factored matrix (invW, cp) with the right-hand side `inj` (the gate
/// injections and the drivers), the lagged refactoring difference and the channels to the
/// other family: position i of chain k meets position other_start[k] + i other_step[k] there
/// (other_step 0: none, the gate lines). Chains of a family have equal length and share no
/// node, so N of them run interleaved; the forward pass keeps its values in `scratch` (N times
/// the chain length), which stays in cache.
struct ChainSweep {
  const Index* start;
  const double *g_prev, *inj, *gref, *gch, *invW, *cp;
  const std::size_t *other_start, *other_step;
  double* u;

  /// Solves chains k[0 .. N); raises `largest` to the largest change of a potential and
  /// `scale` to the largest potential.
  template <std::size_t N>
  void solve(const std::size_t* k, double* scratch, double& largest, double& scale) const {
    std::size_t a[N], o[N];
    double prev[N], next[N];
    for (std::size_t j = 0; j < N; ++j) {
      a[j] = std::size_t(start[k[j]]);
      o[j] = other_start[k[j]];
      prev[j] = next[j] = 0.0;
    }
    const std::size_t len = std::size_t(start[k[0] + 1]) - a[0];
    const std::size_t step = other_step[k[0]];
    for (std::size_t i = 0; i < len; ++i) {
      for (std::size_t j = 0; j < N; ++j) {
        const std::size_t q = a[j] + i;
        double rhs = inj[q] + (gref[q] - gch[q]) * u[q];
        if (step != 0) rhs += gch[q] * u[o[j] + i * step];
        prev[j] = (rhs + g_prev[q] * prev[j]) * invW[q];
        scratch[i * N + j] = prev[j];
      }
    }
    for (std::size_t i = len; i-- > 0;) {
      for (std::size_t j = 0; j < N; ++j) {
        const std::size_t q = a[j] + i;
        const double val = scratch[i * N + j] - cp[q] * next[j];
        largest = std::max(largest, std::fabs(val - u[q]));
        scale = std::max(scale, std::fabs(val));
        u[q] = val;
        next[j] = val;
      }
    }
  }
};

struct WriteSolver::Prepared {
  /// Floating pattern the network was built for. With r_drv > 0 one network serves every
  /// pattern (a floating line's driver resistor is stamped as 0 S) and the key is empty; with
  /// r_drv = 0 a driven line merges into its driver's known potential, so the pattern matters.
  std::vector<bool> key;
  nodal::CrossbarNet net;
  nodal::NodalMatrix jac;
  std::vector<Branch> branches;
  std::vector<Index> handles;
  std::vector<GateElement> gates;
  std::optional<Chains> chains;  ///< the chain form of the network, when it has one
  std::vector<LazyGate> lazy;    ///< fast solver: per cell, its linearized gate
  /// Branches whose current enters the operating point's power or terminal sums (at a driver
  /// or in a cell): without and with (powered_dl) the double layers.
  std::vector<std::size_t> powered, powered_dl;
  std::vector<std::size_t> drivers;  ///< branches with a known end

  Prepared(const CrossbarGeometry& geo, const LineDrive& d, std::vector<bool> k)
      : key(std::move(k)),
        net(writeNet(geo, d)),
        jac(net.unknowns()),
        chains(chainsOf(net, geo.rows, geo.cols)),
        lazy(std::size_t(geo.rows * geo.cols)) {
    for (const auto& res : net.resistors()) {
      branches.push_back({res.a, res.b, BranchKind::Line, -1, res.g, res.terminal});
    }
    for (Index r = 0; r < geo.rows; ++r) {
      for (Index c = 0; c < geo.cols; ++c) {
        const Index cell = r * geo.cols + c;
        const NodeRef g = net.node(LineKind::Gate, r, c);
        const NodeRef s = net.node(LineKind::Source, r, c);
        const NodeRef dr = net.node(LineKind::Drain, r, c);
        branches.push_back({dr, s, BranchKind::Channel, cell, 0.0, -1});
        gates.push_back({g, s, dr, cell});
        branches.push_back({g, s, BranchKind::DoubleLayerSource, cell, 0.0, -1});
        branches.push_back({g, dr, BranchKind::DoubleLayerDrain, cell, 0.0, -1});
      }
    }
    for (std::size_t j = 0; j < branches.size(); ++j) {
      const Branch& b = branches[j];
      const bool doubleLayer =
          b.kind == BranchKind::DoubleLayerSource || b.kind == BranchKind::DoubleLayerDrain;
      if (b.a.known || b.b.known || b.cell >= 0) powered_dl.push_back(j);
      if (b.a.known || b.b.known || (b.cell >= 0 && !doubleLayer)) powered.push_back(j);
      if (b.a.known || b.b.known) drivers.push_back(j);
    }
    for (const Branch& b : branches) handles.push_back(jac.addBranch(b.a, b.b));
    for (GateElement& e : gates) {
      e.gs = jac.addBranch(e.g, e.s);
      e.gd = jac.addBranch(e.g, e.d);
      e.ds = jac.addBranch(e.d, e.s);
    }
    jac.finalize();
  }

  /// Fast solver: the last solution, the next one's start (newer in work.u while
  /// work.holds_solution; syncSolution() copies it here).
  Eigen::VectorXd v;
  /// Workspace of relax(), per chain position (sized at the first relaxation).
  struct RelaxWork {
    std::vector<std::size_t> other;  ///< per cell (row-major): its drain position
    std::vector<std::size_t> other_start, other_step;  ///< per chain: see ChainSweep
    std::vector<std::size_t> order;  ///< chains in the order of a sweep
    std::vector<std::size_t> family;  ///< family f is order[family[f] .. family[f + 1])
    double sweep_tol_per_v = 0.0;    ///< A/V, the sweeps' gate tolerance per unit tolerance
    std::size_t longest = 1;         ///< positions of the longest chain
    std::vector<double> u, gch, rhs0, invW, cp, inj;
    std::vector<double> xr;  ///< states of the cells, row-major
    /// The chain factorization (invW, cp) and what it was made for: channel conductances,
    /// diagonals, driver on.
    std::vector<double> gref, diag;
    std::vector<char> on;
    bool factored = false;
    bool holds_solution = false;          ///< u is the last solution (see Prepared::v)
    std::vector<std::size_t> position;    ///< per unknown: its chain position
    std::vector<std::size_t> driver_pos;    ///< positions with a driver, in chain order
    std::vector<std::size_t> driver_chain;  ///< the chain of each of them
    std::vector<char> flipped;            ///< per chain: its driver switched on or off
    /// Predictor of a driver's change (see relax()): per chain position with a driver, the
    /// last measured change of every potential per unit change of its right-hand side
    /// (float: a start, not a solution), within kPredictorBytes in all.
    std::unordered_map<std::size_t, std::vector<float>> response;
    std::size_t response_bytes = 0;
    std::vector<std::pair<std::size_t, double>> changed;  ///< this solve's drivers, position
                                                          ///< and change of rhs0
    std::vector<double> u_start;  ///< the previous solution, before the prediction
    /// Gate lines (no channels, nanoamperes): per position, the injection its chain was last
    /// solved with (NaN: none). A sweep skips a gate chain whose injections have moved since
    /// by a sum that moves no potential of it by more than a tenth of the tolerance (through
    /// at most chain_r); the predictor leaves gate positions alone, so a skipped chain keeps
    /// its last solution.
    std::vector<double> inj_solved;
    double chain_r = 0.0;              ///< Ohm, the largest resistance along a chain
    std::vector<char> gate_due;        ///< per chain of the gate family: solved this sweep
    std::vector<std::size_t> gate_todo;  ///< the gate chains a sweep solves
  } work;
  bool factorized = false;  ///< fast solver: jac holds a usable factorization

  /// Fast solver on a network of chains with linear channels: block Gauss-Seidel over the
  /// source, drain and gate lines (each chain solved exactly, tridiagonal), the gate currents
  /// from the lazy gates at the latest potentials as injections (see WriteSolver). Returns
  /// whether the sweeps converged to `tolerance` within kMaxSweeps (false, with nothing
  /// solved, when a channel is nonlinear: c3 != 0); counts sweeps and gate evaluations.
  /// It starts from the last solution and leaves its result in work.u (holds_solution).
  bool relax(std::span<const CellParams> cells, const Eigen::MatrixXd& x,
             const std::vector<bool>& driven, const Eigen::VectorXd& vk, double tolerance,
             int threads, int& sweeps, int& evals);

  /// Copies relax()'s last result into v, when it is newer.
  void syncSolution() {
    if (!work.holds_solution) return;
    v.resize(net.unknowns());
    for (std::size_t q = 0; q < work.u.size(); ++q) v(chains->node[q]) = work.u[q];
    work.holds_solution = false;
  }
};

namespace {

/// 1, the state error one held operating point may leave through the lazy gates: a gate current
/// is kept within kLazyStateTol q_c / hold of the physics.
constexpr double kLazyStateTol = 1e-9;
constexpr int kMaxSweeps = 400;
/// 1, how far a channel may move, relative to its node's diagonal, before relax() factors its
/// chain again.
constexpr double kRefactor = 1e-3;
/// Predictor of relax(): at most this many drivers changed, and this much memory.
constexpr std::size_t kPredictorTerms = 8;
constexpr std::size_t kPredictorBytes = std::size_t(256) << 20;

}  // namespace

bool WriteSolver::Prepared::relax(std::span<const CellParams> cells, const Eigen::MatrixXd& x,
                                  const std::vector<bool>& driven, const Eigen::VectorXd& vk,
                                  double tolerance, int threads, int& sweeps, int& evals) {
  const Chains& ch = *chains;
  const Index R = x.rows(), C = x.cols(), RC = R * C;
  const std::size_t m = ch.node.size();
  const std::size_t chainCount = ch.start.size() - 1;
  // Positions (chainsOf): source (r, c) at r C + c, drain (r, c) at RC + c R + r, gate (r, c) at
  // 2 RC + r C + c. Fixed per network: the channel's other end of each position, the chain
  // order of a sweep (drain lines first: a segment's new drive is on a drain line, so the
  // sources take it up in the same sweep) and the sweeps' gate-current tolerance.
  if (work.other.size() != std::size_t(RC)) {
    work.other.resize(std::size_t(RC));
    for (Index r = 0; r < R; ++r) {
      for (Index c = 0; c < C; ++c) work.other[std::size_t(r * C + c)] = std::size_t(RC + c * R + r);
    }
    // Source line r meets drain (r, c) at RC + r + c R; drain line c meets source (r, c) at
    // c + r C; gate lines meet no channel.
    work.other_start.assign(chainCount, 0);
    work.other_step.assign(chainCount, 0);
    for (Index r = 0; r < R; ++r) {
      work.other_start[std::size_t(r)] = std::size_t(RC + r);
      work.other_step[std::size_t(r)] = std::size_t(R);
    }
    for (Index c = 0; c < C; ++c) {
      work.other_start[std::size_t(R + c)] = std::size_t(c);
      work.other_step[std::size_t(R + c)] = std::size_t(C);
    }
    work.order.clear();
    work.family = {0};
    for (std::size_t k = std::size_t(R); k < std::size_t(R + C); ++k) work.order.push_back(k);
    work.family.push_back(work.order.size());
    for (std::size_t k = 0; k < std::size_t(R); ++k) work.order.push_back(k);
    work.family.push_back(work.order.size());
    for (std::size_t k = std::size_t(R + C); k < chainCount; ++k) work.order.push_back(k);
    work.family.push_back(work.order.size());
    // A, the gate-current error the sweeps allow (per unit of tolerance): moving every cell of
    // the longest chain by it moves no potential by more than a tenth of the tolerance.
    double chainR = 0.0;
    Index chainLength = 1;
    for (std::size_t k = 0; k < chainCount; ++k) {
      double r = 0.0;
      for (Index q = ch.start[k]; q < ch.start[k + 1]; ++q) {
        if (ch.g_prev[std::size_t(q)] > 0.0) r += 1.0 / ch.g_prev[std::size_t(q)];
        if (ch.g_drv[std::size_t(q)] > 0.0) r += 1.0 / ch.g_drv[std::size_t(q)];
      }
      chainR = std::max(chainR, r);
      chainLength = std::max(chainLength, ch.start[k + 1] - ch.start[k]);
    }
    work.sweep_tol_per_v = 0.1 / (chainR * double(chainLength));
    work.chain_r = chainR;
    work.inj_solved.assign(m, std::numeric_limits<double>::quiet_NaN());
    work.longest = std::size_t(chainLength);
    work.u.resize(m);
    work.gch.resize(m);
    work.rhs0.resize(m);
    work.invW.resize(m);
    work.cp.resize(m);
    work.inj.resize(m);
    work.xr.resize(std::size_t(RC));
    work.gref.resize(m);
    work.diag.resize(m);
    work.on.resize(m);
    work.flipped.resize(chainCount);
    work.driver_pos.clear();
    work.position.assign(m, 0);
    for (std::size_t q = 0; q < m; ++q) work.position[std::size_t(ch.node[q])] = q;
    work.driver_chain.clear();
    for (std::size_t k = 0; k < chainCount; ++k) {
      for (Index q = ch.start[k]; q < ch.start[k + 1]; ++q) {
        if (ch.drv[std::size_t(q)] < 0) continue;
        work.driver_pos.push_back(std::size_t(q));
        work.driver_chain.push_back(k);
      }
    }
    work.factored = false;
  }
  const std::vector<std::size_t>& other = work.other;
  std::vector<double>&u = work.u, &gch = work.gch, &rhs0 = work.rhs0, &invW = work.invW,
                      &cp = work.cp, &inj = work.inj;
  std::vector<double>& xr = work.xr;  // states, row-major like the cells
  // The states, and each cell's channel at its source and its drain position (the gate
  // positions keep 0 S); whether every channel is linear.
  bool linear = true;
  ECRAMSIM_OMP(omp parallel for num_threads(threads) schedule(static) reduction(&& : linear))
  for (Index r = 0; r < R; ++r) {
    for (Index c = 0; c < C; ++c) {
      const std::size_t cell = std::size_t(r * C + c);
      xr[cell] = x(r, c);
      const double g = physics::conductance(cells[cell], xr[cell]);
      gch[cell] = g;
      gch[other[cell]] = g;
      linear = linear && cells[cell].c3 == 0.0;
    }
  }
  if (!linear) {
    sweeps = 0;
    return false;
  }
  if (!work.holds_solution) {  // start from v (the last solution of the Newton path) or 0 V
    const bool start = v.size() == net.unknowns();
    for (std::size_t q = 0; q < m; ++q) u[q] = start ? v(ch.node[q]) : 0.0;
    std::fill(work.inj_solved.begin(), work.inj_solved.end(),
              std::numeric_limits<double>::quiet_NaN());
  }
  // The chain matrices (Thomas: diagonally dominant, every segment and driver on both sides,
  // the channel on the diagonal) are kept from an earlier solve while no channel moved by more
  // than kRefactor of its node's diagonal since: the sweeps carry the difference (gref - gch) u
  // on the right-hand side, lagged one sweep, which leaves the solution exact and the
  // contraction all but unchanged. A chain whose driver switched on or off is factored again.
  std::vector<double>& gref = work.gref;
  const bool hadFactors = work.factored;
  bool switched = false;  // a driver switched on or off: the network changed
  work.changed.clear();
  // The drivers (a few per line, in chain order): their right-hand side, and whether one
  // switched on or off, which refactors its chain.
  std::vector<char>& flippedChain = work.flipped;
  std::fill(flippedChain.begin(), flippedChain.end(), 0);
  for (std::size_t j = 0; j < work.driver_pos.size(); ++j) {
    const std::size_t q = work.driver_pos[j];
    const bool on = driven[std::size_t(ch.drv_terminal[q])];
    const double drive = on ? ch.g_drv[q] * vk(ch.drv[q]) : 0.0;
    if (hadFactors && drive != rhs0[q]) work.changed.emplace_back(q, drive - rhs0[q]);
    rhs0[q] = drive;
    if (on != bool(work.on[q])) {
      flippedChain[work.driver_chain[j]] = 1;
      switched = switched || hadFactors;
    }
  }
  ECRAMSIM_OMP(omp parallel for num_threads(threads) schedule(static))
  for (std::size_t k = 0; k < chainCount; ++k) {
    const std::size_t a = std::size_t(ch.start[k]), b = std::size_t(ch.start[k + 1]);
    bool refactor = !work.factored || flippedChain[k];
    const bool channels = work.other_step[k] != 0;  // a gate line has none: nothing moves
    for (std::size_t q = a; q < b && !refactor && channels; ++q) {
      refactor = std::fabs(gch[q] - gref[q]) > kRefactor * work.diag[q];
    }
    if (!refactor) continue;
    for (std::size_t q = a; q < b; ++q) {
      work.inj_solved[q] = std::numeric_limits<double>::quiet_NaN();
      const double gNext = q + 1 < b ? ch.g_prev[q + 1] : 0.0;
      const bool on = ch.drv[q] >= 0 && driven[std::size_t(ch.drv_terminal[q])];
      work.on[q] = on;
      gref[q] = gch[q];
      work.diag[q] = ch.g_prev[q] + gNext + (on ? ch.g_drv[q] : 0.0) + gch[q];
      const double w = work.diag[q] - (q > a ? ch.g_prev[q] * -cp[q - 1] : 0.0);
      invW[q] = 1.0 / w;
      cp[q] = -gNext / w;
    }
  }
  work.factored = true;
  // Predictor: the network is all but linear in its drivers and changes little from one solve
  // to the next (a segment switches a drain driver; states move by a fraction of a percent),
  // so the sweeps start from the previous solution moved by each changed driver's last
  // measured response. Only the start moves: the sweeps converge to the same tolerance, in
  // fewer sweeps. A solve that changes one driver measures its response again.
  if (switched) {
    work.response.clear();
    work.response_bytes = 0;
  }
  const bool sameNetwork = hadFactors && !switched;  // the responses still describe it
  // Responses cover the source and drain positions; gate lines keep their solution (above).
  const std::size_t predicted = std::size_t(2 * RC);
  const bool learn = sameNetwork && work.changed.size() == 1 &&
                     (work.response.count(work.changed.front().first) > 0 ||
                      work.response_bytes + predicted * sizeof(float) <= kPredictorBytes);
  if (learn) work.u_start = u;
  if (sameNetwork && !work.changed.empty() && work.changed.size() <= kPredictorTerms &&
      std::all_of(work.changed.begin(), work.changed.end(),
                  [&](const auto& c) { return work.response.count(c.first) > 0; })) {
    for (const auto& [q, delta] : work.changed) {
      const float* d = work.response.at(q).data();
      ECRAMSIM_OMP(omp parallel for num_threads(threads) schedule(static))
      for (std::size_t p = 0; p < predicted; ++p) u[p] += delta * double(d[p]);
    }
  }
  const double sweepTol = work.sweep_tol_per_v * tolerance;
  const double skipTol = 0.1 * tolerance;  // V, what a skipped gate chain may leave
  work.gate_due.resize(work.family.back() - work.family[work.family.size() - 2]);
  bool converged = false;
  double lastChange = std::numeric_limits<double>::infinity();
  const ChainSweep sweep{ch.start.data(),         ch.g_prev.data(),       inj.data(),
                         gref.data(),              gch.data(),             invW.data(),
                         cp.data(),                work.other_start.data(), work.other_step.data(),
                         u.data()};
  for (sweeps = 1; sweeps <= kMaxSweeps && !converged; ++sweeps) {
    double largest = 0.0, scale = 0.0;
    int sweepEvals = 0;
    // Each cell's gate writes the injections of its own three positions; the chains of one
    // family share no node. Both loops split across threads as they are.
    ECRAMSIM_OMP(omp parallel num_threads(threads) reduction(max : largest, scale)
                     reduction(+ : sweepEvals))
    {
      std::vector<double> scratch(4 * work.longest);  // this thread's forward passes
      // One block of rows per thread, the rows of its source and gate lines (core/parallel.hpp).
      ECRAMSIM_OMP(omp for schedule(static))
      for (std::size_t ps = 0; ps < std::size_t(RC); ++ps) {  // every cell's gate
        const std::size_t pg = std::size_t(2 * RC) + ps, pd = other[ps];
        const double vgs = u[pg] - u[ps], vgd = u[pg] - u[pd];
        const CellParams& p = cells[ps];
        const physics::GateSplit<double> f =
            lazyGate(lazy[ps], p, vgs, vgd, xr[ps], sweepTol, sweepEvals);
        const physics::GateSplit<double> leak = lazyLeakage(lazy[ps], p, vgs, vgd);
        const double is = f.source + leak.source, id = f.drain + leak.drain;
        inj[ps] = is;
        inj[pd] = id;
        inj[pg] = -(is + id);
      }
      ECRAMSIM_OMP(omp single)
      for (const std::size_t q : work.driver_pos) inj[q] += rhs0[q];  // the drivers
      // Per family (drain, source, gate lines), its chains four at a time, interleaved, and
      // the last ones of a family that does not divide by four one at a time.
      for (std::size_t f = 0; f + 1 < work.family.size(); ++f) {
        const std::size_t first = work.family[f];
        std::size_t count = work.family[f + 1] - first;
        const std::size_t* k = work.order.data() + first;
        if (f + 2 == work.family.size()) {  // the gate lines: only those whose injections moved
          ECRAMSIM_OMP(omp for schedule(static))
          for (std::size_t j = 0; j < count; ++j) {
            const std::size_t a = std::size_t(ch.start[k[j]]), b = std::size_t(ch.start[k[j] + 1]);
            double moved = 0.0;
            for (std::size_t q = a; q < b; ++q) moved += std::fabs(inj[q] - work.inj_solved[q]);
            const bool due = !(moved * work.chain_r <= skipTol);  // NaN: never solved
            if (due) std::copy(inj.begin() + std::ptrdiff_t(a), inj.begin() + std::ptrdiff_t(b),
                               work.inj_solved.begin() + std::ptrdiff_t(a));
            work.gate_due[j] = due;
          }
          ECRAMSIM_OMP(omp single)
          {
            work.gate_todo.clear();
            for (std::size_t j = 0; j < count; ++j) {
              if (work.gate_due[j]) work.gate_todo.push_back(k[j]);
            }
          }
          k = work.gate_todo.data();
          count = work.gate_todo.size();
        }
        ECRAMSIM_OMP(omp for schedule(static))
        for (std::size_t g = 0; g < count / 4; ++g) {
          sweep.solve<4>(k + 4 * g, scratch.data(), largest, scale);
        }
        ECRAMSIM_OMP(omp single)
        for (std::size_t g = count / 4 * 4; g < count; ++g) {
          sweep.solve<1>(k + g, scratch.data(), largest, scale);
        }
      }
    }
    evals += sweepEvals;
    if (!std::isfinite(largest)) return false;
    // Converged when this sweep's change is within the tolerance, or when the next one's, by
    // the contraction of the last two sweeps (< 1/2), would be.
    const double ratio = std::isfinite(lastChange) ? largest / lastChange : 1.0;
    converged = largest <= tolerance * (1.0 + scale) ||
                (ratio < 0.5 && largest * ratio / (1.0 - ratio) <= tolerance * (1.0 + scale));
    lastChange = largest;
  }
  --sweeps;
  if (learn && converged) {
    const auto [q, delta] = work.changed.front();
    auto [it, added] = work.response.try_emplace(q);
    if (added) {
      it->second.resize(predicted);
      work.response_bytes += predicted * sizeof(float);
    }
    float* d = it->second.data();
    const double* start = work.u_start.data();
    ECRAMSIM_OMP(omp parallel for num_threads(threads) schedule(static))
    for (std::size_t p = 0; p < predicted; ++p) d[p] = float((u[p] - start[p]) / delta);
  }
  work.holds_solution = true;
  return converged;
}

WriteSolver::WriteSolver(const CrossbarGeometry& geo, WriteSolverKind kind, int threads)
    : geo_(geo), kind_(kind), threads_(threads) {
  geo_.validate();
}
WriteSolver::~WriteSolver() = default;
WriteSolver::WriteSolver(WriteSolver&&) noexcept = default;
WriteSolver& WriteSolver::operator=(WriteSolver&&) noexcept = default;

WriteOperatingPoint WriteSolver::solve(std::span<const CellParams> cells, const Eigen::MatrixXd& x,
                                       const LineDrive& drive, const DoubleLayerStep* step,
                                       double hold_s) {
  const Index R = geo_.rows, C = geo_.cols;
  if (static_cast<Index>(cells.size()) != R * C || x.rows() != R || x.cols() != C ||
      drive.gate_v.size() != R || drive.source_v.size() != geo_.sourceLines() ||
      drive.drain_v.size() != C ||
      static_cast<Index>(drive.gate_driven.size()) != R ||
      static_cast<Index>(drive.drain_driven.size()) != C) {
    throw InputError({}, "write drive", "sizes do not match the " + std::to_string(R) + " x " +
                                            std::to_string(C) + " array");
  }
  if (step != nullptr && (!(step->h_s > 0.0) || step->vgs_prev.rows() != R ||
                          step->vgs_prev.cols() != C || step->vgd_prev.rows() != R ||
                          step->vgd_prev.cols() != C)) {
    throw InputError({}, "double-layer step", "needs h > 0 and R x C previous voltages");
  }
  std::vector<bool> key;
  LineDrive topology = drive;
  if (geo_.r_drv == 0.0) {
    key = drive.gate_driven;
    key.insert(key.end(), drive.drain_driven.begin(), drive.drain_driven.end());
  } else {
    topology.gate_driven.assign(std::size_t(R), true);
    topology.drain_driven.assign(std::size_t(C), true);
  }
  if (!prepared_ || prepared_->key != key) {
    prepared_ = std::make_unique<Prepared>(geo_, topology, std::move(key));
  }
  Prepared& pr = *prepared_;
  const Index n = pr.net.unknowns();
  std::vector<bool> driven(std::size_t(pr.net.terminals()), true);
  for (Index r = 0; r < R; ++r) {
    driven[std::size_t(pr.net.terminal(LineKind::Gate, r))] = drive.gate_driven[std::size_t(r)];
  }
  for (Index c = 0; c < C; ++c) {
    driven[std::size_t(pr.net.terminal(LineKind::Drain, c))] = drive.drain_driven[std::size_t(c)];
  }

  Eigen::VectorXd vk(pr.net.terminals());
  for (Index r = 0; r < R; ++r) {
    vk(pr.net.terminal(LineKind::Gate, r)) = drive.gate_v(r);
  }
  for (Index k = 0; k < geo_.sourceLines(); ++k) {
    vk(pr.net.terminal(LineKind::Source, k)) = drive.source_v(k);
  }
  for (Index c = 0; c < C; ++c) vk(pr.net.terminal(LineKind::Drain, c)) = drive.drain_v(c);

  // A floating line is held only by its cells' gigaohm branches, and the previous solution and
  // Jacobian (of another double-layer step) are poor starts: such networks take the exact path.
  const bool allDriven =
      std::all_of(drive.gate_driven.begin(), drive.gate_driven.end(), [](bool b) { return b; }) &&
      std::all_of(drive.drain_driven.begin(), drive.drain_driven.end(), [](bool b) { return b; });
  const bool fast = kind_ == WriteSolverKind::Fast && allDriven;
  auto eval = [&](std::size_t k, double dv, bool derivative) {
    return evalBranch(pr.branches[k], dv, cells, x, driven, derivative, step);
  };

  // Newton with chord steps: the Jacobian is factorized at the first iterate (exact; the fast
  // solver keeps the last one) and reused while the steps shrink fast (the sinh branches are
  // tiny next to the lines when every gate line is driven); a chord step that shrinks by less
  // than half is discarded and the Jacobian is refreshed at the same point. Every step after
  // the first (linear-like) one is limited to kMaxStepV.
  constexpr int kMaxIterations = 200;
  constexpr double kMaxStepV = 0.5;
  const double tolerance = fast ? 1e-8 : 1e-13;
  int it = 0;
  int factorizations = 0;
  int gateEvaluations = 0;
  const int threads = threadsFor(std::size_t(R * C), threads_);
  // Relaxation (see the class comment): chains, no double-layer step; relax() declines
  // nonlinear channels.
  const double lazyHold = fast && step == nullptr && pr.chains
                              ? (hold_s > 0.0 ? hold_s : 1.0)
                              : 0.0;
  bool relaxed = false;
  if (lazyHold > 0.0 && n > 0) {
    relaxed = pr.relax(cells, x, driven, vk, tolerance, threads, it, gateEvaluations);
  }
  const double outputHold = relaxed ? lazyHold : 0.0;
  // Newton starts from the last solution (relax()'s last iterate when it did not converge).
  if (fast && !relaxed) pr.syncSolution();
  Eigen::VectorXd v = relaxed                     ? Eigen::VectorXd()
                      : fast && pr.v.size() == n ? pr.v
                                                  : Eigen::VectorXd::Zero(n);
  // Potentials: relax()'s workspace holds its solution by chain position.
  auto pot = [&](const NodeRef& ref) {
    return ref.known   ? vk(ref.index)
           : relaxed ? pr.work.u[pr.work.position[std::size_t(ref.index)]]
                     : v(ref.index);
  };
  if (n > 0 && !relaxed) {
    it = 0;
    Eigen::VectorXd f(n);
    bool fresh = !fast || !pr.factorized;  // evaluate and factorize the Jacobian now
    double lastStep = std::numeric_limits<double>::infinity();
    for (;; ++it) {
      if (it >= kMaxIterations) {
        throw SimulationError("write network: Newton did not converge in " +
                              std::to_string(kMaxIterations) + " iterations");
      }
      f.setZero();
      if (fresh) pr.jac.setZero();
      for (std::size_t k = 0; k < pr.branches.size(); ++k) {
        const Branch& br = pr.branches[k];
        const Eval e = eval(k, pot(br.a) - pot(br.b), fresh);
        if (!br.a.known) f(br.a.index) += e.i;
        if (!br.b.known) f(br.b.index) -= e.i;
        if (fresh) pr.jac.stamp(pr.handles[k], e.didv);
      }
      for (const GateElement& ge : pr.gates) {
        const double vg = pot(ge.g);
        const GateEval e = evalGate(cells[std::size_t(ge.cell)], vg - pot(ge.s), vg - pot(ge.d),
                                    x(ge.cell / C, ge.cell % C), fresh);
        if (!ge.g.known) f(ge.g.index) += e.i_s + e.i_d;
        if (!ge.s.known) f(ge.s.index) -= e.i_s;
        if (!ge.d.known) f(ge.d.index) -= e.i_d;
        if (fresh) {
          pr.jac.stamp(ge.gs, e.g_gs);
          pr.jac.stamp(ge.gd, e.g_gd);
          pr.jac.stamp(ge.ds, e.g_ds);
        }
      }
      if (fresh) {
        pr.factorized = false;
        pr.jac.factorize();
        pr.factorized = true;
        ++factorizations;
      }
      Eigen::VectorXd dv = -pr.jac.solve(f);
      if (!dv.allFinite()) throw SimulationError("write network: Newton step is not finite");
      const double stepV = dv.cwiseAbs().maxCoeff();
      if (!fresh && stepV > 0.5 * lastStep) {
        fresh = true;  // slow or diverging chord step: refresh the Jacobian here
        continue;
      }
      fresh = false;
      lastStep = stepV;
      if (it > 0 && stepV > kMaxStepV) dv *= kMaxStepV / stepV;
      v += dv;
      const double scale = 1.0 + v.cwiseAbs().maxCoeff();
      if (stepV <= tolerance * scale) break;
    }
  }
  if (fast && !relaxed) pr.v = v;
  if (!fast) pr.factorized = false;  // the exact path's last Jacobian may belong to a step

  WriteOperatingPoint op;
  op.newton_iterations = relaxed ? it : it + (n > 0 ? 1 : 0);
  op.jacobian_factorizations = factorizations;
  op.vg.resize(R, C);
  op.vd.resize(R, C);
  op.vs.resize(R, C);
  op.cell_power_w.resize(R, C);
  op.ionic_a.resize(R, C);
  Eigen::VectorXd terminalCurrent = Eigen::VectorXd::Zero(pr.net.terminals());
  if (relaxed) {
    // relax()'s network: every node on a chain, only the drivers at known potentials, linear
    // channels; every gate from its lazy gate, within kLazyStateTol q_c / hold. The
    // potentials by chain position: source (r, c) at r C + c, drain at work.other, gate at
    // 2 RC + r C + c.
    op.ionic_dx_a.resize(R, C);
    for (const std::size_t k : pr.drivers) {
      const Branch& br = pr.branches[k];
      const double i = eval(k, pot(br.a) - pot(br.b), false).i;
      if (br.a.known) terminalCurrent(br.a.index) += i;
      if (br.b.known) terminalCurrent(br.b.index) -= i;
    }
    const std::vector<double>& u = pr.work.u;
    gateEvaluations += forEachCell(R, C, threads, [&](Index cellIndex, Index r, Index c) {
      const std::size_t cell = std::size_t(cellIndex);
      op.vs(r, c) = u[cell];
      op.vd(r, c) = u[pr.work.other[cell]];
      op.vg(r, c) = u[std::size_t(2 * R * C) + cell];
      const CellParams& p = cells[cell];
      const double vds = op.vd(r, c) - op.vs(r, c);
      const double vgs = op.vg(r, c) - op.vs(r, c), vgd = op.vg(r, c) - op.vd(r, c);
      LazyGate& lg = pr.lazy[cell];
      int evals = 0;
      const physics::GateSplit<double> f =
          lazyGate(lg, p, vgs, vgd, x(r, c), kLazyStateTol * p.q_c / outputHold, evals);
      const physics::GateSplit<double> leak = gateLeakage(p, vgs, vgd);
      op.ionic_a(r, c) = f.total();
      // The effective voltages move by -k_oc dx: the lazy gate's partials give d/dx.
      op.ionic_dx_a(r, c) = lg.valid ? -p.k_oc * (lg.a + lg.bs + lg.bd + lg.d) : NAN;
      op.cell_power_w(r, c) = physics::channelCurrent(p, x(r, c), vds) * vds +
                              ((f.source + leak.source) * vgs + (f.drain + leak.drain) * vgd);
      return evals;
    });
    op.driver_power_w = vk.dot(terminalCurrent);
    return op;
  }
  for (Index r = 0; r < R; ++r) {
    for (Index c = 0; c < C; ++c) {
      op.vg(r, c) = pot(pr.net.node(LineKind::Gate, r, c));
      op.vs(r, c) = pot(pr.net.node(LineKind::Source, r, c));
      op.vd(r, c) = pot(pr.net.node(LineKind::Drain, r, c));
    }
  }
  op.cell_power_w.setZero();
  op.ionic_a.setZero();
  // Only branches at a driver or in a cell carry power or terminal current into the sums;
  // the double layers only within a step.
  for (const std::size_t k : step != nullptr ? pr.powered_dl : pr.powered) {
    const Branch& br = pr.branches[k];
    const double dv = pot(br.a) - pot(br.b);
    const double i = eval(k, dv, false).i;
    const bool doubleLayer =
        br.kind == BranchKind::DoubleLayerSource || br.kind == BranchKind::DoubleLayerDrain;
    if (br.cell >= 0 && !doubleLayer) op.cell_power_w(br.cell / C, br.cell % C) += i * dv;
    if (br.a.known) terminalCurrent(br.a.index) += i;
    if (br.b.known) terminalCurrent(br.b.index) -= i;
  }
  for (const GateElement& ge : pr.gates) {
    const double vgs = pot(ge.g) - pot(ge.s), vgd = pot(ge.g) - pot(ge.d);
    const CellParams& p = cells[std::size_t(ge.cell)];
    // The Faradaic split once (a quadrature when rs > 0): the ionic current, and with the
    // leakage the element's end currents (as gateBranchCurrents).
    const physics::GateSplit<double> f =
        physics::gateCurrentAt(p, vgs, vgd, x(ge.cell / C, ge.cell % C));
    const physics::GateSplit<double> leak = gateLeakage(p, vgs, vgd);
    const double i_s = f.source + leak.source, i_d = f.drain + leak.drain;
    op.ionic_a(ge.cell / C, ge.cell % C) = f.total();
    op.cell_power_w(ge.cell / C, ge.cell % C) += i_s * vgs + i_d * vgd;
    if (ge.g.known) terminalCurrent(ge.g.index) += i_s + i_d;
    if (ge.s.known) terminalCurrent(ge.s.index) -= i_s;
    if (ge.d.known) terminalCurrent(ge.d.index) -= i_d;
  }
  op.driver_power_w = vk.dot(terminalCurrent);
  return op;
}

}  // namespace ecramsim

#include "array/write_solver.hpp"

#include <algorithm>
#include <boost/math/differentiation/autodiff.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "array/network.hpp"
#include "core/error.hpp"
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

/// Every line driven at its end through r_drv, except the floating gate and drain lines.
nodal::CrossbarNet writeNet(const CrossbarGeometry& geo, const LineDrive& d) {
  const nodal::LineTermination gate{geo.r_drv, d.gate_driven};
  const nodal::LineTermination source{geo.r_drv,
                                      std::vector<bool>(std::size_t(geo.sourceLines()), true)};
  const nodal::LineTermination drain{geo.r_drv, d.drain_driven};
  return nodal::CrossbarNet(geo, &gate, source, drain);
}

}  // namespace

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

  Prepared(const CrossbarGeometry& geo, const LineDrive& d, std::vector<bool> k)
      : key(std::move(k)),
        net(writeNet(geo, d)),
        jac(net.unknowns()) {
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
    for (const Branch& b : branches) handles.push_back(jac.addBranch(b.a, b.b));
    for (GateElement& e : gates) {
      e.gs = jac.addBranch(e.g, e.s);
      e.gd = jac.addBranch(e.g, e.d);
      e.ds = jac.addBranch(e.d, e.s);
    }
    jac.finalize();
  }

  Eigen::VectorXd v;        ///< fast solver: the last solution, the next one's start
  bool factorized = false;  ///< fast solver: jac holds a usable factorization
};


WriteSolver::WriteSolver(const CrossbarGeometry& geo, WriteSolverKind kind)
    : geo_(geo), kind_(kind) {
  geo_.validate();
}
WriteSolver::~WriteSolver() = default;
WriteSolver::WriteSolver(WriteSolver&&) noexcept = default;
WriteSolver& WriteSolver::operator=(WriteSolver&&) noexcept = default;

WriteOperatingPoint WriteSolver::solve(std::span<const CellParams> cells, const Eigen::MatrixXd& x,
                                       const LineDrive& drive, const DoubleLayerStep* step) {
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
  Eigen::VectorXd v = fast && pr.v.size() == n ? pr.v : Eigen::VectorXd::Zero(n);
  auto pot = [&](const NodeRef& ref) { return ref.known ? vk(ref.index) : v(ref.index); };
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
  if (n > 0) {
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
  if (fast) pr.v = v;
  if (!fast) pr.factorized = false;  // the exact path's last Jacobian may belong to a step

  WriteOperatingPoint op;
  op.newton_iterations = it + (n > 0 ? 1 : 0);
  op.jacobian_factorizations = factorizations;
  op.vg.resize(R, C);
  op.vd.resize(R, C);
  op.vs.resize(R, C);
  for (Index r = 0; r < R; ++r) {
    for (Index c = 0; c < C; ++c) {
      op.vg(r, c) = pot(pr.net.node(LineKind::Gate, r, c));
      op.vs(r, c) = pot(pr.net.node(LineKind::Source, r, c));
      op.vd(r, c) = pot(pr.net.node(LineKind::Drain, r, c));
    }
  }
  op.cell_power_w = Eigen::MatrixXd::Zero(R, C);
  op.ionic_a = Eigen::MatrixXd::Zero(R, C);
  Eigen::VectorXd terminalCurrent = Eigen::VectorXd::Zero(pr.net.terminals());
  for (std::size_t k = 0; k < pr.branches.size(); ++k) {
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

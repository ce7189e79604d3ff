#include "array/sneak_read.hpp"

#include <vector>

#include "array/network.hpp"
#include "core/error.hpp"

namespace ecramsim {

SneakRead readCellSneak(const CrossbarGeometry& geo, const Eigen::MatrixXd& g_s, Eigen::Index row,
                        Eigen::Index col, double v_read, bool floating) {
  using Eigen::Index;
  using nodal::LineKind;
  geo.validate();
  requireReadableWiring(geo.wiring, "a read");
  const Index R = geo.rows, C = geo.cols;
  if (g_s.rows() != R || g_s.cols() != C || !g_s.allFinite() || (g_s.array() < 0.0).any()) {
    throw InputError({}, "conductances", "must be R x C, finite and >= 0");
  }
  if (row < 0 || row >= R || col < 0 || col >= C) {
    throw InputError({}, "cell", "selected cell outside the array");
  }
  nodal::LineTermination source{geo.r_drv, std::vector<bool>(std::size_t(R), !floating)};
  nodal::LineTermination drain{geo.r_sense, std::vector<bool>(std::size_t(C), !floating)};
  source.driven[std::size_t(row)] = true;
  drain.driven[std::size_t(col)] = true;
  const nodal::CrossbarNet net(geo, nullptr, source, drain);

  // Branches: line resistors, then the cells (source node to drain node).
  struct Branch {
    nodal::NodeRef a, b;
    double g;
  };
  std::vector<Branch> branches;
  for (const auto& res : net.resistors()) branches.push_back({res.a, res.b, res.g});
  for (Index r = 0; r < R; ++r) {
    for (Index c = 0; c < C; ++c) {
      branches.push_back(
          {net.node(LineKind::Source, r, c), net.node(LineKind::Drain, r, c), g_s(r, c)});
    }
  }
  Eigen::VectorXd known = Eigen::VectorXd::Zero(net.terminals());
  known(net.terminal(LineKind::Source, row)) = v_read;

  nodal::NodalMatrix a(net.unknowns(), nodal::Factorization::Supernodal);
  std::vector<Index> handles;
  for (const Branch& br : branches) handles.push_back(a.addBranch(br.a, br.b));
  a.finalize();
  a.setZero();
  Eigen::VectorXd rhs = Eigen::VectorXd::Zero(net.unknowns());
  for (std::size_t k = 0; k < branches.size(); ++k) {
    const Branch& br = branches[k];
    a.stamp(handles[k], br.g);
    if (!br.a.known && br.b.known) rhs(br.a.index) += br.g * known(br.b.index);
    if (br.a.known && !br.b.known) rhs(br.b.index) += br.g * known(br.a.index);
  }
  Eigen::VectorXd v = Eigen::VectorXd::Zero(net.unknowns());
  if (net.unknowns() > 0) {
    try {
      a.factorize();
    } catch (const SimulationError&) {
      throw SimulationError("sneak read: singular network (a node without any path to a driver)");
    }
    v = a.solve(rhs);
  }
  auto pot = [&](const nodal::NodeRef& n) { return n.known ? known(n.index) : v(n.index); };
  // Current into the selected column's sense terminal from every branch that ends on it.
  const Index sense = net.terminal(LineKind::Drain, col);
  SneakRead s;
  for (const Branch& br : branches) {
    const bool aSense = br.a.known && br.a.index == sense;
    const bool bSense = br.b.known && br.b.index == sense;
    if (aSense == bSense) continue;
    s.current_a += br.g * (aSense ? pot(br.b) - pot(br.a) : pot(br.a) - pot(br.b));
  }
  s.g_read_s = s.current_a / v_read;
  return s;
}

}  // namespace ecramsim

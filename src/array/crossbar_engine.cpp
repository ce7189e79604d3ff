#include "array/crossbar_engine.hpp"

#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/progress.hpp"

namespace ecramsim {

namespace {

using Index = Eigen::Index;
using nodal::LineKind;
using nodal::NodeRef;

nodal::CrossbarNet readNet(const CrossbarGeometry& geo, const ReadLines& lines) {
  const nodal::LineTermination source{geo.r_drv, lines.source_driven};
  const nodal::LineTermination drain{geo.r_sense, lines.drain_sensed};
  return nodal::CrossbarNet(geo, nullptr, source, drain);
}

/// `lines` with every empty mask filled (every line driven or sensed); InputError for a mask
/// of the wrong size.
ReadLines fullLines(const CrossbarGeometry& geo, ReadLines lines) {
  geo.validate();
  requireReadableWiring(geo.wiring, "a read or a VMM");
  auto fill = [](std::vector<bool>& mask, Index n, const char* what) {
    if (mask.empty()) mask.assign(std::size_t(n), true);
    if (Index(mask.size()) != n) {
      throw InputError({}, what, "expected " + std::to_string(n) + " entries, got " +
                                     std::to_string(mask.size()));
    }
  };
  fill(lines.source_driven, geo.rows, "source_driven");
  fill(lines.drain_sensed, geo.cols, "drain_sensed");
  return lines;
}

}  // namespace

ReadSolverKind parseReadSolver(const std::string& name, const std::string& parameter) {
  if (name == "exact") return ReadSolverKind::Exact;
  if (name == "fast") return ReadSolverKind::Fast;
  throw InputError({}, parameter, "'" + name + "' is not a read solver; use exact or fast");
}

CrossbarEngine::CrossbarEngine(const CrossbarGeometry& geo, ReadSolverKind kind,
                               const ReadLines& lines)
    : geo_(geo), kind_(kind), lines_(fullLines(geo, lines)), net_(readNet(geo_, lines_)) {
  if (kind_ == ReadSolverKind::Fast && LineSolver::supports(geo_)) fast_.emplace(geo_, lines_);
  g_ = Eigen::MatrixXd::Zero(geo_.rows, geo_.cols);
}

void CrossbarEngine::setConductances(const Eigen::MatrixXd& g_s) {
  if (g_s.rows() != geo_.rows || g_s.cols() != geo_.cols) {
    throw InputError({}, "conductances",
                     "expected " + std::to_string(geo_.rows) + " x " + std::to_string(geo_.cols) +
                         ", got " + std::to_string(g_s.rows()) + " x " +
                         std::to_string(g_s.cols()));
  }
  for (Index r = 0; r < g_s.rows(); ++r) {
    for (Index c = 0; c < g_s.cols(); ++c) {
      const double g = g_s(r, c);
      if (!std::isfinite(g) || g < 0.0) {
        throw InputError({}, "conductances",
                         "cell (" + std::to_string(r) + ", " + std::to_string(c) +
                             "): conductance must be finite and >= 0 S, got " +
                             std::to_string(g));
      }
    }
  }
  g_ = g_s;
  exactValid_ = false;
  fastValid_ = false;
  transferValid_ = false;
}

void CrossbarEngine::setConductances(std::span<const double> g_row_major_s) {
  if (static_cast<Index>(g_row_major_s.size()) != geo_.cells()) {
    throw InputError({}, "conductances",
                     "expected " + std::to_string(geo_.cells()) + " values, got " +
                         std::to_string(g_row_major_s.size()));
  }
  Eigen::MatrixXd g(geo_.rows, geo_.cols);
  for (Index r = 0; r < geo_.rows; ++r) {
    for (Index c = 0; c < geo_.cols; ++c) {
      g(r, c) = g_row_major_s[static_cast<std::size_t>(r * geo_.cols + c)];
    }
  }
  setConductances(g);
}

void CrossbarEngine::refactor() const {
  const Index R = geo_.rows, C = geo_.cols, n = net_.unknowns();
  const auto& res = net_.resistors();
  if (!matrix_) {
    matrix_.emplace(n, nodal::Factorization::Supernodal);
    for (const auto& e : res) lineBranch_.push_back(matrix_->addBranch(e.a, e.b));
    for (Index r = 0; r < R; ++r) {
      for (Index c = 0; c < C; ++c) {
        cellBranch_.push_back(matrix_->addBranch(net_.node(LineKind::Source, r, c),
                                                 net_.node(LineKind::Drain, r, c)));
      }
    }
    matrix_->finalize();
  }
  matrix_->setZero();
  for (std::size_t k = 0; k < res.size(); ++k) matrix_->stamp(lineBranch_[k], res[k].g);
  for (Index r = 0; r < R; ++r) {
    for (Index c = 0; c < C; ++c) matrix_->stamp(cellBranch_[std::size_t(r * C + c)], g_(r, c));
  }
  matrix_->factorize();
  ++factorizations_;
  exactValid_ = true;

  // Only source terminals carry a nonzero potential (drain terminals are at 0 V), so the
  // known-potential side is indexed by row r (terminal R + r).
  using Triplet = Eigen::Triplet<double>;
  auto sourceRow = [&](const NodeRef& ref) -> Index {
    if (!ref.known) return -1;
    const Index t = ref.index - R;
    return (t >= 0 && t < R) ? t : -1;
  };
  std::vector<Triplet> rhs, colU, colK, rowU, rowK;
  auto branchRhs = [&](const NodeRef& a, const NodeRef& b, double g) {
    if (!a.known && b.known && sourceRow(b) >= 0) rhs.emplace_back(a.index, sourceRow(b), g);
    if (!b.known && a.known && sourceRow(a) >= 0) rhs.emplace_back(b.index, sourceRow(a), g);
  };
  for (const auto& e : res) branchRhs(e.a, e.b, e.g);
  for (Index r = 0; r < R; ++r) {
    for (Index c = 0; c < C; ++c) {
      const double g = g_(r, c);
      const NodeRef s = net_.node(LineKind::Source, r, c);
      const NodeRef d = net_.node(LineKind::Drain, r, c);
      branchRhs(s, d, g);
      // Cell current from source node to drain node: g (V_s - V_d).
      auto add = [&](const NodeRef& ref, double sign) {
        if (!ref.known) {
          colU.emplace_back(c, ref.index, sign * g);
          rowU.emplace_back(r, ref.index, sign * g);
        } else if (sourceRow(ref) >= 0) {
          colK.emplace_back(c, sourceRow(ref), sign * g);
          rowK.emplace_back(r, sourceRow(ref), sign * g);
        }
      };
      add(s, 1.0);
      add(d, -1.0);
    }
  }
  rhsKnown_.resize(n, R);
  rhsKnown_.setFromTriplets(rhs.begin(), rhs.end());
  colFromU_.resize(C, n);
  colFromU_.setFromTriplets(colU.begin(), colU.end());
  colFromK_.resize(C, R);
  colFromK_.setFromTriplets(colK.begin(), colK.end());
  rowFromU_.resize(R, n);
  rowFromU_.setFromTriplets(rowU.begin(), rowU.end());
  rowFromK_.resize(R, R);
  rowFromK_.setFromTriplets(rowK.begin(), rowK.end());
}

void CrossbarEngine::setFusedTransfer(bool fused) {
  if (fused != fusedTransfer_) transferValid_ = false;
  fusedTransfer_ = fused;
}

void CrossbarEngine::setFastIterationLimit(int max_iterations) {
  if (max_iterations < 1) throw InputError({}, "max_iterations", "must be >= 1");
  fastMaxIterations_ = max_iterations;
}

void CrossbarEngine::prepareFast() const {
  if (!fastValid_) {
    fast_->setConductances(g_);
    ++factorizations_;
    fastValid_ = true;
  }
}

ReadResult CrossbarEngine::solve(const Eigen::MatrixXd& inputs_v, bool with_node_voltages) const {
  const Index R = geo_.rows;
  if (inputs_v.cols() != R) {
    throw InputError({}, "inputs",
                     "each input vector must have " + std::to_string(R) + " values (one per row), got " +
                         std::to_string(inputs_v.cols()));
  }
  if (!inputs_v.allFinite()) throw InputError({}, "inputs", "input voltages must be finite");
  if (!with_node_voltages && (transferValid_ || inputs_v.rows() >= R)) {
    (void)transfer();
    ReadResult out;
    out.column_currents_a = inputs_v * transferCol_.transpose();
    out.row_currents_a = inputs_v * transferRow_.transpose();
    return out;
  }
  const Index K = inputs_v.rows();
  if (K < 2) return solveDirect(inputs_v, with_node_voltages);
  // Vectors spanning m < K dimensions: solve an orthonormal basis of their span, recombine.
  const Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(inputs_v.transpose());
  const Index m = qr.rank();
  if (m == K) return solveDirect(inputs_v, with_node_voltages);
  const Eigen::MatrixXd basis = qr.householderQ() * Eigen::MatrixXd::Identity(R, m);  // R x m
  const Eigen::MatrixXd coeff = inputs_v * basis;                                       // K x m
  const ReadResult b = solveDirect(basis.transpose(), with_node_voltages);
  ReadResult out;
  out.column_currents_a = coeff * b.column_currents_a;
  out.row_currents_a = coeff * b.row_currents_a;
  if (with_node_voltages) {
    for (Index k = 0; k < K; ++k) {
      Eigen::MatrixXd vs = Eigen::MatrixXd::Zero(R, geo_.cols), vd = vs;
      for (Index j = 0; j < m; ++j) {
        vs += coeff(k, j) * b.source_v[std::size_t(j)];
        vd += coeff(k, j) * b.drain_v[std::size_t(j)];
      }
      out.source_v.push_back(std::move(vs));
      out.drain_v.push_back(std::move(vd));
    }
  }
  return out;
}

ReadResult CrossbarEngine::solveDirect(const Eigen::MatrixXd& inputs_v,
                                       bool with_node_voltages) const {
  if (!fast_) return solveExact(inputs_v, with_node_voltages);
  prepareFast();
  const Index K = inputs_v.rows();
  ReadResult out;
  out.column_currents_a.resize(K, geo_.cols);
  out.row_currents_a.resize(K, geo_.rows);
  lastIterations_ = 0;
  lastUsedCg_ = false;
  for (Index k0 = 0; k0 < K; k0 += kFastBlock) {
    const Index n = std::min(kFastBlock, K - k0);
    LineSolver::Outcome o =
        fast_->solve(inputs_v.middleRows(k0, n), with_node_voltages, kFastTol, fastMaxIterations_);
    lastIterations_ = std::max(lastIterations_, o.iterations);
    lastUsedCg_ = lastUsedCg_ || o.conjugate_gradients;
    if (!o.converged) {
      ++fallbacks_;
      return solveExact(inputs_v, with_node_voltages);
    }
    out.column_currents_a.middleRows(k0, n) = o.column_currents_a;
    out.row_currents_a.middleRows(k0, n) = o.row_currents_a;
    for (auto& v : o.source_v) out.source_v.push_back(std::move(v));
    for (auto& v : o.drain_v) out.drain_v.push_back(std::move(v));
  }
  return out;
}

ReadResult CrossbarEngine::solveExact(const Eigen::MatrixXd& inputs_v,
                                      bool with_node_voltages) const {
  const Index R = geo_.rows, C = geo_.cols;
  if (!exactValid_) refactor();
  const Eigen::MatrixXd vk = inputs_v.transpose();  // R x K
  Eigen::MatrixXd x;                                 // unknowns x K
  if (net_.unknowns() > 0) {
    const Eigen::MatrixXd b = rhsKnown_ * vk;
    x = matrix_->solve(b);
  } else {
    x.resize(0, vk.cols());
  }
  ReadResult out;
  out.column_currents_a = (colFromU_ * x + colFromK_ * vk).transpose();
  out.row_currents_a = (rowFromU_ * x + rowFromK_ * vk).transpose();
  if (with_node_voltages) {
    auto potential = [&](const NodeRef& ref, Index k) {
      if (!ref.known) return x(ref.index, k);
      const Index t = ref.index - R;
      return (t >= 0 && t < R) ? vk(t, k) : 0.0;
    };
    for (Index k = 0; k < vk.cols(); ++k) {
      Eigen::MatrixXd vs(R, C), vd(R, C);
      for (Index r = 0; r < R; ++r) {
        for (Index c = 0; c < C; ++c) {
          vs(r, c) = potential(net_.node(LineKind::Source, r, c), k);
          vd(r, c) = potential(net_.node(LineKind::Drain, r, c), k);
        }
      }
      out.source_v.push_back(std::move(vs));
      out.drain_v.push_back(std::move(vd));
    }
  }
  return out;
}

const Eigen::MatrixXd& CrossbarEngine::transfer() const {
  if (transferValid_) return transferCol_;
  const Index R = geo_.rows, C = geo_.cols;
  transferCol_.resize(C, R);
  transferRow_.resize(R, R);
  bool done = false;
  if (fast_) {
    prepareFast();
    lastIterations_ = 0;
    lastUsedCg_ = false;
    if (fusedTransfer_) {
      // Fused line Gauss-Seidel over all unit inputs; declines where that contracts slowly.
      const LineSolver::Outcome o = fast_->transfer(kFastTol, fastMaxIterations_);
      lastIterations_ = o.iterations;
      if (o.converged) {
        transferCol_ = o.column_currents_a.transpose();
        transferRow_ = o.row_currents_a.transpose();
        transferValid_ = true;
        return transferCol_;
      }
    }
    // The R unit inputs, kFastBlock at a time, by the solver of solve() (with CG).
    done = true;
    for (Index r0 = 0; r0 < R && done; r0 += kFastBlock) {
      globalCancelToken().throwIfCancelled();
      const Index n = std::min(kFastBlock, R - r0);
      const Eigen::MatrixXd unit = Eigen::MatrixXd::Identity(R, R).middleRows(r0, n);
      const LineSolver::Outcome o = fast_->solve(unit, false, kFastTol, fastMaxIterations_);
      lastIterations_ = std::max(lastIterations_, o.iterations);
      lastUsedCg_ = lastUsedCg_ || o.conjugate_gradients;
      done = o.converged;
      transferCol_.middleCols(r0, n) = o.column_currents_a.transpose();
      transferRow_.middleCols(r0, n) = o.row_currents_a.transpose();
    }
    if (!done) ++fallbacks_;
  }
  if (!done) {
    // The R unit inputs are solved kTransferBlock at a time: the dense right-hand sides and
    // solutions stay unknowns x kTransferBlock, and a cancelled run stops between blocks.
    if (!exactValid_) refactor();
    transferCol_ = Eigen::MatrixXd(colFromK_);
    transferRow_ = Eigen::MatrixXd(rowFromK_);
    if (net_.unknowns() > 0) {
      for (Index r0 = 0; r0 < R; r0 += kTransferBlock) {
        globalCancelToken().throwIfCancelled();
        const Index n = std::min(kTransferBlock, R - r0);
        const Eigen::MatrixXd b = rhsKnown_.middleCols(r0, n);
        const Eigen::MatrixXd x = matrix_->solve(b);
        transferCol_.middleCols(r0, n) += colFromU_ * x;
        transferRow_.middleCols(r0, n) += rowFromU_ * x;
      }
    }
  }
  transferValid_ = true;
  return transferCol_;
}

Eigen::MatrixXd CrossbarEngine::ideal(const Eigen::MatrixXd& inputs_v) const {
  if (inputs_v.cols() != geo_.rows) {
    throw InputError({}, "inputs",
                     "each input vector must have " + std::to_string(geo_.rows) +
                         " values (one per row), got " + std::to_string(inputs_v.cols()));
  }
  return inputs_v * g_;
}

}  // namespace ecramsim

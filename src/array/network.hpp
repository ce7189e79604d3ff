#pragma once
/// Building blocks of the nodal engine: the node map of a crossbar (which line nodes exist, how
/// ideal wires merge them, which lines are tied to a driver) and a symmetric sparse nodal matrix
/// whose pattern is analysed once and whose values are restamped and refactorized in place.

#include <Eigen/CholmodSupport>
#include <Eigen/Core>
#include <Eigen/SparseCholesky>
#include <Eigen/SparseCore>
#include <memory>
#include <vector>

#include "array/geometry.hpp"

namespace ecramsim::nodal {

enum class LineKind { Gate = 0, Source = 1, Drain = 2 };

/// A node of the reduced network: an unknown potential (index into the solution vector) or a
/// known one (index into the vector of terminal potentials, one terminal per line).
struct NodeRef {
  Eigen::Index index = -1;
  bool known = false;
};

/// How one kind of line is terminated in a build of the network.
struct LineTermination {
  double r_end = 0.0;              ///< Ohm, driver or sense resistance at the line's end
  std::vector<bool> driven;        ///< per line: tied to its terminal, or floating (no driver)
};

/// The node map of a crossbar. Lines of a kind that is not included have no nodes.
class CrossbarNet {
 public:
  /// `gate` may be omitted (read network: no gate lines). Gate lines end at c = 0 through
  /// gate->r_end, drain lines at r = R-1 through drain.r_end, source lines (geo.sourceLines()
  /// of them, source.driven has one entry per line) at c = 0 or r = R-1 as geo.wiring runs them.
  CrossbarNet(const CrossbarGeometry& geo, const LineTermination* gate,
              const LineTermination& source, const LineTermination& drain);

  [[nodiscard]] NodeRef node(LineKind kind, Eigen::Index r, Eigen::Index c) const;
  /// Index of line `line`'s terminal in the vector of known potentials.
  [[nodiscard]] Eigen::Index terminal(LineKind kind, Eigen::Index line) const;
  [[nodiscard]] Eigen::Index unknowns() const { return unknowns_; }
  [[nodiscard]] Eigen::Index terminals() const {
    return geo_.rows + geo_.sourceLines() + geo_.cols;
  }

  /// A line resistor (segment, driver or sense) between two distinct reduced nodes.
  struct Resistor {
    NodeRef a, b;
    double g = 0.0;               ///< S
    Eigen::Index terminal = -1;   ///< the terminal this driver/sense resistor ties to, or -1
  };
  [[nodiscard]] const std::vector<Resistor>& resistors() const { return resistors_; }

 private:
  [[nodiscard]] Eigen::Index raw(LineKind kind, Eigen::Index r, Eigen::Index c) const;

  CrossbarGeometry geo_;
  std::vector<NodeRef> map_;  ///< per raw node: 3 R C line nodes, then the terminals
  std::vector<Resistor> resistors_;
  Eigen::Index unknowns_ = 0;
};

/// How a NodalMatrix is factorized. Simplicial: Eigen's SimplicialLDLT on an AMD ordering, cheap
/// to call for one right-hand side at a time (the write network's Newton steps). Supernodal:
/// CHOLMOD's supernodal Cholesky (SuiteSparse), whose ordering is the better of AMD and METIS
/// nested dissection by fill, with dense BLAS kernels on the supernodes: the read network of
/// large arrays (fill O(n log n) instead of AMD's on these grid-like graphs) and blocks of
/// right-hand sides.
enum class Factorization { Simplicial, Supernodal };

/// A symmetric nodal matrix over the unknowns of a network, stamped by two-terminal branches.
/// The sparsity pattern is fixed by the branches registered before finalize(); values are
/// cleared and restamped for every refactorization, which reuses the symbolic analysis.
/// Copying redoes the symbolic analysis and the factorization of the copy (a CHOLMOD factor is
/// not copyable).
class NodalMatrix {
 public:
  explicit NodalMatrix(Eigen::Index unknowns, Factorization kind = Factorization::Simplicial)
      : n_(unknowns), kind_(kind) {}
  NodalMatrix(const NodalMatrix& other);
  NodalMatrix& operator=(const NodalMatrix& other);
  NodalMatrix(NodalMatrix&&) noexcept = default;
  NodalMatrix& operator=(NodalMatrix&&) noexcept = default;
  ~NodalMatrix() = default;

  /// Registers a branch between a and b; returns its handle for stamp().
  Eigen::Index addBranch(NodeRef a, NodeRef b);
  /// Builds the pattern and runs the symbolic analysis (once).
  void finalize();
  void setZero();
  /// Adds conductance g (S) of branch `handle` to the matrix.
  void stamp(Eigen::Index handle, double g);
  /// Numeric factorization; SimulationError if the matrix is singular or not factorizable.
  void factorize();

  [[nodiscard]] Eigen::Index size() const { return n_; }
  [[nodiscard]] const Eigen::SparseMatrix<double>& matrix() const { return a_; }
  template <typename Rhs>
  [[nodiscard]] Eigen::Matrix<double, Eigen::Dynamic, Rhs::ColsAtCompileTime> solve(
      const Eigen::MatrixBase<Rhs>& b) const {
    if (chol_) return chol_->solve(b);
    return ldlt_.solve(b);
  }

 private:
  void analyse();  ///< symbolic analysis of a_'s pattern
  struct Slots {
    Eigen::Index aa = -1, bb = -1, ab = -1, ba = -1;  ///< offsets into the value array
  };
  using Cholmod = Eigen::CholmodSupernodalLLT<Eigen::SparseMatrix<double>, Eigen::Lower>;
  Eigen::Index n_;
  Factorization kind_;
  std::vector<std::pair<NodeRef, NodeRef>> branches_;
  std::vector<Slots> slots_;
  Eigen::SparseMatrix<double> a_;
  Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>> ldlt_;
  std::unique_ptr<Cholmod> chol_;  ///< Supernodal only
  bool analysed_ = false;
  bool factorized_ = false;
};

}  // namespace ecramsim::nodal

#pragma once
/// The crossbar read network as a sparse SPD nodal system (DESIGN.md section 5).
///
/// Network: source line r is driven with input V_r through r_drv at its c = 0 end; drain line c
/// is held at 0 V through r_sense at its r = R-1 end (virtual ground, or a load resistor); cell
/// (r, c) is the linear conductance G_rc between source node (r, c) and drain node (r, c); line
/// segments join consecutive nodes. Gates take no part: their branches (leakage ~1e-12 S, ionic
/// ~1e-15 S at read voltages) are left out of the read, so the read is linear in the inputs. A
/// cubic channel term (c3) is not handled here: callers with c3 != 0 must not use this engine.
///
/// Lines may float (ReadLines, line_solver.hpp): an undriven source line ignores its input and
/// delivers no current, an unsensed drain line collects none (the sneak-path read).
///
/// Two solvers (ReadSolverKind), both exact to their stated tolerance:
/// - Exact: CHOLMOD supernodal Cholesky, the better of AMD and METIS nested dissection by fill
///   (network.hpp Factorization). The pattern is analysed at the first solve; each change of
///   conductances restamps and refactorizes numerically; each vector costs a pair of triangular
///   solves. Ideal wires (0 Ohm segments) are merged into single nodes.
/// - Fast (default): the line solver (line_solver.hpp): exact tridiagonal solves along every
///   line, iterated by line Gauss-Seidel (or CG on the drain potentials when that contracts
///   slowly) to kFastTol relative (tests/array/test_read_fast.cpp: currents within 1e-10 of
///   full scale of the exact solver, over line resistances, conductance extremes and floating
///   lines). A change of conductances only refactors the tridiagonal lines, O(R C). Geometries
///   with ideal line segments (LineSolver::supports false) use the exact solver; if the
///   iteration does not meet its tolerance within the iteration limit, the solve is redone by
///   the exact solver (counted by fallbacks()), so no unconverged answer is ever returned.
/// Because the read is linear, the column and driver currents are a fixed C x R (and R x R)
/// transfer matrix times the inputs: once a solve asks for at least R vectors (or transfer() is
/// called), the engine solves the R unit inputs, keeps the transfer matrices until the
/// conductances change, and answers every later current-only solve with a dense product (the
/// same numbers to rounding, ~1e-15 relative). Fewer vectors that span fewer dimensions than
/// their number (a voltage sweep of one row, say) are solved on an orthonormal basis of their
/// span and recombined (to rounding relative to the largest vector).

#include <Eigen/Core>
#include <Eigen/SparseCore>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <optional>

#include "array/geometry.hpp"
#include "array/line_solver.hpp"
#include "array/network.hpp"

namespace ecramsim {

/// Outcome of a read of K input vectors.
struct [[nodiscard]] ReadResult {
  Eigen::MatrixXd column_currents_a;  ///< K x C, A, current into each column's sense node
  Eigen::MatrixXd row_currents_a;     ///< K x R, A, current delivered by each source driver
  /// When requested: per input vector, R x C source-line and drain-line node potentials (V)
  /// at each cell.
  std::vector<Eigen::MatrixXd> source_v;
  std::vector<Eigen::MatrixXd> drain_v;
};

/// Read network solver (see CrossbarEngine).
enum class ReadSolverKind { Exact, Fast };

/// Parses "exact" or "fast"; InputError naming `parameter` otherwise.
[[nodiscard]] ReadSolverKind parseReadSolver(const std::string& name, const std::string& parameter);

/// Not safe for concurrent use: solve() fills the factorization and transfer-matrix caches.
/// Copyable.
class CrossbarEngine {
 public:
  /// Throws InputError for a bad geometry or line mask, or one whose wiring cannot read
  /// (Wiring::SourceCols, control/backend.hpp). Conductances start at 0 S.
  explicit CrossbarEngine(const CrossbarGeometry& geo, ReadSolverKind kind = ReadSolverKind::Fast,
                          const ReadLines& lines = {});

  /// Sets every cell's conductance (S, R x C, finite and >= 0); the next solve refactorizes.
  void setConductances(const Eigen::MatrixXd& g_s);
  /// The same from a row-major vector of R C values.
  void setConductances(std::span<const double> g_row_major_s);

  /// Solves the network for K input vectors (K x R, V on the source drivers).
  [[nodiscard]] ReadResult solve(const Eigen::MatrixXd& inputs_v,
                                 bool with_node_voltages = false) const;
  /// A/V, C x R: column currents per unit input on each row (computed once per conductance
  /// setting; throws Interrupted between blocks or sweeps when globalCancelToken() is set).
  /// Fast: the line solver's fused transfer (LineSolver::transfer()), or where that declines
  /// (slow contraction) or setFusedTransfer(false), the R unit inputs by the solver of solve()
  /// in blocks of kFastBlock; exact: R solves in blocks of kTransferBlock.
  [[nodiscard]] const Eigen::MatrixXd& transfer() const;
  /// A, K x C: the ideal product I_c = sum_r G_rc V_r (no wires, perfect virtual ground).
  [[nodiscard]] Eigen::MatrixXd ideal(const Eigen::MatrixXd& inputs_v) const;

  [[nodiscard]] const CrossbarGeometry& geometry() const { return geo_; }
  [[nodiscard]] const Eigen::MatrixXd& conductances() const { return g_; }
  /// Number of numeric factorizations (exact) or line factorizations (fast) so far: one per
  /// conductance setting that was solved with (the symbolic analysis is done once).
  [[nodiscard]] long long factorizations() const { return factorizations_; }
  /// The solver asked for, and the one used (Exact when the geometry has ideal segments).
  [[nodiscard]] ReadSolverKind solver() const { return kind_; }
  [[nodiscard]] bool usesFast() const { return fast_.has_value(); }
  /// Fast solves redone by the exact solver because the iteration missed its tolerance.
  [[nodiscard]] long long fallbacks() const { return fallbacks_; }
  /// Sweeps (Gauss-Seidel) or CG iterations of the last fast solve, its slowest block.
  [[nodiscard]] int lastIterations() const { return lastIterations_; }
  /// Whether the last fast solve needed CG (line Gauss-Seidel contracting too slowly).
  [[nodiscard]] bool lastUsedCg() const { return lastUsedCg_; }
  /// Caps the fast solver's iterations per block (default kFastMaxIterations, >= 1): a solve
  /// that needs more is redone by the exact solver.
  void setFastIterationLimit(int max_iterations);
  /// Whether the fast transfer() uses the line solver's fused sweeps (default true) or solves
  /// the unit inputs as K vectors (the reference for the fused path; same tolerance).
  void setFusedTransfer(bool fused);
  /// Number of unknown node potentials after ideal wires were merged.
  [[nodiscard]] Eigen::Index unknowns() const { return net_.unknowns(); }

 private:
  /// Fast solver's relative tolerance and iteration cap (see the class comment).
  static constexpr double kFastTol = 1e-12;
  static constexpr int kFastMaxIterations = 1000;
  /// Vectors handed to the fast solver at a time (its fields of R C kFastBlock doubles).
  static constexpr Eigen::Index kFastBlock = 32;

  void refactor() const;  ///< exact: pattern analysis (once), restamp, numeric factorization
  void prepareFast() const;
  /// Currents (and node voltages) of K vectors, by the fast solver when it converges.
  [[nodiscard]] ReadResult solveDirect(const Eigen::MatrixXd& inputs_v,
                                       bool with_node_voltages) const;
  [[nodiscard]] ReadResult solveExact(const Eigen::MatrixXd& inputs_v,
                                      bool with_node_voltages) const;

  using SpMat = Eigen::SparseMatrix<double, Eigen::RowMajor>;
  CrossbarGeometry geo_;
  ReadSolverKind kind_;
  ReadLines lines_;
  nodal::CrossbarNet net_;
  mutable std::optional<nodal::NodalMatrix> matrix_;  ///< exact solver, built at first use
  mutable bool exactValid_ = false;   ///< matrix_ factorized for g_
  mutable std::optional<LineSolver> fast_;
  mutable bool fastValid_ = false;    ///< fast_ factorized for g_
  mutable std::vector<Eigen::Index> lineBranch_;  ///< handles of the line resistors
  mutable std::vector<Eigen::Index> cellBranch_;  ///< handle of cell (r, c), row-major
  Eigen::MatrixXd g_;
  // Exact solver, per conductance setting:
  mutable SpMat rhsKnown_;   ///< unknowns x R: right-hand side per source-line input
  mutable SpMat colFromU_;   ///< C x unknowns, column currents from unknown potentials
  mutable SpMat colFromK_;   ///< C x R
  mutable SpMat rowFromU_;   ///< R x unknowns, source-driver currents
  mutable SpMat rowFromK_;   ///< R x R
  mutable long long factorizations_ = 0;
  mutable long long fallbacks_ = 0;
  mutable int lastIterations_ = 0;
  mutable bool lastUsedCg_ = false;
  int fastMaxIterations_ = kFastMaxIterations;
  bool fusedTransfer_ = true;
  static constexpr Eigen::Index kTransferBlock = 64;  ///< unit inputs solved per block
  mutable bool transferValid_ = false;
  mutable Eigen::MatrixXd transferCol_;  ///< C x R
  mutable Eigen::MatrixXd transferRow_;  ///< R x R
};

}  // namespace ecramsim

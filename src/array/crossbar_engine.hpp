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
/// Cost: the pattern is analysed once (CHOLMOD supernodal Cholesky, the better of AMD and METIS
/// nested dissection by fill; network.hpp Factorization) in the constructor; each
/// setConductances() restamps the values and refactorizes numerically; each solve() is one pair
/// of triangular solves per input vector. Because the read is linear, the column and driver
/// currents are a fixed C x R (and R x R) transfer matrix times the inputs: once a solve asks
/// for at least R vectors (or transfer() is called), the engine solves the R unit inputs, keeps
/// the transfer matrices until the conductances change, and answers every later current-only
/// solve with a dense product (the same numbers to rounding, ~1e-15 relative).

#include <Eigen/Core>
#include <Eigen/SparseCore>
#include <memory>
#include <span>
#include <vector>

#include "array/geometry.hpp"
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

/// Not safe for concurrent use: solve() fills the transfer-matrix cache. Copyable.
class CrossbarEngine {
 public:
  /// Throws InputError for a bad geometry or one whose wiring cannot read (Wiring::SourceCols,
  /// control/backend.hpp). Conductances start at 0 S.
  explicit CrossbarEngine(const CrossbarGeometry& geo);

  /// Sets every cell's conductance (S, R x C, finite and >= 0) and refactorizes.
  void setConductances(const Eigen::MatrixXd& g_s);
  /// The same from a row-major vector of R C values.
  void setConductances(std::span<const double> g_row_major_s);

  /// Solves the network for K input vectors (K x R, V on the source drivers).
  [[nodiscard]] ReadResult solve(const Eigen::MatrixXd& inputs_v,
                                 bool with_node_voltages = false) const;
  /// A/V, C x R: column currents per unit input on each row (computed once per conductance
  /// setting, R solves in blocks of kTransferBlock; throws Interrupted between blocks when
  /// globalCancelToken() is set).
  [[nodiscard]] const Eigen::MatrixXd& transfer() const;
  /// A, K x C: the ideal product I_c = sum_r G_rc V_r (no wires, perfect virtual ground).
  [[nodiscard]] Eigen::MatrixXd ideal(const Eigen::MatrixXd& inputs_v) const;

  [[nodiscard]] const CrossbarGeometry& geometry() const { return geo_; }
  [[nodiscard]] const Eigen::MatrixXd& conductances() const { return g_; }
  /// Number of numeric factorizations so far (the symbolic analysis is done once).
  [[nodiscard]] long long factorizations() const { return factorizations_; }
  /// Number of unknown node potentials after ideal wires were merged.
  [[nodiscard]] Eigen::Index unknowns() const { return net_.unknowns(); }

 private:
  void refactor();

  using SpMat = Eigen::SparseMatrix<double, Eigen::RowMajor>;
  CrossbarGeometry geo_;
  nodal::CrossbarNet net_;
  nodal::NodalMatrix matrix_;
  std::vector<Eigen::Index> lineBranch_;  ///< handles of the line resistors
  std::vector<Eigen::Index> cellBranch_;  ///< handle of cell (r, c), row-major
  Eigen::MatrixXd g_;
  SpMat rhsKnown_;   ///< unknowns x terminals: right-hand side per known potential
  SpMat colFromU_;   ///< C x unknowns, column currents from unknown potentials
  SpMat colFromK_;   ///< C x terminals
  SpMat rowFromU_;   ///< R x unknowns, source-driver currents
  SpMat rowFromK_;   ///< R x terminals
  long long factorizations_ = 0;
  static constexpr Eigen::Index kTransferBlock = 64;  ///< unit inputs solved per block
  mutable bool transferValid_ = false;
  mutable Eigen::MatrixXd transferCol_;  ///< C x R
  mutable Eigen::MatrixXd transferRow_;  ///< R x R
};

}  // namespace ecramsim

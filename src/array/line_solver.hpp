#pragma once
/// Structure-aware solver of the crossbar read network (the network of crossbar_engine.hpp,
/// with any source line undriven or drain line unsensed, i.e. floating).
///
/// Each source line and each drain line alone is a tridiagonal system (its segments, its driver
/// or sense resistance, and its cells' conductances on the diagonal); cell (r, c) couples
/// source node (r, c) to drain node (r, c) only. Eliminating the source lines leaves the drain
/// potentials d with the SPD Schur complement
///     S d = A_DD d - G A_SS^-1 G d = b_D + G A_SS^-1 b_S.
/// Two iterations on it, both built from exact line solves (Thomas algorithm, factors computed
/// once per conductance setting):
/// 1. Line Gauss-Seidel: S = A_SS^-1 (b_S + G D), D = A_DD^-1 (b_D + G S), repeated. Its
///    contraction rho < 1 is small when the line resistances are small against the cell
///    resistances (shipped lines, 2 Ohm segments and 20 Ohm drivers against cells >= 4 kOhm:
///    3-5 sweeps at 128 x 128, about 15 at 512 x 512). A vector stops when the estimated
///    remaining error, step rho / (1 - rho) with rho the ratio of its last two steps, is within
///    rel_tol of its largest drain potential.
/// 2. When rho exceeds kMaxContraction (long or resistive lines, large conductances, floating
///    lines) or sweeps run out: conjugate gradients on S d = ... preconditioned with the drain
///    line solves A_DD^-1 (whose preconditioned operator has eigenvalues in (1 - rho, 1]), until
///    the preconditioned residual norm is within rel_tol of its initial value, confirmed on the
///    true residual.
/// K right-hand sides are iterated together, node-major with the K values of a node contiguous
/// (blocks of 32, 16, 8, 4 or 1 vectors), each with its own stopping test. Cost per sweep or
/// iteration: a few passes over R C K doubles; memory: up to seven fields of R C K doubles.
///
/// transfer() solves the R unit inputs by the same line Gauss-Seidel in fused sweeps: the drain
/// lines are factorized both ways, top-down (LU) and bottom-up (UL), so that one pass over the
/// rows, alternately bottom-up and top-down, does the back substitution of one sweep's drain
/// solve, the next sweep's source-line solve of the same row and that sweep's drain elimination
/// while the row is in cache: per sweep, one read and one write of two fields (R C W doubles
/// each, blocks of W = kTransferWidth unit inputs) instead of about ten field passes.
///
/// A driver (sense) resistance of 0 pins its end node to the input (to 0 V); segment
/// resistances must be > 0 (supports()): ideal wires merge nodes, which the exact engine does.

#include <Eigen/Core>
#include <vector>

#include "array/geometry.hpp"

namespace ecramsim {

/// Which read lines have a driver (source lines) or a sense node (drain lines); the others
/// float. Empty vectors mean every line.
struct ReadLines {
  std::vector<bool> source_driven;  ///< R entries, or empty
  std::vector<bool> drain_sensed;   ///< C entries, or empty
};

class LineSolver {
 public:
  /// True when the geometry has no ideal line segment (r_row_seg > 0 unless C = 1, r_col_seg > 0
  /// unless R = 1).
  [[nodiscard]] static bool supports(const CrossbarGeometry& geo);

  /// `geo` must satisfy supports(); `lines` as ReadLines says (sizes checked by the caller).
  LineSolver(const CrossbarGeometry& geo, const ReadLines& lines);

  /// Factorizes every line for conductances `g_s` (R x C, S, finite and >= 0, checked by the
  /// caller). Throws SimulationError when a line is singular (a floating line whose cells are
  /// all 0 S).
  void setConductances(const Eigen::MatrixXd& g_s);

  struct Outcome {
    Eigen::MatrixXd column_currents_a;  ///< K x C, A, into each sense node (0 when unsensed)
    Eigen::MatrixXd row_currents_a;     ///< K x R, A, out of each driver (0 when undriven)
    std::vector<Eigen::MatrixXd> source_v, drain_v;  ///< per vector, R x C, when asked
    int iterations = 0;                 ///< sweeps or CG iterations of the slowest block
    bool conjugate_gradients = false;   ///< some block needed CG (Gauss-Seidel too slow)
    bool converged = false;             ///< every right-hand side met the tolerance
  };
  /// Solves for K input vectors (K x R, V; inputs on undriven rows are ignored) to `rel_tol`
  /// (see the file comment), with at most `max_iterations` sweeps or CG iterations per block;
  /// converged = false when a block missed the tolerance: the caller must not use the result.
  /// Throws Interrupted between iterations when globalCancelToken() is set. Not safe for
  /// concurrent use (the fields are kept between solves).
  [[nodiscard]] Outcome solve(const Eigen::MatrixXd& inputs_v, bool with_node_voltages,
                              double rel_tol, int max_iterations) const;

  /// The R unit inputs (1 V on one source line, 0 V on the others; row k of the currents is
  /// the input on line k, zero for an undriven line) by fused line Gauss-Seidel (file
  /// comment), same stopping test as solve(), at most min(kMaxSweeps, max_iterations) sweeps.
  /// converged = false (the result unusable) as soon as a block contracts more slowly than
  /// kMaxContraction or runs out of sweeps: the caller then uses solve(), which has CG.
  /// Throws Interrupted between sweeps when globalCancelToken() is set.
  [[nodiscard]] Outcome transfer(double rel_tol, int max_iterations) const;

 private:
  using Index = Eigen::Index;
  /// Tridiagonal LDL^T of one kind of line, per node (index r C + c).
  struct LineFactors {
    std::vector<double> m;     ///< forward multiplier from the previous node of the line
    std::vector<double> invd;  ///< inverse pivot
    std::vector<double> u;     ///< backward multiplier from the next node of the line
  };
  /// Factorizes lines of `count` nodes starting at node `first + j * lineStride`, node i of a
  /// line at `+ i * nodeStride`, with diagonal `a` and coupling `e` (node i to i + 1).
  /// With `reverse`, the lines are factorized from their last node to their first (UL):
  /// m from the next node, u to the previous node.
  static void factorLines(Index lines, Index count, Index lineStride, Index nodeStride,
                          const std::vector<double>& a, const std::vector<double>& e,
                          LineFactors& f, const char* kind, bool reverse = false);
  /// One fused sweep of transfer() over the rows, top-down (`down`) or bottom-up: per row,
  /// d = the drain back substitution of y (not in the `first` sweep: d stays 0), the source
  /// line from d (in `t`, one line; row R - 1 copied to sLast; `zero`: a line of zeros), the
  /// driver currents into rowI (R x W), and y = the drain elimination of (b_D + G s) in the
  /// pass direction. step, scale (W): max |d' - d|, max |d'| per vector.
  template <int W>
  void transferPass(bool down, bool first, const double* vin, const double* bs, const double* bd,
                    double* y, double* d, double* t, const double* zero, double* sLast,
                    double* rowI, double* step, double* scale) const;
  template <int W>
  bool transferBlock(Index k0, double rel_tol, int max_sweeps, Outcome& out) const;
  /// One block of at most W input vectors (rows k0 .. k0 + W - 1 of inputs_v, zero-padded),
  /// fields W wide; fills rows k0.. of `out`.
  template <int W>
  void solveBlock(const Eigen::MatrixXd& inputs_v, Eigen::Index k0, bool with_node_voltages,
                  double rel_tol, int max_iterations, Outcome& out) const;
  /// Line Gauss-Seidel from the drain potentials in work_.x (source potentials in work_.t),
  /// with the input terms bs (sourceRhs) and bd (drainRhs);
  /// true when every vector's estimated remaining error is within rel_tol of its largest drain
  /// potential, false (work_ then undefined) when the contraction exceeds kMaxContraction or
  /// after max_sweeps.
  template <int W>
  bool gaussSeidel(const std::vector<double>& bs, const std::vector<double>& bd, double rel_tol,
                   int max_sweeps, Outcome& out) const;
  /// Source potentials from the drain potentials work_.x, then currents (and node voltages)
  /// of vectors k0 .. k0 + kk - 1.
  template <int W>
  void finish(const std::vector<double>& vin, const std::vector<double>& bs, Eigen::Index k0,
              Eigen::Index kk, bool with_node_voltages, Outcome& out) const;
  /// W-wide fields: out = A_SS^-1 (G o in + b) over every source line; `in` null for 0, `b`
  /// (R x 2 x W, the terms of nodes c = 0 and 1, sourceRhs) null for 0.
  template <int W>
  void sourceSolve(const double* in, const double* b, double* out) const;
  /// In place: z <- A_DD^-1 z over every drain line; dot_j = res_j . z_j.
  template <int W>
  void drainSolve(double* z, const double* res, double* dot) const;
  /// The input terms (inputs row-major R x W) of the source lines (R x 2 x W: nodes c = 0, 1),
  /// resp. of the drain nodes (r, 0) under a pinned source node (R x W).
  template <int W>
  std::vector<double> sourceRhs(const std::vector<double>& vin) const;
  template <int W>
  std::vector<double> drainRhs(const std::vector<double>& vin) const;

  static constexpr int kMaxSweeps = 60;
  static constexpr double kMaxContraction = 0.3;
  /// Unit inputs per fused transfer block (two fields of R C kTransferWidth doubles).
  static constexpr int kTransferWidth = 16;

  /// Fields of the current block, kept between solves (no page faults per block).
  struct Workspace {
    std::vector<double> x, t, r, z, p, q, rhs;
    /// transfer(): one source line, a line of zeros, row R - 1's source line, row currents
    std::vector<double> s, zero, sLast, rowI;
  };
  mutable Workspace work_;

  CrossbarGeometry geo_;
  std::vector<bool> driven_, sensed_;  ///< per source line, per drain line
  std::vector<bool> pinS_, pinD_;      ///< line end node pinned (driver or sense of 0 Ohm)
  double gRow_ = 0.0, gCol_ = 0.0, gDrv_ = 0.0, gSense_ = 0.0;  ///< S
  std::vector<double> g_;        ///< S, cell conductances, row-major
  std::vector<double> couple_;   ///< S, cell coupling between unpinned nodes (else 0)
  std::vector<double> aD_, eD_;  ///< drain-line diagonal and coupling to the next row
  LineFactors fs_, fd_;          ///< source lines, drain lines
  LineFactors fdUp_;             ///< drain lines factorized bottom-up (transfer())
};

}  // namespace ecramsim

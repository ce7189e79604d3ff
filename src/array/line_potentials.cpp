#include "array/line_potentials.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"

namespace ecramsim {

namespace {

using Index = Eigen::Index;
constexpr int kMaxPasses = 50;

class LadderLineModel final : public WriteLineModel {
 public:
  explicit LadderLineModel(const CrossbarGeometry& geo) : geo_(geo) { geo_.validate(); }
  [[nodiscard]] Index rows() const override { return geo_.rows; }
  [[nodiscard]] Index cols() const override { return geo_.cols; }
  void phaseTerminals(const Eigen::MatrixXd& g, Index row, double amplitude_v,
                      const std::vector<bool>& active, const BiasScheme& scheme,
                      PhaseTerminals& t) const override {
    ladderPotentials(geo_, g, row, amplitude_v, active, scheme, t);
  }

 private:
  CrossbarGeometry geo_;
};

}  // namespace

void ladderPotentials(const CrossbarGeometry& geo, const Eigen::MatrixXd& g, Index row,
                      double amplitude_v, const std::vector<bool>& active,
                      const BiasScheme& scheme, PhaseTerminals& t) {
  const Index R = geo.rows, C = geo.cols;
  if (g.rows() != R || g.cols() != C || static_cast<Index>(active.size()) != C || row < 0 ||
      row >= R) {
    throw InputError({}, "line potentials",
                     "conductances, active columns and row must fit the " + std::to_string(R) +
                         " x " + std::to_string(C) + " array");
  }
  if (scheme.unselected == UnselectedLines::Floating) {
    throw InputError({}, "--unselected",
                     "the ladder line model needs grounded unselected lines (floating lines "
                     "need the circuit's double-layer transient)");
  }
  const BiasLevels lv = biasLevels(scheme, amplitude_v);
  t.vg.setConstant(R, C, lv.gate_unselected_v);
  t.vg.row(row).setConstant(lv.gate_selected_v);
  Eigen::RowVectorXd drain(C);
  for (Index c = 0; c < C; ++c) {
    drain(c) = active[std::size_t(c)] ? lv.drain_selected_v : lv.drain_unselected_v;
  }
  if (geo.wiring == Wiring::SourceCols) {
    // Drain and source line of a column at one level: no channel current, no drop.
    t.vd = drain.replicate(R, 1);
    t.vs = t.vd;
    return;
  }
  Eigen::VectorXd source = Eigen::VectorXd::Constant(R, lv.source_unselected_v);
  source(row) = lv.source_selected_v;
  settleLines(geo, g, drain, source, t.vd, t.vs);
}

void settleLines(const CrossbarGeometry& geo, const Eigen::MatrixXd& g,
                 const Eigen::RowVectorXd& drain, const Eigen::VectorXd& source,
                 Eigen::MatrixXd& vd, Eigen::MatrixXd& vs, double tol) {
  const Index R = g.rows(), C = g.cols();
  if (vd.rows() != R || vd.cols() != C || vs.rows() != R || vs.cols() != C) {
    vs = source.replicate(1, C);
    vd = drain.replicate(R, 1);
  }
  Eigen::MatrixXd j(R, C);
  for (int pass = 0; pass < kMaxPasses; ++pass) {
    // Channel currents, drain to source (into the source node, out of the drain node).
    j = g.cwiseProduct(vd - vs);
    double moved = 0.0;
    // Source lines, driven at c = 0: the segment into node c carries the current beyond it.
    for (Index r = 0; r < R; ++r) {
      double beyond = j.row(r).sum();
      double v = source(r) + geo.r_drv * beyond;
      for (Index c = 0; c < C; ++c) {
        if (c > 0) v += geo.r_row_seg * beyond;
        moved = std::max(moved, std::fabs(v - vs(r, c)));
        vs(r, c) = v;
        beyond -= j(r, c);
      }
    }
    // Drain lines, driven at r = R - 1: the current leaving the line is -sum j.
    for (Index c = 0; c < C; ++c) {
      double beyond = -j.col(c).sum();
      double v = drain(c) + geo.r_drv * beyond;
      for (Index r = R - 1; r >= 0; --r) {
        if (r < R - 1) v += geo.r_col_seg * beyond;
        moved = std::max(moved, std::fabs(v - vd(r, c)));
        vd(r, c) = v;
        beyond += j(r, c);
      }
    }
    if (moved < tol) return;
  }
  throw SimulationError("line potentials: the ladder sums did not settle");
}

std::unique_ptr<WriteLineModel> makeLadderLineModel(const CrossbarGeometry& geo) {
  return std::make_unique<LadderLineModel>(geo);
}

}  // namespace ecramsim

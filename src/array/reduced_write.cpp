#include "array/reduced_write.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "array/cell_array.hpp"
#include "array/tile_writes.hpp"
#include "array/line_potentials.hpp"
#include "core/error.hpp"
#include "device/integrate.hpp"
#include "device/physics.hpp"

namespace ecramsim {

namespace {

using Index = Eigen::Index;

/// 1, a disturbed cell that moves by at most this over a segment takes one explicit step of its
/// rate (NodalBackend's fast path does the same); larger changes are integrated.
constexpr double kSmallStep = 1e-6;
/// 1, a disturbed cell's gate current is taken without the electrolyte's series resistance when
/// the drop |I| rs it neglects is below this fraction of v0 (the current's relative error is
/// about the same fraction); otherwise the full physics::gateCurrentAt is evaluated.
constexpr double kRsNeglect = 1e-6;
/// Tolerances of the selected cells' integration: 1e-6 of a pulse's change, as NodalBackend's
/// fast path, far below the 2 % the model is held to.
constexpr Tolerances kTol{1e-10, 1e-6};

/// A, the ionic current of a disturbed cell: physics::gateCurrentAt(p, us, ud, x).total(),
/// with the rs drop neglected where it is below kRsNeglect v0 (`noRs`: p with rs = 0, the
/// same quadrature order), which saves the implicit solve of each quadrature node.
double disturbIonicCurrent(const CellParams& p, const CellParams& noRs, double us, double ud,
                           double x) {
  if (p.rs <= 0.0 || p.gate == GateModel::TwoPoint || us == ud) {
    return physics::gateCurrentAt(p, us, ud, x).total();
  }
  const double i = physics::gateQuadrature(noRs, us, ud, x, p.gate_points).total();
  if (std::fabs(i) * p.rs <= kRsNeglect * p.v0) return i;
  return physics::gateCurrentAt(p, us, ud, x).total();
}

}  // namespace

void checkReducedTile(const std::vector<CellParams>& cells, const CrossbarGeometry& geo) {
  geo.validate();
  if (geo.wiring != Wiring::SourceRows) {
    throw InputError({}, "--write-model",
                     "the reduced write model knows source lines along the rows only "
                     "(--wiring source-rows); use --write-model circuit");
  }
  if (static_cast<Index>(cells.size()) != geo.cells()) {
    throw InputError({}, "cells", "the reduced write model needs one parameter set per cell");
  }
  for (const CellParams& p : cells) {
    if (p.c3 != 0.0) {
      throw InputError({}, "c3", "the reduced write model needs a linear channel (c3 = 0)");
    }
  }
}

ReducedWriteModel::ReducedWriteModel(std::vector<CellParams> cells, const CrossbarGeometry& geo,
                                     double c2c)
    : cells_(std::move(cells)), cellsNoRs_(cells_), geo_(geo), c2c_(c2c) {
  checkReducedTile(cells_, geo_);
  for (CellParams& p : cellsNoRs_) p.rs = 0.0;
}

void ReducedWriteModel::refresh(const Eigen::MatrixXd& x) {
  validateStates(x, geo_.rows, geo_.cols);
  g_.resize(geo_.rows, geo_.cols);
  for (Index r = 0; r < geo_.rows; ++r) {
    for (Index c = 0; c < geo_.cols; ++c) g_(r, c) = physics::conductance(cell(r, c), x(r, c));
  }
}

void ReducedWriteModel::restore(const Checkpoint& cp, const std::string& prefix) {
  const bool saved = !cp.at(prefix + "g").empty();
  g_ = saved ? cp.matrix(prefix + "g", geo_.rows, geo_.cols) : Eigen::MatrixXd();
}

ReducedWriteModel::Potentials ReducedWriteModel::phasePotentials(Index row, double amplitude_v,
                                                                 const std::vector<bool>& active,
                                                                 const BiasScheme& scheme) const {
  if (!refreshed()) throw InputError({}, "reduced write model", "refresh() before use");
  requireGroundedLines(scheme);
  Potentials p;
  ladderPotentials(geo_, g_, row, amplitude_v, active, scheme, p);
  return p;
}

void requireGroundedLines(const BiasScheme& scheme) {
  if (scheme.unselected == UnselectedLines::Floating) {
    throw InputError({}, "--write-model",
                     "the reduced write models need grounded unselected lines (floating lines "
                     "need the circuit's double-layer transient: use --write-model circuit)");
  }
}

ReducedWriteResult ReducedWriteModel::apply(std::span<const PulseRequest> pulses,
                                            const BiasScheme& scheme, Eigen::MatrixXd& x,
                                            Rng& rng) const {
  validatePulses(pulses, geo_.rows, geo_.cols);
  validateStates(x, geo_.rows, geo_.cols);
  const Index R = geo_.rows, C = geo_.cols;
  ReducedWriteResult out;
  for (const WritePhase& ph : groupIntoPhases(pulses, PulseOrder::RowParallel)) {
    std::vector<double> widths;
    for (std::size_t k : ph.pulses) widths.push_back(pulses[k].width_s);
    std::sort(widths.begin(), widths.end());
    widths.erase(std::unique(widths.begin(), widths.end()), widths.end());
    const Eigen::MatrixXd x0 = x;
    double t = 0.0;
    for (double end : widths) {
      const double dt = end - t;
      std::vector<bool> active(std::size_t(C), false);
      for (std::size_t k : ph.pulses) {
        if (pulses[k].width_s >= end) active[std::size_t(pulses[k].col)] = true;
      }
      const Potentials p = phasePotentials(ph.row, ph.amplitude_v, active, scheme);
      // Cells off the selected row and the active columns sit at gate-to-channel voltages of
      // 0 V (V/2) plus line drops of millivolts: without retention they are left alone (see
      // the header).
      const BiasLevels lv = biasLevels(scheme, ph.amplitude_v);
      const bool idleAtRest = lv.gate_unselected_v == lv.source_unselected_v &&
                              lv.gate_unselected_v == lv.drain_unselected_v;
      for (Index r = 0; r < R; ++r) {
        for (Index c = 0; c < C; ++c) {
          const CellParams& cp = cell(r, c);
          double& xc = x(r, c);
          const bool rowSel = r == ph.row, colSel = active[std::size_t(c)];
          if (!rowSel && !colSel && idleAtRest && cp.tau_ret <= 0.0) continue;
          if (rowSel && colSel) {
            xc = advanceHeld(cp, xc, {p.vg(r, c), p.vd(r, c), p.vs(r, c)}, dt, kTol).x;
          } else {
            const double vg = p.vg(r, c);
            const double ion = disturbIonicCurrent(
                cp, cellsNoRs_[std::size_t(r * C + c)], vg - p.vs(r, c), vg - p.vd(r, c), xc);
            const double dx = physics::stateRate(cp, xc, ion) * dt;
            xc = std::fabs(dx) <= kSmallStep
                     ? std::clamp(xc + dx, 0.0, 1.0)
                     : advanceHeld(cp, xc, {p.vg(r, c), p.vd(r, c), p.vs(r, c)}, dt, kTol).x;
          }
        }
      }
      // Dissipation in channels, line segments and drivers (= the drivers' power).
      const Eigen::MatrixXd vds = p.vd - p.vs;
      double power = g_.cwiseProduct(vds.cwiseAbs2()).sum();
      const Eigen::MatrixXd j = g_.cwiseProduct(vds);
      for (Index r = 0; r < R; ++r) {
        double beyond = j.row(r).sum();
        power += geo_.r_drv * beyond * beyond;
        for (Index c = 0; c + 1 < C; ++c) {
          beyond -= j(r, c);
          power += geo_.r_row_seg * beyond * beyond;
        }
      }
      for (Index c = 0; c < C; ++c) {
        double beyond = j.col(c).sum();
        power += geo_.r_drv * beyond * beyond;
        for (Index r = R - 1; r > 0; --r) {
          beyond -= j(r, c);
          power += geo_.r_col_seg * beyond * beyond;
        }
      }
      out.energy_j += power * dt;
      t = end;
    }
    for (std::size_t k : ph.pulses) {
      const Index r = pulses[k].row, c = pulses[k].col;
      x(r, c) = std::clamp(x0(r, c) + cycleNoise(x(r, c) - x0(r, c), c2c_, rng), 0.0, 1.0);
    }
    out.duration_s += widths.back();
    ++out.phases;
  }
  return out;
}

std::unique_ptr<TileWriteModel> makeReducedTileWrites(const ArrayBackend& tile, Rng& rng) {
  return makeCellTileWrites<ReducedWriteModel>(tile, rng, "the reduced write model");
}

}  // namespace ecramsim

#include "array/nodal_backend.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "device/physics.hpp"

namespace ecramsim {

namespace {

using Index = Eigen::Index;



}  // namespace

NodalBackend::NodalBackend(const EcramParams& p, const CrossbarGeometry& geo, Rng& rng,
                           const NodalOptions& options)
    : geo_(checkedForLinearRead(geo, p, "nodal engine")),
      c2c_(p.dg_c2c),
      rng_(rng),
      options_(options),
      x_(Eigen::MatrixXd::Constant(geo.rows, geo.cols, p.x0)),
      engine_(geo),
      writer_(geo) {
  cells_.reserve(static_cast<std::size_t>(geo_.cells()));
  for (Index k = 0; k < geo_.cells(); ++k) cells_.push_back(cellParams(p, drawVariation(p, rng_)));
}

const CellParams& NodalBackend::cell(Index r, Index c) const {
  return cells_[static_cast<std::size_t>(r * geo_.cols + c)];
}

Eigen::MatrixXd NodalBackend::probeConductances() const {
  Eigen::MatrixXd g(geo_.rows, geo_.cols);
  for (Index r = 0; r < geo_.rows; ++r) {
    for (Index c = 0; c < geo_.cols; ++c) g(r, c) = physics::conductance(cell(r, c), x_(r, c));
  }
  return g;
}

ReadResult NodalBackend::read(const Eigen::MatrixXd& inputs_v) {
  if (engineStale_) {
    engine_.setConductances(probeConductances());
    engineStale_ = false;
  }
  ReadResult res = engine_.solve(inputs_v);
  const auto k = static_cast<double>(inputs_v.rows());
  counters_.reads += inputs_v.rows();
  counters_.elapsed_s += k * options_.read_time_s;
  counters_.energy_j += (inputs_v.array() * res.row_currents_a.array()).sum() * options_.read_time_s;
  return res;
}

Eigen::MatrixXd NodalBackend::vmm(const Eigen::MatrixXd& inputs_v) {
  return read(inputs_v).column_currents_a;
}

Eigen::MatrixXd NodalBackend::readConductances(double read_v) {
  if (!std::isfinite(read_v) || read_v == 0.0) {
    throw InputError({}, "read_v", "read voltage must be finite and nonzero");
  }
  const Eigen::MatrixXd inputs = read_v * Eigen::MatrixXd::Identity(geo_.rows, geo_.rows);
  return read(inputs).column_currents_a / read_v;
}

void NodalBackend::setStates(const Eigen::MatrixXd& x) {
  validateStates(x, geo_.rows, geo_.cols);
  x_ = x;
  engineStale_ = true;
}

PulseBatchResult NodalBackend::applyPulses(std::span<const PulseRequest> pulses,
                                           const BiasScheme& scheme, PulseOrder order) {
  const Index R = geo_.rows, C = geo_.cols;
  validatePulses(pulses, R, C);

  PulseBatchResult out;
  const Eigen::MatrixXd xStart = x_;
  out.cell_energy_j = Eigen::MatrixXd::Zero(R, C);
  const bool floating = scheme.unselected == UnselectedLines::Floating;

  for (const WritePhase& ph : groupIntoPhases(pulses, order)) {
    const BiasLevels lv = biasLevels(scheme, ph.amplitude_v);
    const Eigen::MatrixXd x0 = x_;
    std::vector<double> bounds;
    for (std::size_t k : ph.pulses) bounds.push_back(pulses[k].width_s);
    std::sort(bounds.begin(), bounds.end());
    bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());

    LineDrive drive;
    drive.gate_v = Eigen::VectorXd::Constant(R, lv.gate_unselected_v);
    drive.gate_v(ph.row) = lv.gate_selected_v;
    drive.gate_driven.assign(std::size_t(R), !floating);
    drive.gate_driven[std::size_t(ph.row)] = true;
    drive.source_v = Eigen::VectorXd::Constant(R, lv.source_v);
    drive.drain_v.resize(C);
    drive.drain_driven.resize(std::size_t(C));

    Eigen::MatrixXd uPrev = Eigen::MatrixXd::Zero(R, C);
    std::vector<PulseLog> logs;
    for (std::size_t k : ph.pulses) {
      const PulseRequest& p = pulses[k];
      // energy_j holds the cell's energy before the phase until the phase is complete.
      logs.push_back({p.row, p.col, p.amplitude_v, p.width_s, counters_.elapsed_s,
                      x0(p.row, p.col), 0.0, 0.0, 0.0, out.cell_energy_j(p.row, p.col)});
    }
    double t = 0.0;
    for (double end : bounds) {
      const double dt = end - t;
      std::vector<bool> active(std::size_t(C), false);
      for (std::size_t k : ph.pulses) {
        if (pulses[k].width_s >= end) active[std::size_t(pulses[k].col)] = true;
      }
      for (Index c = 0; c < C; ++c) {
        const bool a = active[std::size_t(c)];
        drive.drain_v(c) = a ? lv.drain_selected_v : lv.drain_unselected_v;
        drive.drain_driven[std::size_t(c)] = a || !floating;
      }
      lastOp_ = writer_.solve(cells_, x_, drive);
      const WriteOperatingPoint& op = lastOp_;
      double charging = 0.0;
      for (Index r = 0; r < R; ++r) {
        for (Index c = 0; c < C; ++c) {
          const CellParams& cp = cell(r, c);
          const Terminals term{op.vg(r, c), op.vd(r, c), op.vs(r, c)};
          x_(r, c) = advanceHeld(cp, x_(r, c), term, dt, options_.tol).x;
          const double u = term.vg - 0.5 * (term.vd + term.vs);
          const double q = std::max(cp.c_dl * (u - uPrev(r, c)) * u, 0.0);
          uPrev(r, c) = u;
          charging += q;
          out.cell_energy_j(r, c) += op.cell_power_w(r, c) * dt + q;
        }
      }
      out.energy_j += op.driver_power_w * dt + charging;
      if (t == 0.0) {
        for (PulseLog& log : logs) {
          log.v_gs_v = op.vg(log.row, log.col) - op.vs(log.row, log.col);
          log.v_gd_v = op.vg(log.row, log.col) - op.vd(log.row, log.col);
        }
      }
      t = end;
    }
    for (PulseLog& log : logs) {
      const Index r = log.row, c = log.col;
      x_(r, c) = std::clamp(x0(r, c) + cycleNoise(x_(r, c) - x0(r, c), c2c_, rng_), 0.0, 1.0);
      log.x_after = x_(r, c);
    }
    for (PulseLog& log : logs) log.energy_j = out.cell_energy_j(log.row, log.col) - log.energy_j;
    const double duration = bounds.back();
    counters_.elapsed_s += duration;
    out.duration_s += duration;
    out.pulses.insert(out.pulses.end(), logs.begin(), logs.end());
  }
  counters_.pulses += static_cast<long long>(pulses.size());
  counters_.energy_j += out.energy_j;
  out.delta_x = x_ - xStart;
  if (!pulses.empty()) engineStale_ = true;
  return out;
}

}  // namespace ecramsim

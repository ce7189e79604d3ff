#include "array/nodal_backend.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "device/physics.hpp"

namespace ecramsim {

namespace {

using Index = Eigen::Index;

}  // namespace

NodalBackend::NodalBackend(const EcramParams& p, const CrossbarGeometry& geo, Rng& rng,
                           const NodalOptions& options)
    : CellArrayBackend(p, checkedForLinearRead(geo, p, "nodal engine"), rng),
      options_(options),
      engine_(geo.wiring == Wiring::SourceRows
                  ? std::optional<CrossbarEngine>(std::in_place, geo, options.read_solver)
                  : std::nullopt),
      writer_(geo, options.write_solver, options.threads) {}

double NodalBackend::smallStepWindow(Index k, const CellParams& p, double x, bool potentiating) {
  WindowMemo& m = windows_[std::size_t(k)];
  const double move = x - m.x;
  if (m.x >= 0.0 && m.potentiating == potentiating &&
      std::fabs(move) <= kWindowBand * std::min(m.x, 1.0 - m.x)) {
    return m.w + m.slope * move;
  }
  m = {x, physics::window(p, x, potentiating), physics::windowSlope(p, x, potentiating),
       potentiating};
  return m.w;
}

void NodalBackend::advanceCell(const WriteOperatingPoint& op, Index k, Index r, Index c,
                               double dt_s) {
  const CellParams& p = cells_[std::size_t(k)];
  double& x = x_(r, c);
  if (options_.write_solver == WriteSolverKind::Fast) {
    const double i = op.ionic_a(r, c);
    // The window from the memo first: exact enough for a small step, which most are; a larger
    // step takes the rate again with the window evaluated, unless the memo was just evaluated
    // at x (a cell that moves far does so every segment).
    double rate = physics::stateRate(p, x, i, smallStepWindow(k, p, x, i > 0.0));
    if (std::fabs(rate * dt_s) <= kSmallStep) {
      x = std::clamp(x + rate * dt_s, 0.0, 1.0);
      return;
    }
    if (windows_[std::size_t(k)].x != x) rate = physics::stateRate(p, x, i);
    const double dx = rate * dt_s;
    if (op.ionic_dx_a.size() > 0 && std::isfinite(op.ionic_dx_a(r, c))) {
      // Second-order Taylor step x + f dt + f f' dt^2 / 2 of dx/dt = f(x) at the held
      // terminals, f' by a difference of the physics' rate with the ionic current moved along
      // its x derivative; taken when its error, about |f dt| (f' dt)^2 / 6, is below
      // kTaylorTol.
      const double h = x < 0.5 ? kRateStep : -kRateStep;
      const double slope =
          (physics::stateRate(p, x + h, i + op.ionic_dx_a(r, c) * h) - rate) / h;
      const double rel = std::fabs(slope) * dt_s;
      if (rel <= 0.1 && std::fabs(dx) * rel * rel <= kTaylorTol) {
        x = std::clamp(x + dx + 0.5 * rate * slope * dt_s * dt_s, 0.0, 1.0);
        return;
      }
    }
  }
  const bool fast = options_.write_solver == WriteSolverKind::Fast;
  x = advanceHeld(p, x, {op.vg(r, c), op.vd(r, c), op.vs(r, c)}, dt_s,
                  fast ? kFastTol : options_.tol).x;
}

ReadResult NodalBackend::read(const Eigen::MatrixXd& inputs_v) {
  requireReadableWiring(geo_.wiring, "a read or a VMM");
  if (engineStale_) {
    engine_->setConductances(probeConductances());
    engineStale_ = false;
  }
  ReadResult res = engine_->solve(inputs_v);
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

void NodalBackend::logVoltages(const WriteOperatingPoint& op, std::vector<PulseLog>& logs) {
  for (PulseLog& log : logs) {
    log.v_gs_v = op.vg(log.row, log.col) - op.vs(log.row, log.col);
    log.v_gd_v = op.vg(log.row, log.col) - op.vd(log.row, log.col);
  }
}

void NodalBackend::floatingSegment(const LineDrive& drive, double duration_s, bool first,
                                   std::vector<PulseLog>& logs, PulseBatchResult& out) {
  const Index R = geo_.rows, C = geo_.cols;
  // At rest: every driver at 0 V, the same lines floating (the DC state a segment starts from).
  LineDrive rest = drive;
  rest.gate_v.setZero();
  rest.source_v.setZero();
  rest.drain_v.setZero();
  WriteOperatingPoint op = writer_.solve(cells_, x_, rest);
  DoubleLayerStep step;
  // The edge (states frozen), then steps growing by kGrowth from kFirstStep to the segment's end.
  double h = options_.edge_s;
  double t = -options_.edge_s;
  bool logged = !first;
  while (t < duration_s * (1.0 - 1e-12)) {
    step.h_s = h;
    step.vgs_prev = op.vg - op.vs;
    step.vgd_prev = op.vg - op.vd;
    op = writer_.solve(cells_, x_, drive, &step);
    out.energy_j += op.driver_power_w * h;
    if (t >= 0.0) {
      for (Index r = 0; r < R; ++r) {
        for (Index c = 0; c < C; ++c) {
          advanceCell(op, r * C + c, r, c, h);
          out.cell_energy_j(r, c) += op.cell_power_w(r, c) * h;
        }
      }
      if (!logged) {
        logVoltages(op, logs);
        logged = true;
      }
    }
    t += h;
    h = std::min(t <= 0.0 ? kFirstStep : h * kGrowth, duration_s - t);
  }
  lastOp_ = op;
}

PulseBatchResult NodalBackend::applyPulses(std::span<const PulseRequest> pulses,
                                           const BiasScheme& scheme, PulseOrder order) {
  const Index R = geo_.rows, C = geo_.cols;
  PulseBatchResult out = beginBatch(pulses, scheme);
  const Eigen::MatrixXd xStart = x_;
  windows_.resize(std::size_t(R * C));
  const bool floating = scheme.unselected == UnselectedLines::Floating;

  for (const WritePhase& ph : groupIntoPhases(pulses, order)) {
    const BiasLevels lv = biasLevels(scheme, ph.amplitude_v);
    const Eigen::MatrixXd x0 = x_;
    const std::vector<double> bounds = phaseWidths(pulses, ph);

    LineDrive drive;
    drive.gate_v = Eigen::VectorXd::Constant(R, lv.gate_unselected_v);
    drive.gate_v(ph.row) = lv.gate_selected_v;
    drive.gate_driven.assign(std::size_t(R), !floating);
    drive.gate_driven[std::size_t(ph.row)] = true;
    drive.drain_v.resize(C);
    drive.drain_driven.resize(std::size_t(C));

    Eigen::MatrixXd uPrev = Eigen::MatrixXd::Zero(R, C);
    Eigen::MatrixXd charging(R, C);  // J, per cell, of the present segment
    std::vector<PulseLog> logs = openPhase(pulses, ph, out);
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
      drive.source_v = sourceLevels(lv, ph.row, active);
      if (floating) {
        floatingSegment(drive, dt, t == 0.0, logs, out);
      } else {
        lastOp_ = writer_.solve(cells_, x_, drive, nullptr, dt);
        const WriteOperatingPoint& op = lastOp_;
        // Cells advance independently (core/parallel.hpp, a block of rows per thread); the charging
        // is summed afterwards, whatever the threads.
        forEachCell(R, C, threadsFor(std::size_t(R * C), options_.threads),
                    [&](Index k, Index r, Index c) {
                      const CellParams& cp = cells_[std::size_t(k)];
                      const Terminals term{op.vg(r, c), op.vd(r, c), op.vs(r, c)};
                      advanceCell(op, k, r, c, dt);
                      const double u = term.vg - 0.5 * (term.vd + term.vs);
                      const double q = std::max(cp.c_dl * (u - uPrev(r, c)) * u, 0.0);
                      uPrev(r, c) = u;
                      charging(r, c) = q;
                      out.cell_energy_j(r, c) += op.cell_power_w(r, c) * dt + q;
                    });
        out.energy_j += op.driver_power_w * dt + charging.sum();
        if (t == 0.0) logVoltages(op, logs);
      }
      t = end;
    }
    closePhase(logs, x0, bounds.back(), out);
  }
  closeBatch(pulses.size(), xStart, out);
  return out;
}

}  // namespace ecramsim

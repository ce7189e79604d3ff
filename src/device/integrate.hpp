#pragma once
/// Time integration of one cell's state with Boost.Odeint.
///
/// Stepper: runge_kutta_dopri5 under error control (integrate_adaptive). Why: the drive is
/// piecewise constant (square gate pulses), and every engine integrates between drive edges, so
/// no step ever straddles an edge; inside a segment the right-hand side is smooth and, for a
/// driven gate, not stiff (x moves on the scale q_c / I_ion, seconds), so an explicit 5th-order
/// embedded pair takes a handful of steps per 100 ms pulse at 1e-10 relative accuracy and a
/// constant rate (the ideal linear card) exactly in one step. A floating gate adds the
/// double-layer voltage, whose fast initial relaxation (~c_dl v0 / I, 10-100 us) the step
/// control resolves before growing the step for hours of retention.

#include "device/params.hpp"

namespace ecramsim {

/// Absolute and relative error tolerances of the state integration.
struct Tolerances {
  double abs = 1e-13;
  double rel = 1e-10;
  /// 1, the first trial step as a fraction of the duration (the step control grows or shrinks
  /// it from there): 1 lets a smooth held segment pass in one step.
  double first_step = 0.125;
};

/// Terminal voltages of one cell, V.
struct Terminals {
  double vg = 0.0;
  double vd = 0.0;
  double vs = 0.0;
};

/// Outcome of integrating one segment.
struct Advance {
  double x = 0.0;       ///< 1, state at the end, clamped to [0, 1]
  double charge = 0.0;  ///< C, ionic charge that entered the gate over the segment
  double vg = 0.0;      ///< V, gate voltage at the end (equals the drive when held)
};

/// Advances x over `duration_s` with all three terminals held at `t`.
[[nodiscard]] Advance advanceHeld(const CellParams& p, double x, const Terminals& t,
                                  double duration_s, const Tolerances& tol = {});

/// Advances x over `duration_s` with the terminals moving linearly from `a` to `b` (for engines
/// that sample waveforms at time points, such as the ngspice co-simulation).
[[nodiscard]] Advance advanceLinear(const CellParams& p, double x, const Terminals& a,
                                    const Terminals& b, double duration_s,
                                    const Tolerances& tol = {});

/// Advances x and the voltage of a floating gate (no driver: only the cell's own ionic,
/// leakage and double-layer branches connect it) from gate voltage `vg_start`, with drain and
/// source held at `t.vd`, `t.vs` (t.vg is ignored).
[[nodiscard]] Advance advanceFloatingGate(const CellParams& p, double x, double vg_start,
                                          const Terminals& t, double duration_s,
                                          const Tolerances& tol = {});

}  // namespace ecramsim

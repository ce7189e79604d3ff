#pragma once
/// The four kinds of ECRAM device data, kept apart (STYLE.md):
///  - EcramParams: the given model-card parameters (declared, with defaults, units and ranges,
///    once, in modelcard/ecram_table.cpp);
///  - DeviceVariation: one device's draw of the device-to-device spread;
///  - CellParams: the values the physics uses for one device, derived from the two above;
///  - EcramState: what evolves in time.
/// All quantities are SI.

#include "core/rng.hpp"

namespace ecramsim {

/// Given parameters of the `ecram` model. Field names equal the model-card keys.
struct EcramParams {
  double gmin;      ///< S, channel conductance at x = 0
  double gmax;      ///< S, channel conductance at x = 1
  double c3;        ///< 1/V^2, cubic I-V term: I = G V (1 + c3 V^2)
  double i0;        ///< A, exchange current of the gate's Faradaic (ionic) branch
  double v0;        ///< V, voltage scale of the sinh kinetics
  double rs;        ///< Ohm, series resistance of the ionic branch (electrolyte)
  double r_leak;    ///< Ohm, electronic leakage resistance gate-channel
  double c_dl;      ///< F, double-layer capacitance gate-channel
  double q_c;       ///< C, ionic charge that moves x across the full range [0, 1]
  double k_oc;      ///< V, slope of the open-circuit potential U_oc = k_oc (x - x_eq)
  double x_eq;      ///< 1, state at which U_oc = 0
  double p_up;      ///< 1, soft-bound exponent for potentiation, w = (1 - x)^p_up
  double p_dn;      ///< 1, soft-bound exponent for depression, w = x^p_dn
  double tau_ret;   ///< s, relaxation time of x towards x_eq; 0 switches it off
  double x0;        ///< 1, initial state
  double dg_c2c;    ///< 1, cycle-to-cycle relative sigma of the state change per pulse
  double gmin_d2d;  ///< 1, device-to-device relative sigma of gmin
  double gmax_d2d;  ///< 1, device-to-device relative sigma of gmax
  double i0_d2d;    ///< 1, device-to-device relative sigma of i0
  double qc_d2d;    ///< 1, device-to-device relative sigma of q_c
  double gate_points;  ///< 1, Gauss-Legendre order of the distributed gate (integer, rs > 0)
};

/// Multiplicative factors one device draws from the `_d2d` spreads (1 = nominal).
struct DeviceVariation {
  double gmin = 1.0;
  double gmax = 1.0;
  double i0 = 1.0;
  double q_c = 1.0;
};

/// How the gate's Faradaic current is taken along the channel (physics::gateCurrent).
///  - Distributed: integrated along the linear channel potential (every engine uses it);
///  - TwoPoint: the average of the source-end and the drain-end current, the coarser model
///    the distributed gate replaced, kept so that the two can be compared (ecramsim gate).
enum class GateModel { Distributed, TwoPoint };

/// The parameters of one device, as the physics functions use them.
struct CellParams {
  double gmin, gmax, c3, i0, v0, rs, r_leak, c_dl, q_c, k_oc, x_eq, p_up, p_dn, tau_ret;
  int gate_points = 5;  ///< Gauss-Legendre order of the distributed gate when rs > 0
  GateModel gate = GateModel::Distributed;
};

/// Evolving state of one device.
struct EcramState {
  double x = 0.0;  ///< 1, normalized ion content of the channel, in [0, 1]
};

/// Draws one device's variation. Factors are normal around 1 with the card's sigmas, truncated
/// to [0.2, 5] so that no draw yields a non-physical (non-positive) value; gmax is redrawn if
/// it does not exceed gmin.
[[nodiscard]] DeviceVariation drawVariation(const EcramParams& p, Rng& rng);

/// A pulse's state change with cycle-to-cycle noise: dx (1 + sigma N(0,1)). Draws nothing when
/// sigma = 0, so a card without noise leaves the Rng stream untouched. Every engine applies
/// this rule, one draw per pulsed cell.
[[nodiscard]] inline double cycleNoise(double dx, double sigma, Rng& rng) {
  return sigma > 0.0 ? dx * (1.0 + sigma * rng.normal()) : dx;
}

/// The device's parameters after applying its variation.
[[nodiscard]] CellParams cellParams(const EcramParams& p, const DeviceVariation& v = {});

}  // namespace ecramsim

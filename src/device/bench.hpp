#pragma once
/// A single-cell bench: one ECRAM device with its own variation, driven by ideal sources, the
/// way a parameter analyzer drives a device on a probe station. Drain and source are grounded
/// during gate pulses; reads are instantaneous channel-current measurements.

#include <vector>

#include "core/rng.hpp"
#include "device/integrate.hpp"
#include "device/params.hpp"

namespace ecramsim {

/// What the gate does between pulses.
enum class GateMode { Grounded, Floating };

/// One applied gate pulse, as logged.
struct PulseRecord {
  double time_s;       ///< start of the pulse
  double amplitude_v;  ///< gate voltage during the pulse
  double width_s;
  double x_before;
  double x_after;
  double energy_j;  ///< drawn from the gate source: ionic + leakage + charging c_dl
};

class CellBench {
 public:
  /// A device with variation `var`; `rng` supplies the cycle-to-cycle noise (dg_c2c) and must
  /// outlive the bench. The state starts at p.x0.
  CellBench(const EcramParams& p, const DeviceVariation& var, Rng& rng);

  /// A gate pulse of `amplitude_v` for `width_s` with drain and source at 0 V. The state change
  /// of the pulse is multiplied by (1 + dg_c2c N(0,1)), then the state is clamped to [0, 1].
  void pulse(double amplitude_v, double width_s);
  /// `duration_s` with no pulse: the gate grounded, or floating from its present voltage.
  void idle(double duration_s, GateMode mode);
  /// Sets the state directly (a simulation convenience, e.g. a reset before a protocol).
  void setState(double x);

  /// A, channel current at drain-source voltage `vds_v` with the gate grounded.
  [[nodiscard]] double readCurrent(double vds_v) const;
  /// S, conductance read at `vds_v` (readCurrent / vds_v).
  [[nodiscard]] double readConductance(double vds_v = 0.1) const;

  [[nodiscard]] double x() const { return x_; }
  [[nodiscard]] double time() const { return time_; }
  [[nodiscard]] const CellParams& cell() const { return cell_; }
  [[nodiscard]] const std::vector<PulseRecord>& pulses() const { return pulses_; }
  void setTolerances(const Tolerances& tol) { tol_ = tol; }

 private:
  CellParams cell_;
  double c2c_;
  Rng& rng_;
  Tolerances tol_;
  double x_ = 0.0;
  double vg_ = 0.0;  ///< present gate voltage (matters for a floating gate)
  double time_ = 0.0;
  std::vector<PulseRecord> pulses_;
};

}  // namespace ecramsim

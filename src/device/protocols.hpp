#pragma once
/// Pulse protocols on one cell: the device characterization of the seed paper (Fig. 1c, 2a-d)
/// and the gate kinetics behind its V/2 programming. Each protocol fills a ResultTree with
/// datasets (units on every one) and metrics; the caller adds run metadata and writes the file.

#include <string>
#include <utility>
#include <vector>

#include "core/progress.hpp"
#include "core/result.hpp"
#include "core/rng.hpp"
#include "device/params.hpp"

namespace ecramsim {

/// Shape of the gate pulses of a protocol and of the reads between them.
struct PulseShape {
  double amplitude_v = 5.0;  ///< |gate voltage| of a pulse; up pulses +, down pulses -
  double width_s = 0.1;
  double interval_s = 0.1;   ///< gate grounded between pulses
  double read_v = 0.1;       ///< drain-source read voltage after each pulse
};

/// `device pulses`: for each count n, n up pulses then n down pulses (paper Fig. 1c).
struct PulsesConfig {
  std::vector<int> counts{20, 25, 30, 35};
  int repeats = 1;          ///< how many times the whole list is run
  double x_start = 0.3;     ///< state before the first pulse: the cycles sit mid-window
  PulseShape shape{5.0, 0.15, 0.15, 0.1};
};
void runPulses(const EcramParams& p, const PulsesConfig& cfg, Rng& rng, ResultTree& out);

/// `device windows`: on each card, `pulses` up then `pulses` down from x = 0 (paper Fig. 2a).
struct WindowsConfig {
  int pulses = 100;
  PulseShape shape{5.0, 0.1, 0.1, 0.1};
};
void runWindows(const std::vector<std::pair<std::string, EcramParams>>& cards,
                const WindowsConfig& cfg, Rng& rng, ResultTree& out, Progress& progress);

/// `device uniformity`: `devices` devices drawn with the card's d2d spread, each cycled
/// `cycles` times through `pulses` up and `pulses` down pulses from x = 0 (paper Fig. 2b).
struct UniformityConfig {
  int devices = 10;
  int cycles = 5;
  int pulses = 100;
  PulseShape shape{5.0, 0.1, 0.1, 0.1};
};
void runUniformity(const EcramParams& p, const UniformityConfig& cfg, Rng& rng, ResultTree& out,
                   Progress& progress);

/// `device states`: `states` monotonically potentiated states from x = 0, each followed by a
/// read I-V sweep (paper Fig. 2c). width_s <= 0 chooses the width from the card's nominal rate
/// so that the states span about 98% of the window.
struct StatesConfig {
  int states = 256;
  PulseShape shape{5.0, 0.0, 0.1, 0.1};
  double iv_max_v = 0.2;  ///< the I-V sweep runs from -iv_max_v to +iv_max_v
  int iv_points = 21;
};
void runStates(const EcramParams& p, const StatesConfig& cfg, Rng& rng, ResultTree& out);

/// `device retention`: `states` states programmed from x = 0 by evenly spread pulse counts,
/// each then held `hold_s` with the gate floating or grounded, read at log-spaced times
/// (paper Fig. 2d).
struct RetentionConfig {
  int states = 20;
  double hold_s = 1e4;
  int samples = 40;
  bool floating = true;
  PulseShape shape{5.0, 0.1, 0.1, 0.1};
};
void runRetention(const EcramParams& p, const RetentionConfig& cfg, Rng& rng, ResultTree& out,
                  Progress& progress);

/// `device pwm`: one pulse of each width, up and down, each from the same start state.
struct PwmConfig {
  std::vector<double> widths_s{0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4};
  double x_start = 0.5;
  PulseShape shape{5.0, 0.0, 0.1, 0.1};
};
void runPwm(const EcramParams& p, const PwmConfig& cfg, Rng& rng, ResultTree& out);

/// `device gate-iv`: ionic and leakage gate current against gate-channel voltage at x = x_eq,
/// and the update-rate ratios at V against V/2 and V/3.
struct GateIvConfig {
  double v_max = 6.0;
  int points = 241;
  double v_program = 5.0;  ///< V of the V, V/2, V/3 ratios
  double width_s = 0.1;    ///< s, width of the pulse of the array step figures (device_job)
};
void runGateIv(const EcramParams& p, const GateIvConfig& cfg, ResultTree& out);

/// 1/s, the nominal device's state rate at x with gate voltage v (drain, source at 0 V).
[[nodiscard]] double nominalRate(const EcramParams& p, double v, double x);

}  // namespace ecramsim

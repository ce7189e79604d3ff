#pragma once
/// Writing a target conductance map into an array (DESIGN.md section 6, issue 5).
///
/// Open loop (`count`, `pwm`): the controller keeps a belief of every cell's state (x after a
/// reset is 0; after a run, the targets it wrote) and computes each cell's pulses from the
/// nominal device (the model card with no variation) driven at the terminal voltages the bias
/// scheme gives a selected cell with ideal lines (biasLevels). It never reads a cell it writes.
/// The only calibration is the model card itself.
/// Closed loop (`verify`): pulse, read the cell's row through the array, repeat until the read
/// conductance is within a tolerance of the target: the write-verify baseline.

#include <Eigen/Core>
#include <vector>

#include "control/backend.hpp"
#include "control/line_model.hpp"
#include "core/progress.hpp"
#include "device/params.hpp"

namespace ecramsim {

enum class ProgramScheme { Count, Pwm, Verify };

struct ProgramConfig {
  ProgramScheme scheme = ProgramScheme::Pwm;
  BiasScheme bias{};
  PulseOrder order = PulseOrder::Serial;
  double amplitude_v = 5.0;     ///< V, |write amplitude| of every pulse
  double count_width_s = 0.1;   ///< s, width of each pulse of the count scheme
  int max_count = 1000;         ///< cap of pulses per cell and run (count)
  double max_width_s = 200.0;   ///< s, cap of one PWM pulse (room for a full sweep under V/2)
  double verify_tol = 0.005;    ///< verify: |G_read - G_target| <= tol x window
  int verify_max_iter = 40;     ///< verify: pulses per cell at most
  double read_v = 0.1;          ///< V, read voltage (verify reads and the final read map)
  bool reset = true;            ///< set every state to 0 before writing (a simulated reset)
  /// Believed states when reset is false (R x C); empty: the backend's states are trusted.
  Eigen::MatrixXd belief;
  /// Line compensation of the pwm scheme (`--compensate lines`), or null for none: the
  /// controller's model of the array's lines. Before the first pulse the controller plans every
  /// width on it (control/compensation.hpp: the nominal card, its belief, the run's phases, the
  /// half-select disturb of the later phases), line_plans times; the array then gets the planned
  /// widths. It reads no cell of the array.
  const WriteLineModel* lines = nullptr;
  int line_plans = 2;
  /// Nodal width correction of the pwm scheme (`--compensate nodal`), or null for none: a
  /// backend of the nominal card without variation on the same lines and drivers. Before each
  /// batch the controller sets it to its belief, applies the planned pulses to it, and scales
  /// each width by wanted / reached state change, compensate_iterations times; the array then
  /// gets the final widths. Slower than `lines` and blind to the disturb of later phases.
  ArrayBackend* model = nullptr;
  int compensate_iterations = 3;
};

/// What a programming run did and reached.
struct [[nodiscard]] ProgramResult {
  Eigen::MatrixXd target_s;     ///< S, R x C
  Eigen::MatrixXd before_s;     ///< S, true conductances before writing (after the reset)
  Eigen::MatrixXd after_s;      ///< S, true conductances after writing (the model's G(x))
  Eigen::MatrixXd read_s;       ///< S, the map read through the array after writing (empty
                                ///< when the wiring cannot read, Wiring::SourceCols)
  Eigen::MatrixXd disturb_s;    ///< S, change each cell suffered while other cells were written
  Eigen::MatrixXd pulses;       ///< count, pulses applied to each cell
  std::vector<PulseLog> log;    ///< every pulse
  long long total_pulses = 0;
  long long reads = 0;          ///< input vectors read (verify reads, not the final map)
  double time_s = 0.0;          ///< s, array time of the writing (pulses and verify reads)
  double energy_j = 0.0;        ///< J, drawn from the drivers while writing
};

/// Writes `target` (normalized, R x C, each in [0, 1]) onto the window [g_low, g_high] of the
/// card `nominal` (the caller checks the window lies within [gmin, gmax]). Throws InputError for
/// a size mismatch or a value outside [0, 1].
[[nodiscard]] ProgramResult programArray(ArrayBackend& array, const EcramParams& nominal,
                                         const Eigen::MatrixXd& target, double g_low,
                                         double g_high, const ProgramConfig& cfg,
                                         Progress& progress);

/// s, the width of one pulse of amplitude `amplitude_v` (sign = direction) that moves the
/// nominal cell from `x_from` to `x_to` under `bias`; capped at max_width_s.
[[nodiscard]] double nominalWidth(const EcramParams& nominal, const BiasScheme& bias,
                                  double amplitude_v, double x_from, double x_to,
                                  double max_width_s);

/// The number of pulses (amplitude_v, width_s) that brings the nominal cell closest to x_to,
/// and the state it then believes the cell is in.
struct CountPlan {
  int pulses = 0;
  double x_after = 0.0;
};
[[nodiscard]] CountPlan nominalCount(const EcramParams& nominal, const BiasScheme& bias,
                                     double amplitude_v, double width_s, double x_from,
                                     double x_to, int max_count);

/// A write on an array with ideal lines, for the nominal device under one gate model: what the
/// selected cell does and how much more than the half-selected cells it does.
struct ArrayGateFigures {
  double step_selected = 0.0;  ///< 1, state change of the selected cell in one pulse from x0
  double selectivity = 0.0;    ///< 1, |dx/dt| of the selected cell over the largest |dx/dt| of
                               ///< the other cells (same row, same column, the rest), at x_eq
};

/// The figures of one pulse (amplitude_v, width_s) under `bias` (unselected lines held at their
/// levels, biasLevels) on an array wired as `wiring`, with the gate taken as `gate`.
[[nodiscard]] ArrayGateFigures arrayGateFigures(const EcramParams& nominal, GateModel gate,
                                                BiasFraction bias, double amplitude_v,
                                                double width_s,
                                                Wiring wiring = Wiring::SourceRows);

}  // namespace ecramsim

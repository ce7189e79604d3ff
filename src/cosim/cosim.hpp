#pragma once
/// Tight co-simulation of ECRAM cells with ngspice (DESIGN.md section 4): the cells are stubs
/// (cosim/stub.hpp) whose state-dependent values come from EXTERNAL sources, and the states
/// live here.
///
/// Coupling, per accepted time point (SendData -> RunHooks::acceptedPoint):
///  - every cell's x advances from the previous accepted point with advanceLinear (Odeint
///    dopri5), its terminal voltages taken linear in time between the two points, which is
///    exactly how ngspice's own solution is interpolated; the ionic current of the integration
///    is physics::gateIonicCurrent, the distributed gate the stub's B-sources reproduce;
///  - the EXTERNAL sources then return G(x) and U_oc(x) of the new state for every Newton
///    iteration of the next step (the state is frozen within a step: an explicit coupling whose
///    lag is bounded by the step control below);
///  - RunHooks::limitStep caps the next step so that no state is predicted to move more than
///    Options::state_reltol (a fraction of the range of x): with r the largest |dx/dt| at the
///    last point and a its growth rate over the last step (a >= 0), the step h solves
///    r h + a h^2 / 2 = state_reltol. ngspice's breakpoints put a point at every PULSE/PWL
///    corner, so a drive that switches on is seen at the point where it does.
///  - The realised largest |dx| of any accepted step is reported (Result::max_state_step).
///    A converged trial point cannot be rejected on its realised dx: ngspice's GetSyncData
///    callback does not see the trial solution (only its time and step), so
///    RunHooks::rejectStep is not used; the prediction above bounds the steps instead.
/// No cycle-to-cycle noise is applied: a co-simulated run is deterministic given the cells'
/// parameters (device-to-device variation is drawn when the circuit is built).

#include <string>
#include <vector>

#include "cosim/stub.hpp"
#include "device/integrate.hpp"

namespace ecramsim::cosim {

struct Options {
  double state_reltol = 1e-3;  ///< 1, largest predicted |dx| per accepted step, (0, 1]
  Tolerances tol;              ///< Odeint tolerances of the per-step state integration
  bool failOnSingularMatrix = true;
};

/// Everything a run produced, at every accepted point. Matrices are row-major, point-major:
/// element (k, j) at k * width + j.
struct [[nodiscard]] Result {
  std::string plotName;               ///< "op1", "tran1", ...
  bool transient = false;
  std::vector<double> time_s;         ///< P points (0 for an operating point)
  std::vector<std::string> vectorNames;  ///< ngspice's output vectors (lower case), V ones
  std::vector<double> vectors;        ///< P x V, every vector at every point (time included)
  std::vector<std::string> cellNames;  ///< N cells, in circuit order
  // Every cell quantity of a point is taken at that accepted point: its time, ngspice's
  // voltages there and the state integrated up to it. (ngspice solved those voltages with the
  // state of the previous point, which the step control keeps within state_reltol of it.)
  std::vector<double> x;              ///< P x N, state at the point
  std::vector<double> g_s;            ///< P x N, S, G(x) at the point
  std::vector<double> i_ion_a;        ///< P x N, A, ionic gate current gateIonicCurrent
  std::vector<double> i_ds_a;         ///< P x N, A, channel current drain to source
  std::vector<double> v_gs_v;         ///< P x N, V, gate minus source
  std::vector<double> v_gd_v;         ///< P x N, V, gate minus drain
  double max_state_step = 0.0;        ///< 1, largest |dx| of any cell over any accepted step
  int acceptedPoints = 0;
  std::vector<std::string> log;       ///< ngspice's output lines

  [[nodiscard]] std::size_t points() const { return time_s.size(); }
  /// Index of an output vector ("v(a)", "a", "i(v1)", "v1#branch"), or -1.
  [[nodiscard]] long vectorIndex(std::string_view name) const;
  /// The column of an output vector over the points. Throws SimulationError when absent.
  [[nodiscard]] std::vector<double> vector(std::string_view name) const;
  /// The column of a cell matrix (x, g_s, ...) for cell `cell`.
  [[nodiscard]] std::vector<double> cellColumn(const std::vector<double>& matrix,
                                               std::size_t cell) const;
};

/// Runs `circuit` (its analysis: .op or .tran) with the cells co-simulated. Throws
/// spice::SpiceError for ngspice failures (the location of the offending line when ngspice
/// names a line or a node), InputError for a bad circuit or option.
[[nodiscard]] Result simulate(const Circuit& circuit, const Options& options = {});

}  // namespace ecramsim::cosim

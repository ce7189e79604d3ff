#pragma once
/// ArrayBackend on ngspice (DESIGN.md section 4): the array is the generated crossbar netlist
/// (netlist/crossbar.hpp, LineTopology::Nodal: the nodal engine's network) and every run goes
/// through the one libngspice bridge.
///
/// - Reads and VMMs: the read network with the cells as resistors of conductance G(x) (the
///   states are frozen; gates take no part, as in array/crossbar_engine.hpp), one `.op` run per
///   unit input on each row (R runs per conductance setting); the C x R column and R x R driver
///   transfer matrices are kept until the states change and every input vector is then a dense
///   product, exactly as CrossbarEngine does. Each input vector costs SpiceOptions::read_time_s.
///   An array wired with source columns (Wiring::SourceCols) cannot be read: InputError.
/// - Writes: phases as in array/nodal_backend.hpp (serial: one pulse; row parallel: the pulses
///   of one row with one amplitude). A phase is one co-simulated `.tran` run (cosim::simulate:
///   ECRAM stubs, states integrated in C++ at every accepted point) of the generated netlist
///   with PWL drivers at the bias levels of control/backend.hpp: every driven line ramps from
///   0 V to its level over SpiceOptions::edge_s, each selected drain line returns to the
///   unselected level at the end of its own width, and all lines return to 0 V at the end of
///   the longest width. When unselected lines float and columns are released at different
///   widths, the set of driven lines changes inside the phase; the phase is then split at each
///   release into runs (one per driven-line pattern), the states carried from run to run.
///   Cycle-to-cycle noise closes the phase as in NodalBackend (array/cell_array.hpp).
/// - Device-to-device variation: drawn as in NodalBackend (array/cell_array.hpp), so the same
///   seed gives the same devices.
/// - Energy: the batch energy is the integral (trapezoid over the accepted points) of the power
///   delivered by every line driver (double-layer charging included, as the stubs carry c_dl);
///   cell energies integrate the channel and gate-branch power of each cell.
/// - Time: a phase lasts its longest width (the edges are not counted), as in NodalBackend.

#include <Eigen/Core>
#include <optional>
#include <string>
#include <vector>

#include "array/cell_array.hpp"
#include "array/geometry.hpp"
#include "array/write_solver.hpp"
#include "control/backend.hpp"
#include "core/rng.hpp"
#include "cosim/cosim.hpp"
#include "device/params.hpp"

namespace ecramsim {

struct SpiceOptions {
  cosim::Options cosim;       ///< state step bound and integration tolerances of the `.tran` runs
  double read_time_s = 1e-6;  ///< s, array time per read input vector (as NodalOptions)
  double edge_s = 1e-6;       ///< s, rise and fall time of every driver ramp in a write
};

/// One write operating point solved by ngspice (`.op`, states frozen).
struct [[nodiscard]] SpiceOperatingPoint {
  Eigen::MatrixXd vg, vd, vs;  ///< R x C, V
};

/// Not copyable (holds a reference to the Rng); uses the process-wide ngspice engine.
class SpiceBackend final : public CellArrayBackend {
 public:
  /// Same contract as NodalBackend's constructor (InputError for a bad geometry or c3 != 0).
  SpiceBackend(const EcramParams& p, const CrossbarGeometry& geo, Rng& rng,
               const SpiceOptions& options = {});

  [[nodiscard]] Eigen::MatrixXd readConductances(double read_v) override;
  [[nodiscard]] Eigen::MatrixXd vmm(const Eigen::MatrixXd& inputs_v) override;
  PulseBatchResult applyPulses(std::span<const PulseRequest> pulses, const BiasScheme& scheme,
                               PulseOrder order) override;

  /// The DC operating point of the write network under `drive` at the current states (ngspice
  /// `.op` of the generated netlist with the ECRAM stubs), for checks against WriteSolver.
  [[nodiscard]] SpiceOperatingPoint writeOperatingPoint(const LineDrive& drive) const;
  /// A, C x R column currents per volt on each row through the read network (R `.op` runs).
  [[nodiscard]] const Eigen::MatrixXd& transfer();

  /// Number of ngspice runs so far (reads and writes).
  [[nodiscard]] long long spiceRuns() const { return runs_; }

 private:
  void refreshTransfer();
  void statesChanged() override { transferValid_ = false; }

  SpiceOptions options_;
  bool transferValid_ = false;
  Eigen::MatrixXd transferCol_;  ///< C x R
  Eigen::MatrixXd transferRow_;  ///< R x R, current delivered by driver r' per volt on row r
  mutable long long runs_ = 0;
};

}  // namespace ecramsim

#pragma once
/// The array as the controller sees it (DESIGN.md sections 5 and 6). Programming, verification
/// and training are written against ArrayBackend; the nodal engine (array/NodalBackend) and the
/// ngspice co-simulation implement it. Maps are R x C and indexed (row, col); inputs and outputs
/// of a VMM hold one vector per matrix row. SI units throughout.
///
/// Crossbar geometry shared by every backend (and by the ngspice crossbar netlist generator):
/// cell (r, c) has its gate on gate line r (runs along the row) and its drain on drain line c
/// (runs along the column); its source line depends on the Wiring. Gate lines and source lines
/// along rows are driven from the c = 0 end; drain lines, and source lines along columns, are
/// sensed (read) or driven (write) from the r = R-1 end.

#include <Eigen/Core>
#include <span>
#include <string>
#include <vector>

#include "device/integrate.hpp"

namespace ecramsim {

/// Where the source lines of a passive three-terminal array run (the gate lines run along the
/// rows and the drain lines along the columns in both). Up to exchanging source and drain
/// (the channel is symmetric) and rows and columns, these are the wirings that can select one
/// cell; with all three lines along the rows no write or read can tell the cells of a row apart.
///  - SourceRows (the default): source line r along row r beside gate line r. Writes V/2 and
///    V/3; reads and VMMs with the inputs on the source lines and the drain lines sensed.
///  - SourceCols: source line c along column c beside drain line c, so every column's channel
///    ends can be held at one potential and no cell carries channel current in a write. Writes
///    V/2 and V/3. No read: both channel lines of a cell run along its column, so an input on a
///    row cannot be applied and a column's current is the sum of all its cells; reads and VMMs
///    are refused with an InputError naming --wiring.
enum class Wiring { SourceRows, SourceCols };

/// "source-rows" or "source-cols" (the --wiring values); InputError naming --wiring otherwise.
[[nodiscard]] Wiring parseWiring(const std::string& name);
[[nodiscard]] std::string wiringName(Wiring w);
/// Throws InputError naming --wiring unless `w` can read the array (`what`: "a VMM", ...).
void requireReadableWiring(Wiring w, const std::string& what);

/// Which fraction of the write voltage V the unselected lines sit at.
enum class BiasFraction { Half, Third };

/// What unselected gate and drain lines do during a write: held by their drivers at the bias
/// level, or left floating (no driver; the network sets their potential). Source lines are
/// always driven: they are the channel reference of every cell.
enum class UnselectedLines { Grounded, Floating };

/// A write bias scheme: V/2 or V/3, unselected lines held or floating, for an array of wiring
/// `wiring` (a backend refuses a scheme written for another wiring than its own).
struct BiasScheme {
  BiasFraction fraction = BiasFraction::Half;
  UnselectedLines unselected = UnselectedLines::Grounded;
  Wiring wiring = Wiring::SourceRows;
};

/// Line potentials, V, of a write with amplitude V (the selected cell's gate-to-drain voltage;
/// V > 0 potentiates). Every level is V times a fixed fraction. The selected source line is the
/// selected cell's: its row's (SourceRows) or its column's (SourceCols).
///
///   SourceRows   gate sel  gate unsel  drain sel  drain unsel  source (every row)
///   V/2            +V/2        0         -V/2          0             0
///   V/3           +2V/3        0         -V/3        +V/3          +V/3
///
///   SourceCols   gate sel  gate unsel  drain and source sel  drain and source unsel
///   V/2            +V/2        0              -V/2                     0
///   V/3           +2V/3        0              -V/3                   +V/3
///
/// Gate-to-channel voltages (gate-source end, gate-drain end) that follow:
///   SourceRows V/2: selected (V/2, V); same row (V/2, V/2); same column (0, V/2); others (0, 0).
///   SourceRows V/3: selected (V/3, V); same row (V/3, V/3); same column (-V/3, V/3);
///                   others (-V/3, -V/3).
///   SourceCols V/2: selected (V, V); same row and same column (V/2, V/2); others (0, 0).
///   SourceCols V/3: selected (V, V); same row and same column (V/3, V/3); others (-V/3, -V/3).
/// With SourceRows the source line runs along the row together with the gate line, so the
/// source-end half of the gate of every cell in the selected row sees the same gate-source
/// voltage; keeping it at V/2 (V/3) is what keeps the row's other cells half-selected. The
/// selected cell therefore sees V only at its drain end: its gate-to-channel voltage falls
/// along the channel to V/2 (V/3) at the source end, and the distributed gate
/// (physics::gateCurrent) carries about 0.10 (0.075) of the ionic current of a cell whose whole
/// channel sits V below its gate (the single-cell bench at the same V) for the default card at
/// 5 V; `ecramsim device gate-iv --json` prints array_step_v2 and bench_step. With SourceCols
/// the selected cell sees V along its whole channel, as on the bench, and no cell carries
/// channel current (each column's two channel lines are driven to one potential).
struct BiasLevels {
  Wiring wiring = Wiring::SourceRows;
  double gate_selected_v = 0.0;
  double gate_unselected_v = 0.0;
  double drain_selected_v = 0.0;
  double drain_unselected_v = 0.0;
  double source_selected_v = 0.0;    ///< the selected cell's source line
  double source_unselected_v = 0.0;  ///< every other source line

  /// V, terminals (gate, drain, source) of a cell on a selected or unselected gate row and
  /// drain column, with ideal lines.
  [[nodiscard]] Terminals cell(bool selected_row, bool selected_col) const;
};

/// The line potentials of `scheme` for write amplitude `amplitude_v` (tables above).
[[nodiscard]] BiasLevels biasLevels(const BiasScheme& scheme, double amplitude_v);

/// How a list of pulses is applied: one cell at a time, or all pulses of one row (and one
/// amplitude) at once, each column released at the end of its own width (PWM).
enum class PulseOrder { Serial, RowParallel };

/// One requested write pulse.
struct PulseRequest {
  Eigen::Index row = 0;
  Eigen::Index col = 0;
  double amplitude_v = 0.0;  ///< V, gate-to-drain voltage of the selected cell; sign = direction
  double width_s = 0.0;      ///< s, > 0
};

/// One applied pulse, as logged.
struct PulseLog {
  Eigen::Index row = 0;
  Eigen::Index col = 0;
  double amplitude_v = 0.0;
  double width_s = 0.0;
  double start_s = 0.0;   ///< s, backend time at the start of the pulse
  double x_before = 0.0;  ///< 1, state of the selected cell before and after
  double x_after = 0.0;
  double v_gs_v = 0.0;     ///< V, gate-source voltage of the selected cell during the pulse
  double v_gd_v = 0.0;     ///< V, gate-drain voltage of the selected cell during the pulse
  double energy_j = 0.0;  ///< J, dissipated in the selected cell (channel, gate, double layer)
};

/// One write phase: the pulses (indices into a request list) applied at once, all on one row
/// with one amplitude.
struct WritePhase {
  Eigen::Index row = 0;
  double amplitude_v = 0.0;
  std::vector<std::size_t> pulses;
};

/// Groups requests into phases: one pulse per phase when serial; when row-parallel, each pulse
/// joins the first phase of its row and amplitude that does not hold its column yet, so a
/// cell's k-th pulse lands in a later phase than its (k-1)-th. Every backend applies this rule.
[[nodiscard]] std::vector<WritePhase> groupIntoPhases(std::span<const PulseRequest> requests,
                                                      PulseOrder order);

/// Throws InputError naming the pulse (by index) whose cell lies outside an R x C array, whose
/// amplitude is not finite or whose width is not finite and > 0. Every backend calls it first.
void validatePulses(std::span<const PulseRequest> requests, Eigen::Index rows, Eigen::Index cols);

/// Throws InputError unless x is rows x cols with every state finite and in [0, 1].
void validateStates(const Eigen::MatrixXd& x, Eigen::Index rows, Eigen::Index cols);

/// Outcome of applyPulses.
struct [[nodiscard]] PulseBatchResult {
  std::vector<PulseLog> pulses;  ///< in the order applied
  Eigen::MatrixXd delta_x;       ///< R x C, 1: every cell's state change over the call
  Eigen::MatrixXd cell_energy_j; ///< R x C, J: energy dissipated in every cell
  double duration_s = 0.0;       ///< s, time the call took (sum of the pulse phases)
  double energy_j = 0.0;         ///< J, drawn from all line drivers, lines included
};

/// Running totals of a backend since construction.
struct BackendCounters {
  double elapsed_s = 0.0;  ///< s, array time: pulses plus reads
  double energy_j = 0.0;   ///< J, drawn from the drivers by pulses and reads
  long long pulses = 0;    ///< write pulses applied
  long long reads = 0;     ///< input vectors applied (VMMs and conductance reads)
};

/// The array behind the controller. Implementations own the cell states; randomness
/// (cycle-to-cycle noise) comes from an Rng the implementation was given.
class ArrayBackend {
 public:
  virtual ~ArrayBackend() = default;

  [[nodiscard]] virtual Eigen::Index rows() const = 0;
  [[nodiscard]] virtual Eigen::Index cols() const = 0;

  /// S, R x C: the conductance map measured as a person would, through the array: row r at
  /// `read_v` (the others at 0 V), every column sensed, G(r, c) = I_c / read_v. Line
  /// resistance and sneak currents are part of the answer. Costs R reads.
  [[nodiscard]] virtual Eigen::MatrixXd readConductances(double read_v) = 0;
  /// S, R x C: the model's exact conductances G(x), for diagnostics (no array, no cost).
  [[nodiscard]] virtual Eigen::MatrixXd probeConductances() const = 0;

  /// A, K x C: column currents for K input vectors (K x R, V on the source lines, columns at
  /// the sense potential). Costs K reads.
  [[nodiscard]] virtual Eigen::MatrixXd vmm(const Eigen::MatrixXd& inputs_v) = 0;

  /// Applies write pulses under `scheme`, in `order`. Throws InputError on a bad request.
  virtual PulseBatchResult applyPulses(std::span<const PulseRequest> pulses,
                                       const BiasScheme& scheme, PulseOrder order) = 0;

  /// 1, R x C: the cell states x.
  [[nodiscard]] virtual Eigen::MatrixXd states() const = 0;
  /// Sets the states (each in [0, 1]; InputError otherwise).
  virtual void setStates(const Eigen::MatrixXd& x) = 0;

  [[nodiscard]] virtual BackendCounters counters() const = 0;

 protected:
  ArrayBackend() = default;
  ArrayBackend(const ArrayBackend&) = default;
  ArrayBackend& operator=(const ArrayBackend&) = default;
};

}  // namespace ecramsim

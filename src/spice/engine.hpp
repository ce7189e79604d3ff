#pragma once
/// The libngspice bridge: the one owner of ngspice's global state in a process. It knows
/// nothing of ECRAM. A netlist goes in as lines, vectors and the captured log come out, and
/// ngspice's failures come back as typed errors.
///
/// Design (measured on Debian's libngspice 39.3):
/// - The library is not linked but loaded with dlopen(RTLD_LOCAL) from a private copy of the
///   library file (the path is ECRAMSIM_NGSPICE_LIB, overridable by the environment variable of
///   the same name). A copy under a new file name is an independent instance: after ngspice
///   called ControlledExit (a `quit`, or an error it "cannot recover" from, such as an undefined
///   parameter in an expression) the dead instance is never called again; the next run
///   dlcloses it and loads a fresh copy (about 30 ms; valgrind-clean; without the dlclose each
///   reload kept about 4.7 MB). The library is thus not a link-time dependency of this code.
///   XSPICE code models (spinit's `codemodel` lines) work in every copy. Two live copies at once
///   are possible in principle but not offered: code models are shared between copies, and
///   parallel work should use processes.
/// - ngSpice_Init and ngSpice_Init_Sync are called once per loaded instance with permanent
///   callbacks that dispatch to the hooks of the run in progress.
/// - Runs are synchronous (`run`, not `bg_run`) on the calling thread and serialized by a mutex;
///   hooks are called on the calling thread while that mutex is held, so a hook must not start
///   another run (doing so throws SimulationError instead of deadlocking).
/// - Every run ends with `destroy all`, `remcirc` and ngSpice_Command(NULL), also on errors.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace ecramsim::spice {

/// What went wrong in a run.
enum class FailureKind {
  ParseError,        ///< ngspice rejected the netlist (syntax, unknown model or subcircuit, ...)
  NoConvergence,     ///< no DC operating point (Newton, gmin and source stepping all failed)
  TimestepTooSmall,  ///< a transient gave up with "Timestep too small"
  SingularMatrix,    ///< "singular matrix" (floating node, loop of voltage sources, ...)
  ControlledExit,    ///< ngspice asked to be detached; the instance was replaced
  Aborted,           ///< any other failure: aborted run, missing or short output vectors
  HookFailed         ///< a caller hook threw; the original exception is nested
};

/// Name of a FailureKind, e.g. "timestep too small".
[[nodiscard]] std::string_view failureKindName(FailureKind kind);

/// A failed ngspice run. what() reads "file:line: ngspice <kind>: <first error lines>", the
/// location being the caller's (through RunOptions::lineMap) when ngspice named a netlist line.
class SpiceError : public SimulationError {
 public:
  SpiceError(FailureKind kind, SourceLocation where, int netlistLine, std::string detail,
             std::vector<std::string> log);

  [[nodiscard]] FailureKind kind() const { return kind_; }
  /// The caller's location of the offending line; empty when ngspice named none.
  [[nodiscard]] const SourceLocation& where() const { return where_; }
  /// 1-based line of the netlist as passed to Engine::run (line 1 = title); 0 when unknown.
  [[nodiscard]] int netlistLine() const { return netlistLine_; }
  /// The error lines ngspice printed (without the "stderr " prefix).
  [[nodiscard]] const std::string& detail() const { return detail_; }
  /// Everything ngspice printed during the run, one line each, as "stdout ..." / "stderr ...".
  [[nodiscard]] const std::vector<std::string>& log() const { return log_; }

 private:
  FailureKind kind_;
  SourceLocation where_;
  int netlistLine_;
  std::string detail_;
  std::vector<std::string> log_;
};

/// Per-run callbacks; every one is optional. They run on the thread that called Engine::run.
/// An exception thrown by a hook is caught at the C boundary, no hook is called again in that
/// run, EXTERNAL sources are fed NaN so that ngspice stops at its next Newton iteration
/// ("Timestep too small"), and Engine::run throws SpiceError(HookFailed) with the hook's
/// exception nested (std::rethrow_if_nested). A netlist without EXTERNAL sources runs to its
/// end before the error is thrown.
struct RunHooks {
  /// Value in volts of the EXTERNAL source `sourceName` (lower case, e.g. "vx") at time_s.
  /// Called on every Newton iteration, also during the operating point (time_s = 0), and for
  /// time points that are later rejected. Unset: EXTERNAL sources are 0 V.
  std::function<double(double time_s, std::string_view sourceName)> externalVoltage;
  /// Same for EXTERNAL current sources (`Iname n+ n- external`), in amperes.
  std::function<double(double time_s, std::string_view sourceName)> externalCurrent;
  /// Names of the output vectors (lower case) of the plot about to be written, in the order of
  /// the values passed to acceptedPoint. Called once per analysis, before the first point.
  std::function<void(std::span<const std::string> names)> outputVectors;
  /// One accepted point: time_s (0 for an operating point) and the real part of every vector.
  std::function<void(double time_s, std::span<const double> values)> acceptedPoint;
  /// Transient only. Before ngspice tries the step from the last accepted time time_s, it
  /// proposes proposedStep_s; return the step to take instead (seconds). Only shrinking is
  /// honoured (a larger or non-finite or non-positive value keeps the proposal). Also called
  /// with the retry step after ngspice itself rejected a step. ngspice still clips the step to
  /// its breakpoints and to the final time.
  std::function<double(double time_s, double proposedStep_s)> limitStep;
  /// Transient only. A time point at time_s, reached with a step of step_s, has converged and
  /// passed ngspice's truncation-error test but is not yet accepted. Return a smaller step to
  /// reject the point and redo it from time_s - step_s with that step; nullopt accepts it.
  /// (GetSyncData at location 1: in 39.3 its return value 1 makes ngspice redo the step with
  /// the delta written back by the callback; the rejected point never reaches acceptedPoint.)
  /// A returned step that is not positive, finite and smaller than step_s is ignored, so a
  /// hook cannot stall the run.
  std::function<std::optional<double>(double time_s, double step_s)> rejectStep;
};

/// Options of one run.
struct RunOptions {
  /// The caller's file:line of every netlist line (index 0 = title line). Used to name the
  /// line in parse errors; may be empty or shorter than the netlist.
  std::vector<SourceLocation> lineMap;
  /// ngspice can print "singular matrix" and still succeed after gmin stepping or a transient
  /// operating point, with near-meaningless values on the floating nodes. By default such a
  /// run throws SpiceError(SingularMatrix).
  bool failOnSingularMatrix = true;
  RunHooks hooks;
};

/// The output of a successful run: every vector of the plot the run produced, copied out.
struct [[nodiscard]] RunResult {
  std::string plotName;                 ///< ngspice's plot name, e.g. "op1", "tran1"
  std::vector<std::string> names;       ///< vector names in ngspice's order (lower case)
  std::map<std::string, std::vector<double>> vectors;  ///< real parts, by lower-case name
  std::vector<std::string> log;         ///< "stdout ..." / "stderr ..." lines of the run
  int acceptedPoints = 0;               ///< SendData calls (points written to the plot)
  int rejectedByHook = 0;               ///< steps rejected through RunHooks::rejectStep

  /// Whether the plot has `name` (case-insensitive: ngspice names are lower case).
  [[nodiscard]] bool has(std::string_view name) const;
  /// The vector `name` (case-insensitive), e.g. "v(out)" or "out" for a node voltage,
  /// "v1#branch" or "i(v1)" for the current through source v1. Throws SimulationError when
  /// the plot has no such vector.
  [[nodiscard]] const std::vector<double>& vec(std::string_view name) const;
  /// Last value of `name` (the operating point for .op). Throws like vec().
  [[nodiscard]] double last(std::string_view name) const;
};

/// Process-wide owner of ngspice. Not copyable, not movable.
class Engine {
 public:
  /// The engine; the library is loaded on first use. Throws SimulationError when it cannot be.
  static Engine& instance();

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine();

  /// Loads `netlist` (line 1 the title, the last non-blank line `.end`; no `+` continuations
  /// needed: blank lines are dropped) and runs the analysis it holds (.op or .tran; one
  /// analysis per netlist). Returns every vector of the resulting plot. Throws SpiceError on
  /// any failure; the engine stays usable afterwards (a fresh instance after ControlledExit).
  /// Throws Interrupted when globalCancelToken() is set before the run or during a transient
  /// (checked at every time step, which then ends the transient early).
  [[nodiscard]] RunResult run(const std::vector<std::string>& netlist,
                              const RunOptions& options = {});

  /// How many library instances have been loaded so far (1 until a ControlledExit).
  [[nodiscard]] int instancesLoaded() const;
  /// Lines ngspice printed while the current instance was initialised (banner, spinit).
  [[nodiscard]] std::vector<std::string> initLog() const;

  struct Impl;

 private:
  Engine();
  std::unique_ptr<Impl> impl_;
  mutable std::mutex mutex_;
};

}  // namespace ecramsim::spice

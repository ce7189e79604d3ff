#pragma once
/// `ecramsim run NETLIST`: a netlist (ngspice syntax) whose `ecram` instances are co-simulated
/// (cosim/), written as a ResultTree with /waveforms, /cells, /config and /metrics.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/progress.hpp"
#include "core/result.hpp"
#include "cosim/circuit.hpp"
#include "cosim/cosim.hpp"

namespace ecramsim::app {

struct RunJob {
  std::filesystem::path netlist;
  /// A model file read before the netlist, as if `.include FILE` stood just before its `.end`
  /// (the netlist then needs no `.model` card of its own; defining a model twice is an error).
  std::filesystem::path model;
  /// "name=value": a `.param` of the netlist when it has one of that name, else a parameter of
  /// every ecram model card. Applied in order.
  std::vector<std::string> sets;
  /// Glob patterns (fnmatch, case-insensitive) choosing the node voltages ("g_5_*", "v(out)")
  /// and source currents ("i(vsense*)", "vsense*#branch") written to /waveforms; empty = every
  /// node and source of the netlist (the stubs' internal ones never). Cells are always written.
  std::vector<std::string> save;
  bool noVariation = false;  ///< zero the cards' variation parameters
  std::uint64_t seed = 1;    ///< device-to-device variation, drawn per cell in instance order
  cosim::Options options;
};

/// A netlist read, its cells built and the stubs expanded, ready to run.
struct PreparedRun {
  std::string givenText;      ///< the netlist file as given
  cosim::BuiltCircuit built;
  cosim::Expanded expanded;

  /// The expanded netlist as text (what `--emit-netlist` prints).
  [[nodiscard]] std::string expandedText() const;
};

/// Reads and expands. Throws InputError with file:line for bad input.
[[nodiscard]] PreparedRun prepareRun(const RunJob& job);

/// Runs a prepared netlist and packs the result. Throws spice::SpiceError (a SimulationError)
/// when ngspice fails; a parse error of ngspice is rethrown as InputError with its location.
[[nodiscard]] ResultTree runPrepared(const RunJob& job, const PreparedRun& prepared,
                                     Progress& progress);

/// prepareRun + runPrepared.
[[nodiscard]] ResultTree runRunJob(const RunJob& job, Progress& progress);

}  // namespace ecramsim::app

#pragma once
/// The array engines behind `--engine`: one name check and one factory for every job.

#include <memory>
#include <string>

#include "array/crossbar_engine.hpp"
#include "array/geometry.hpp"
#include "array/write_solver.hpp"
#include "control/backend.hpp"
#include "core/rng.hpp"
#include "device/params.hpp"

namespace ecramsim::app {

/// Throws InputError naming --engine unless `engine` is "nodal" or "spice".
void checkEngine(const std::string& engine);

/// Estimated peak bytes of a backend of `engine` on `geo`: the cell states and variation, the
/// read and write networks with their sparse factors, and the transfer matrices.
[[nodiscard]] double estimateBackendBytes(const std::string& engine, const CrossbarGeometry& geo);

/// The backend of `engine`: "nodal" (array/NodalBackend) or "spice" (cosim/SpiceBackend, the
/// ngspice co-simulation of the generated netlist) for card `p` on `geo`. Both draw every
/// cell's device-to-device variation, row-major, from `rng`: the same seed gives the same
/// devices on either engine. Throws InputError for an unknown engine, and naming --rows/--cols
/// when estimateBackendBytes() exceeds the memory budget (core/memory_budget.hpp). The nodal
/// engine solves writes with `write_solver` on `threads` threads (NodalOptions::threads) and
/// reads with `read_solver`.
[[nodiscard]] std::unique_ptr<ArrayBackend> makeBackend(
    const std::string& engine, const EcramParams& p, const CrossbarGeometry& geo, Rng& rng,
    WriteSolverKind write_solver = WriteSolverKind::Fast,
    ReadSolverKind read_solver = ReadSolverKind::Fast, int threads = 1);

}  // namespace ecramsim::app

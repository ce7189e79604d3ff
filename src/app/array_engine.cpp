#include "app/array_engine.hpp"

#include "array/nodal_backend.hpp"
#include "core/error.hpp"
#include "core/memory_budget.hpp"
#include "cosim/spice_backend.hpp"

namespace ecramsim::app {

namespace {

// Peak resident bytes per cell, measured with /usr/bin/time on `vmm` and `program` runs of
// 100 x 100 to 400 x 400 arrays (nodal) and 8 x 8 to 32 x 32 arrays (spice), rounded up.
constexpr double kNodalBytesPerCell = 4096.0;
constexpr double kSpiceBytesPerCell = 65536.0;

}  // namespace

void checkEngine(const std::string& engine) {
  if (engine != "nodal" && engine != "spice") {
    throw InputError({}, "--engine",
                     "'" + echoToken(engine) + "' is not an engine; use nodal or spice");
  }
}

double estimateBackendBytes(const std::string& engine, const CrossbarGeometry& geo) {
  const auto rows = static_cast<double>(geo.rows), cols = static_cast<double>(geo.cols);
  const double cells = rows * cols;
  // Per cell: states, variation and conductance maps, the read and write networks, and their
  // sparse LDLT factors with fill-in (nodal), or the generated netlist inside ngspice (spice).
  const double perCell = engine == "spice" ? kSpiceBytesPerCell : kNodalBytesPerCell;
  // The C x R and R x R transfer matrices, and one block of 64 dense unit solves over the
  // about 3 R C unknowns.
  const double transfer = 8.0 * rows * (rows + cols) + 2.0 * 8.0 * 3.0 * cells * 64.0;
  return cells * perCell + transfer;
}

std::unique_ptr<ArrayBackend> makeBackend(const std::string& engine, const EcramParams& p,
                                          const CrossbarGeometry& geo, Rng& rng,
                                          WriteSolverKind write_solver,
                                          ReadSolverKind read_solver, int threads) {
  checkEngine(engine);
  geo.validate();
  checkMemoryEstimate(estimateBackendBytes(engine, geo), "--rows/--cols",
                      "a " + std::to_string(geo.rows) + " x " + std::to_string(geo.cols) +
                          " array on the " + engine + " engine");
  if (engine == "spice") return std::make_unique<SpiceBackend>(p, geo, rng);
  NodalOptions options;
  options.write_solver = write_solver;
  options.read_solver = read_solver;
  options.threads = threads;
  return std::make_unique<NodalBackend>(p, geo, rng, options);
}

}  // namespace ecramsim::app

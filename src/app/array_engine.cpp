#include "app/array_engine.hpp"

#include "array/nodal_backend.hpp"
#include "core/error.hpp"
#include "cosim/spice_backend.hpp"

namespace ecramsim::app {

void checkEngine(const std::string& engine) {
  if (engine != "nodal" && engine != "spice") {
    throw InputError({}, "--engine",
                     "'" + echoToken(engine) + "' is not an engine; use nodal or spice");
  }
}

std::unique_ptr<ArrayBackend> makeBackend(const std::string& engine, const EcramParams& p,
                                          const CrossbarGeometry& geo, Rng& rng) {
  checkEngine(engine);
  if (engine == "spice") return std::make_unique<SpiceBackend>(p, geo, rng);
  return std::make_unique<NodalBackend>(p, geo, rng);
}

}  // namespace ecramsim::app

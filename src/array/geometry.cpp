#include "array/geometry.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"

namespace ecramsim {

namespace {
void checkResistance(const char* name, double r) {
  if (!std::isfinite(r) || r < 0.0) {
    throw InputError({}, name, "resistance must be finite and >= 0 Ohm, got " + std::to_string(r));
  }
}
}  // namespace

void CrossbarGeometry::validate() const {
  if (rows < 1) throw InputError({}, "rows", "must be >= 1, got " + std::to_string(rows));
  if (cols < 1) throw InputError({}, "cols", "must be >= 1, got " + std::to_string(cols));
  checkResistance("r_gate_seg", r_gate_seg);
  checkResistance("r_row_seg", r_row_seg);
  checkResistance("r_col_seg", r_col_seg);
  checkResistance("r_drv", r_drv);
  checkResistance("r_sense", r_sense);
}

const CrossbarGeometry& checkedForLinearRead(const CrossbarGeometry& geo, const EcramParams& p,
                                             const char* engine) {
  geo.validate();
  if (p.c3 != 0.0) {
    throw InputError({}, "c3",
                     std::string("the ") + engine + "'s read network is linear and needs c3 = 0, got " +
                         std::to_string(p.c3));
  }
  return geo;
}

}  // namespace ecramsim

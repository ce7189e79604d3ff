#pragma once
/// A card's noise-free response to one pulse of a protocol, as the fit evaluates it thousands
/// of times per iteration. Both paths run the device bench (device/bench.hpp: odeint over the
/// pulse, then the grounded interval), so the physics stays the one of device/physics.hpp:
///  - exact: the bench is run from each state asked for;
///  - table (the fast path): the bench is run once from each of `nodes` states on Chebyshev
///    nodes in [0, 1] (dense at both ends, where the soft-bound window bends most), and the
///    state change is interpolated linearly between them. tests/fit holds it to the exact path.

#include <vector>

#include "device/params.hpp"
#include "device/protocols.hpp"

namespace ecramsim::fit {

class PulseResponse {
 public:
  /// `nodes` <= 0 selects the exact path. Variation in `p` (dg_c2c, *_d2d) is ignored.
  PulseResponse(const EcramParams& p, const PulseShape& shape, int nodes);

  /// The same response with another window: the state dynamics (device/physics.hpp) do not
  /// involve gmin and gmax, so the table is kept.
  void setWindow(double gmin, double gmax);
  /// True when `p` moves the state exactly as this response's card does (all but the window and
  /// the variation equal), so setWindow can stand in for a new response.
  [[nodiscard]] bool sameDynamics(const EcramParams& p) const;

  /// 1, the state after one pulse of `polarity` (+1 up, -1 down) and the interval after it.
  [[nodiscard]] double next(double x, int polarity) const;
  /// S, the conductance read at the shape's read voltage in state x.
  [[nodiscard]] double conductance(double x) const;
  /// 1, the state whose reading is `g_s`, clamped to [0, 1].
  [[nodiscard]] double state(double g_s) const;

 private:
  [[nodiscard]] double exactNext(double x, int polarity) const;

  EcramParams params_;
  PulseShape shape_;
  CellParams cell_;
  std::vector<double> nodes_;
  std::vector<double> upDx_, dnDx_;  ///< state change at each node
};

}  // namespace ecramsim::fit

#pragma once
/// Figures of merit of measured conductance traces, defined the way the device literature uses
/// them. Every definition is stated here and in README.md.

#include <span>
#include <vector>

namespace ecramsim::metrics {

/// One monotonic branch of a pulse train: G before the first pulse, then after every pulse.
struct BranchStats {
  double meanStep = 0.0;          ///< S, mean conductance change per pulse (signed)
  double nonlinearityPct = 0.0;   ///< largest |G(n) - chord(n)| in % of |G_end - G_start|,
                                  ///< where the chord joins the branch's first and last points
};
[[nodiscard]] BranchStats analyzeBranch(std::span<const double> g);

/// Cycle-to-cycle sigma relative to the local mean step. A device's mean step depends on its
/// state, so the steps of each polarity, pooled over all branches, are fitted by a quintic in the
/// conductance before the step; sigma is the standard deviation of step / fit - 1 over both
/// polarities. Steps that start or end in the outer 5% of [gLow, gHigh] are left out, since
/// the window bounds clip them.
[[nodiscard]] double c2cSigmaRel(const std::vector<std::vector<double>>& branches, double gLow,
                                 double gHigh);

/// Asymmetry of up and down steps: (|up| - |down|) / ((|up| + |down|) / 2).
[[nodiscard]] double asymmetry(double meanStepUp, double meanStepDown);

}  // namespace ecramsim::metrics

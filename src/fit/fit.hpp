#pragma once
/// Calibration of a model card to measured pulse data (`ecramsim fit`, issue 15).
///
/// The mean model: each ramp starts from the state of its first reading and is simulated pulse
/// by pulse with the card's physics (fit/response.hpp), noise-free. Ceres Solver (Levenberg-
/// Marquardt, central-difference Jacobian) minimizes the squared residuals, in units of the
/// data's conductance span, of either every reading against its ramp's simulation (objective
/// "ramps") or every step against the one-pulse prediction from the reading before it
/// (objective "steps"). gmin, gmax and q_c are fitted as logarithms (gmax as gmin + e^b, so the
/// window stays open); p_up and p_dn directly, bounded by the parameter table's range. A
/// CrossSim table enters as one step per G bin: its median row.
///
/// Several devices (DATA files, --up/--down pairs, the devices of an HDF5 windows file): the
/// pooled fit gives the card, then every device is fitted alone and gmin_d2d, gmax_d2d and
/// qc_d2d are the relative sigmas between devices (less the fits' own standard errors).
///
/// dg_c2c is not a least-squares parameter. From ramps it is the step-to-step sigma with the
/// read noise taken out (fit.cpp, estimateC2c: a reading error enters two neighbouring steps with
/// opposite signs, cycle-to-cycle noise does not); from a CrossSim table, sqrt(sum h^2 / sum m^2)
/// of the table's half spread h = (q84 - q16) / 2 against the fitted model's step m from each
/// bin (the bench's noise rule dG = m (1 + dg_c2c N(0,1)) makes that ratio converge to dg_c2c).
///
/// The card's spread is checked by simulation: every ramp, from its first reading, is run with
/// dg_c2c on the device bench `replicates` times. Its final conductance is read after the data
/// ramp's own pulses, unless the data's ragged lengths track the ramps' progress (lagging ramps
/// got more pulses: the measurement stopped them at a target, fit.cpp, RampLengths); then after
/// the branch's median pulse count, as a simulated ramp's noise is not the one that chose the
/// measured length.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "fit/data.hpp"
#include "modelcard/modelcard.hpp"

namespace ecramsim::fit {

/// The keys `--fit` may name, in the order of the default set (all of them).
[[nodiscard]] std::span<const std::string_view> fittableKeys();

/// "ramps" or "steps" (see the file comment).
enum class Objective { Ramps, Steps };

struct FitOptions {
  /// The _d2d keys need several devices (fitted one by one); with one they keep the start's.
  std::vector<std::string> keys{"gmin",   "gmax",     "q_c",      "p_up",  "p_dn",
                                "dg_c2c", "gmin_d2d", "gmax_d2d", "qc_d2d"};
  PulseShape shape{5.0, 0.1, 0.1, 0.1};
  Objective objective = Objective::Ramps;
  /// Chebyshev nodes of the pulse-response table; 0 runs the device bench for every pulse.
  int tableNodes = 129;
  int maxIterations = 200;
  /// Noisy simulations of every ramp (seeded) for the +-1 sigma band and the final-G spread.
  int replicates = 4;
  std::uint64_t seed = 1;
  std::string cardName;  ///< name of the fitted card; empty: START_fit
  std::string date;      ///< ISO date written into the card's comments
  std::string commandLine;
};

/// One fitted value.
struct FittedValue {
  std::string key;
  std::string unit;
  double start = 0.0;
  double value = 0.0;
  double stderror = 0.0;  ///< standard error (NaN when the covariance is singular)
  bool atBound = false;   ///< at an end of the parameter table's range
};

/// How well one branch (one polarity) is followed.
struct BranchFit {
  int polarity = 1;
  int ramps = 0;
  double rmsePct = 0.0;  ///< RMSE of the mean model against the mean of the ramps, % of span
  double r2 = 0.0;       ///< of every reading against its ramp's simulation
  double nonlinearityDataPct = 0.0;
  double nonlinearityModelPct = 0.0;
  double trendChi2 = 0.0;   ///< step residuals binned along G: sum (bin mean / its SE)^2 / bins
  double trendSize = 0.0;   ///< rms of the bin means, relative to the mean |step|
  bool mismatch = false;    ///< trendChi2 > 5 and trendSize > 0.1
  double finalSigmaData_s = 0.0;   ///< ramp-to-ramp sigma of the last reading
  double finalSigmaModel_s = 0.0;  ///< the same of the noisy simulations
  double travelSigmaData_s = 0.0;  ///< ramp-to-ramp sigma of last minus first reading
  double travelSigmaModel_s = 0.0;
  /// corr(pulse count, progress after the shortest ramp's pulses) over the branch's ramps
  double lengthProgressCorr = 0.0;
  bool lengthsTrackProgress = false;  ///< significantly negative: the data stopped at a target
  int finalPulsesModel = -1;  ///< pulses of every simulated ramp for finalSigmaModel_s; -1: own
};

struct FitResult {
  ModelCard card;  ///< the fitted card (params set; sourceText = cardText)
  std::string cardText;
  std::vector<FittedValue> values;
  std::vector<double> covariance;  ///< row-major, over the least-squares keys of `values`
  std::vector<BranchFit> branches;
  bool converged = false;
  int iterations = 0;
  double seconds = 0.0;
  std::vector<std::string> diagnostics;  ///< sentences for people: mismatches, bounds
  ResultTree tree;                       ///< the FIT.h5 content (without run metadata)

  /// Converged with no fitted value at a bound of its range.
  [[nodiscard]] bool ok() const;
};

/// Fits `start` to `data`. InputError for an unknown --fit key, data without pulses, or a start
/// card whose pulses do not move the state at the given pulse shape.
[[nodiscard]] FitResult fitCard(const MeasuredData& data, const ModelCard& start,
                                const FitOptions& options);

/// The fitted card's text: a header naming the data files and their sha256, then every
/// parameter, the fitted ones with a comment (data files, sha256, date, standard error).
[[nodiscard]] std::string fittedCardText(const FitResult& fit, const MeasuredData& data,
                                         const ModelCard& start, const FitOptions& options);

}  // namespace ecramsim::fit

/// The reduced write model (array/reduced_write.hpp) against the full circuit (NodalBackend's
/// nonlinear write solve of every phase): row-parallel count phases with random states and
/// random per-cell pulse counts (0-3, so up to three phases per batch) on the default card (device-to-device variation on, the
/// cycle-to-cycle noise off so that both see the same pulses) with the shipped line resistance
/// (2 Ohm segments, 20 Ohm drivers), V/2, unselected lines grounded. Every phase starts both
/// from the same states; the reduced model is refreshed at the start of each batch. Bounds (issue 14 D): every
/// selected cell's state change within 2 % of the circuit's; every half-selected cell's (the
/// selected row's other cells and the active columns' other cells: their disturb) within 10 %.
/// The remaining cells sit at a few millivolts and move by orders of magnitude less than the
/// half-selected ones; a ratio of two such numbers is not a bound worth stating, so they are held
/// to 10 % plus a floor of 1e-6 of the mean selected change (as are the V/3 half-selected cells
/// whose currents cancel, see checkBounds). 32 x 32 runs every time;
/// 128 x 128 is a bench case (tools/bench/reduced_write.sh).

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include "app/program_job.hpp"
#include "array/factor_write.hpp"
#include "array/nodal_backend.hpp"
#include "array/reduced_write.hpp"
#include "control/train.hpp"
#include "device/integrate.hpp"
#include "modelcard/modelcard.hpp"

using namespace ecramsim;
using Index = Eigen::Index;

namespace {

EcramParams cardWithoutNoise() {
  EcramParams p =
      loadModelCard(std::string(ECRAMSIM_SOURCE_DIR) + "/models/wox_ysz.model").params;
  p.dg_c2c = 0.0;
  return p;
}

struct Comparison {
  double selected_max = 0.0;   ///< largest |reduced - circuit| / |circuit| of a selected cell
  double disturb_ratio = 0.0;  ///< largest relative error of a half-selected cell
  double disturb_min = 1e300;  ///< smallest |change| of a half-selected cell
  double disturb_max = 0.0;    ///< every unselected cell: largest error / (0.1 |circuit| + floor)
  double rest_max = 0.0;       ///< other cells: largest |change|
  double factor_min = 1e300, factor_max = 0.0;  ///< circuit change / single-cell pulse change
  long long selected = 0, disturbed = 0, below_floor = 0, phases = 0;
  double circuit_s = 0.0, reduced_s = 0.0;
};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Which reduced model is held to the circuit.
enum class Model { Reduced, Factors, FactorsPerCell };

/// `rowsTried` rows of an n x n tile, each a batch of 0-3 pulses per cell (+-5 V, 100 ms, one
/// sign per row; a cell gets pulses with probability `density`), split into its phases; each
/// phase applied by the circuit and the reduced model from the same states.
Comparison compare(Index n, int rowsTried, std::uint64_t seed, const BiasScheme& scheme = {},
                   Model model = Model::Reduced, double density = 1.0) {
  const EcramParams card = cardWithoutNoise();
  Rng rng(seed), backendRng(seed + 1), noiseRng(seed + 2);
  NodalBackend full(card, app::defaultGeometry(n, n), backendRng);
  ReducedWriteModel reduced(full.cellParameters(), full.geometry(), 0.0);
  FactorWriteModel factors(full.cellParameters(), full.geometry(), 0.0,
                           model != Model::FactorsPerCell);
  Eigen::MatrixXd x(n, n);
  for (Index k = 0; k < x.size(); ++k) x.data()[k] = 0.05 + 0.9 * rng.uniform();
  full.setStates(x);
  const double width = 0.1;
  Comparison out;
  for (int t = 0; t < rowsTried; ++t) {
    const auto row = static_cast<Index>(rng.uniform() * double(n)) % n;
    const double amplitude = t % 2 == 0 ? 5.0 : -5.0;
    std::vector<PulseRequest> all;
    for (Index c = 0; c < n; ++c) {
      const int count = static_cast<int>(rng.uniform() * 4.0) % 4;
      if (rng.uniform() >= density) continue;
      for (int k = 0; k < count; ++k) all.push_back({row, c, amplitude, width});
    }
    // Refreshed once per batch, as training does (--refresh 1): later phases of the batch see
    // the conductances of its start.
    double t0 = now();
    if (model == Model::Reduced) reduced.refresh(full.states());
    else factors.refresh(full.states());
    out.reduced_s += now() - t0;
    for (const WritePhase& ph : groupIntoPhases(all, PulseOrder::RowParallel)) {
      std::vector<PulseRequest> phase;
      for (std::size_t k : ph.pulses) phase.push_back(all[k]);
      const Eigen::MatrixXd x0 = full.states();
      t0 = now();
      const Eigen::MatrixXd dFull = full.applyPulses(phase, scheme, PulseOrder::RowParallel).delta_x;
      out.circuit_s += now() - t0;
      Eigen::MatrixXd xr = x0;
      t0 = now();
      if (model == Model::Reduced) (void)reduced.apply(phase, scheme, xr, noiseRng);
      else (void)factors.apply(phase, scheme, xr, noiseRng);
      out.reduced_s += now() - t0;
      const Eigen::MatrixXd dRed = xr - x0;
      ++out.phases;
      std::vector<bool> pulsed(std::size_t(n), false);
      double meanSelected = 0.0;
      for (const PulseRequest& p : phase) {
        pulsed[std::size_t(p.col)] = true;
        const double f = dFull(p.row, p.col);
        meanSelected += std::fabs(f) / double(phase.size());
        out.selected_max = std::max(out.selected_max, std::fabs(dRed(p.row, p.col) - f) / std::fabs(f));
        const BiasLevels lv = biasLevels(scheme, amplitude);
        const double single = advanceHeld(full.cell(p.row, p.col), x0(p.row, p.col),
                                          {lv.gate_selected_v, lv.drain_selected_v, lv.source_selected_v},
                                          width).x - x0(p.row, p.col);
        out.factor_min = std::min(out.factor_min, f / single);
        out.factor_max = std::max(out.factor_max, f / single);
        ++out.selected;
      }
      // Half-selected cells (the selected row's other cells, the active columns' other cells)
      // are held to the ratio; the rest, which move by about 1e-11 per phase, to the floor.
      const double floor = 1e-6 * meanSelected;
      for (Index r = 0; r < n; ++r) {
        for (Index c = 0; c < n; ++c) {
          if (r == row && pulsed[std::size_t(c)]) continue;
          const double f = dFull(r, c), e = std::fabs(dRed(r, c) - f);
          out.disturb_max = std::max(out.disturb_max, e / (0.1 * std::fabs(f) + floor));
          if (r == row || pulsed[std::size_t(c)]) {
            out.disturb_ratio = std::max(out.disturb_ratio, e / std::fabs(f));
            out.disturb_min = std::min(out.disturb_min, std::fabs(f));
            ++out.disturbed;
          } else {
            out.rest_max = std::max(out.rest_max, std::fabs(f));
            ++out.below_floor;
          }
        }
      }
    }
  }
  return out;
}

void report(Index n, const Comparison& c) {
  std::printf(
      "%lld x %lld, %lld phases: selected cells %lld, max error %.4f %% (bound 2 %%); "
      "half-selected cells %lld (|change| >= %.2e), max error %.4f %% (bound 10 %%); other cells "
      "%lld (|change| <= %.2e), max error / (10 %% + floor) %.4f; circuit factor of the selected "
      "cells %.4f .. %.4f; time per phase: circuit %.4f s, reduced %.4f s (ratio %.1f)\n",
      (long long)n, (long long)n, c.phases, c.selected, 100.0 * c.selected_max, c.disturbed,
      c.disturb_min, 100.0 * c.disturb_ratio, c.below_floor, c.rest_max, c.disturb_max,
      c.factor_min, c.factor_max,
      c.circuit_s / double(c.phases), c.reduced_s / double(c.phases), c.circuit_s / c.reduced_s);
}

/// `strict`: every half-selected cell within 10 % with no floor (V/2, where none of them is
/// near zero); under V/3 a column's half-selected cells see -V/3 and +V/3 at the two channel
/// ends, their gate currents nearly cancel (down to 1e-15 per phase) and they take the floor.
void checkBounds(const Comparison& c, bool strict = true) {
  CHECK(c.selected > 0);
  CHECK(c.disturbed > 0);
  CHECK(c.selected_max < 0.02);
  if (strict) CHECK(c.disturb_ratio < 0.10);
  CHECK(c.disturb_max <= 1.0);
}

/// A whole update at once, as training applies it: `rowsTried` random rows of an n x n tile
/// (pulses as in compare(), both signs), every phase of all of them in one call to the circuit
/// and one to the pulse-factor model, from the same states. Each cell's total change: the
/// pulsed cells' within `selectedBound` of the circuit's; the others' (their disturb, summed
/// over the phases) within 10 % plus a floor of 1e-6 of the mean pulsed change.
struct BatchComparison {
  double selected_max = 0.0, disturb_max = 0.0;
  long long selected = 0, disturbed = 0, phases = 0;
  double circuit_s = 0.0, factors_s = 0.0;
};

BatchComparison compareBatch(Index n, int rowsTried, std::uint64_t seed, double density,
                             const BiasScheme& scheme = {}) {
  const EcramParams card = cardWithoutNoise();
  Rng rng(seed), backendRng(seed + 1), noiseRng(seed + 2);
  NodalBackend full(card, app::defaultGeometry(n, n), backendRng);
  FactorWriteModel factors(full.cellParameters(), full.geometry(), 0.0);
  Eigen::MatrixXd x(n, n);
  for (Index k = 0; k < x.size(); ++k) x.data()[k] = 0.05 + 0.9 * rng.uniform();
  full.setStates(x);
  std::vector<PulseRequest> all;
  for (int t = 0; t < rowsTried; ++t) {
    const auto row = static_cast<Index>(rng.uniform() * double(n)) % n;
    for (Index c = 0; c < n; ++c) {
      const int count = static_cast<int>(rng.uniform() * 4.0) % 4;
      const double amplitude = rng.uniform() < 0.5 ? 5.0 : -5.0;
      if (rng.uniform() >= density) continue;
      for (int k = 0; k < count; ++k) all.push_back({row, c, amplitude, 0.1});
    }
  }
  BatchComparison out;
  double t0 = now();
  const PulseBatchResult circuit = full.applyPulses(all, scheme, PulseOrder::RowParallel);
  out.circuit_s = now() - t0;
  out.phases = static_cast<long long>(groupIntoPhases(all, PulseOrder::RowParallel).size());
  Eigen::MatrixXd xf = x;
  t0 = now();
  factors.refresh(x);
  (void)factors.apply(all, scheme, xf, noiseRng);
  out.factors_s = now() - t0;
  const Eigen::MatrixXd dFull = circuit.delta_x, dFac = xf - x;
  Eigen::MatrixXi pulsed = Eigen::MatrixXi::Zero(n, n);
  for (const PulseRequest& p : all) pulsed(p.row, p.col) = 1;
  double meanPulsed = 0.0;
  for (Index k = 0; k < x.size(); ++k) {
    if (pulsed.data()[k]) meanPulsed += std::fabs(dFull.data()[k]) / double(pulsed.sum());
  }
  for (Index k = 0; k < x.size(); ++k) {
    const double f = dFull.data()[k], e = std::fabs(dFac.data()[k] - f);
    if (pulsed.data()[k]) {
      out.selected_max = std::max(out.selected_max, e / std::fabs(f));
      ++out.selected;
    } else {
      out.disturb_max = std::max(out.disturb_max, e / (0.1 * std::fabs(f) + 1e-6 * meanPulsed));
      ++out.disturbed;
    }
  }
  std::printf(
      "pulse-factor model, whole update on %lld x %lld (%d rows, density %.2f, %lld phases): "
      "pulsed cells %lld, max error %.4f %%; other cells %lld, max error / (10 %% + floor) "
      "%.4f; circuit %.3f s, factors %.4f s (ratio %.0f)\n",
      (long long)n, (long long)n, rowsTried, density, out.phases, out.selected,
      100.0 * out.selected_max, out.disturbed, out.disturb_max, out.circuit_s, out.factors_s,
      out.circuit_s / out.factors_s);
  return out;
}

}  // namespace

TEST_CASE("reduced write model: 32 x 32 count phases within 2 % (selected) and 10 % (disturb) of the circuit") {
  const Comparison c = compare(32, 4, 7);
  report(32, c);
  checkBounds(c);
  // The line drop matters: without it the factors would all be one value.
  CHECK(c.factor_max / c.factor_min > 1.01);
}

TEST_CASE("reduced write model: 32 x 32 under V/3 (every cell disturbed) within 2 % and 10 % plus the floor") {
  BiasScheme third;
  third.fraction = BiasFraction::Third;
  const Comparison c = compare(32, 2, 8, third);
  report(32, c);
  checkBounds(c, false);
}

TEST_CASE("reduced write model: its line potentials equal the circuit's on an ideal-wire array") {
  // With zero line and driver resistance every node sits at its driver level.
  const EcramParams card = cardWithoutNoise();
  Rng rng(3);
  CrossbarGeometry g;
  g.rows = 4;
  g.cols = 6;
  NodalBackend full(card, g, rng);
  ReducedWriteModel reduced(full.cellParameters(), g, 0.0);
  reduced.refresh(full.states());
  const std::vector<bool> active{true, false, true, false, false, true};
  const auto p = reduced.phasePotentials(2, 5.0, active, BiasScheme{});
  for (Index r = 0; r < 4; ++r) {
    for (Index c = 0; c < 6; ++c) {
      CHECK(p.vg(r, c) == (r == 2 ? 2.5 : 0.0));
      CHECK(p.vd(r, c) == (active[std::size_t(c)] ? -2.5 : 0.0));
      CHECK(p.vs(r, c) == 0.0);
    }
  }
  BiasScheme floating;
  floating.unselected = UnselectedLines::Floating;
  Eigen::MatrixXd x = full.states();
  const std::vector<PulseRequest> one{{0, 0, 5.0, 0.1}};
  CHECK_THROWS_AS((void)reduced.apply(one, floating, x, rng), InputError);
}

TEST_CASE("pulse-factor write model: 32 x 32 count phases within 2 % (selected) and 10 % (disturb) of the circuit") {
  const Comparison c = compare(32, 4, 7, {}, Model::Factors);
  report(32, c);
  checkBounds(c);
  // The same with every cell's currents fitted at its own reference (the reference path of
  // the shared factors).
  const Comparison own = compare(32, 4, 7, {}, Model::FactorsPerCell);
  report(32, own);
  checkBounds(own);
}

TEST_CASE("pulse-factor write model: 32 x 32 under V/3 within 2 % and 10 % plus the floor") {
  BiasScheme third;
  third.fraction = BiasFraction::Third;
  const Comparison c = compare(32, 2, 8, third, Model::Factors);
  report(32, c);
  checkBounds(c, false);
}

TEST_CASE("pulse-factor write model: a whole update of many rows, both signs, in one call") {
  // The mean-field terminals of the half-selected cells are exact only for one phase; over a
  // whole update of sparse (training-like) and dense rows they stay within the same bounds.
  for (const double density : {0.1, 1.0}) {
    const BatchComparison b = compareBatch(32, 6, 9, density);
    CHECK(b.selected > 0);
    CHECK(b.selected_max < 0.02);
    CHECK(b.disturb_max <= 1.0);
  }
}

TEST_CASE("bench pulse-factor write model: 128 x 128 against the full circuit" * doctest::skip()) {
  const Comparison c = compare(128, 2, 11, {}, Model::Factors);
  report(128, c);
  checkBounds(c);
  for (const double density : {0.1, 1.0}) {
    const BatchComparison b = compareBatch(128, 4, 12, density);
    CHECK(b.selected_max < 0.02);
    CHECK(b.disturb_max <= 1.0);
  }
}

TEST_CASE("bench reduced write model: 128 x 128 against the full circuit" * doctest::skip()) {
  const Comparison c = compare(128, 2, 11);
  report(128, c);
  checkBounds(c);
}

TEST_CASE("reduced writes in a training layer track the circuit's, c2c noise included, refreshed every K updates") {
  // Two layers of the same seed on the default card (c2c and d2d on) with the shipped lines,
  // one written through the circuit, one through the reduced model: the same requests (the
  // controller's rounding stream is the same) and the same noise draws, so every cell's change
  // over three updates agrees to within 2 % of the largest change.
  using namespace ecramsim::train;
  const EcramParams card =
      loadModelCard(std::string(ECRAMSIM_SOURCE_DIR) + "/models/wox_ysz.model").params;
  const PairMapping map{card.gmin, card.gmax, 2.0, 0.1};
  const PulsePolicy policy;
  const PulseResponse response(cellParams(card), policy.scheme, policy.amplitude_v,
                               policy.width_s);
  const BackendFactory make = [&card](Index rows, Index cols, Rng& rng) {
    return std::unique_ptr<ArrayBackend>(
        std::make_unique<NodalBackend>(card, app::defaultGeometry(rows, cols), rng));
  };
  Rng draw(21);
  Eigen::MatrixXd x0(24, 12), dw(24, 6);
  for (Index k = 0; k < x0.size(); ++k) x0.data()[k] = 0.3 + 0.4 * draw.uniform();
  for (Index k = 0; k < dw.size(); ++k) dw.data()[k] = 0.12 * (draw.uniform() - 0.5);
  Eigen::MatrixXd after[2];
  for (int reduced : {0, 1}) {
    Rng rng(5);
    DifferentialLayer layer(24, 6, 24, 12, make, rng, map);
    layer.setStates(x0);
    if (reduced) layer.useWriteModel(makeReducedTileWrites, 2);
    long long pulses = 0;
    for (int k = 0; k < 3; ++k) pulses += layer.update(dw, response, policy, 1).pulses;
    CHECK(pulses > 200);
    after[reduced] = layer.states();
  }
  const Eigen::MatrixXd d0 = after[0] - x0, d1 = after[1] - x0;
  const double err = (d1 - d0).cwiseAbs().maxCoeff() / d0.cwiseAbs().maxCoeff();
  MESSAGE("largest difference of a cell's change, reduced - circuit: " << 100.0 * err
                                                                       << " % of the largest");
  CHECK(err < 0.02);
  Rng rng(5);
  DifferentialLayer layer(4, 2, 4, 4, make, rng, map);
  CHECK_THROWS_AS(layer.useWriteModel(makeReducedTileWrites, 0), InputError);
}

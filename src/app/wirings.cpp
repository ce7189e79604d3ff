#include "app/wirings.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "app/array_engine.hpp"
#include "app/cards.hpp"
#include "app/program_job.hpp"
#include "app/vmm_job.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"

namespace ecramsim::app {

namespace {

/// The pulse figures of one wiring and bias fraction (see the header), into `out`.
void pulseFigures(const ModelCard& card, Wiring wiring, BiasFraction fraction,
                  const std::string& engine, const std::string& prefix, ResultTree& out) {
  EcramParams p = card.params;
  p.dg_c2c = p.gmin_d2d = p.gmax_d2d = p.i0_d2d = p.qc_d2d = 0.0;
  CrossbarGeometry geo = defaultGeometry(10, 10);
  geo.wiring = wiring;
  Rng rng(1);
  const auto array = makeBackend(engine, p, geo, rng);
  const Eigen::MatrixXd x0 = Eigen::MatrixXd::Constant(10, 10, 0.5);
  array->setStates(x0);
  const std::vector<PulseRequest> pulse{{5, 5, 5.0, 100e-3}};
  const PulseBatchResult res =
      array->applyPulses(pulse, {fraction, UnselectedLines::Grounded, wiring}, PulseOrder::Serial);
  Eigen::MatrixXd dx = array->states() - x0;
  const double selected = dx(5, 5);
  dx(5, 5) = 0.0;
  const double disturb = dx.cwiseAbs().maxCoeff();
  const std::string bias = fraction == BiasFraction::Half ? "V/2" : "V/3";
  out.metric(prefix + "pulse_step_pct", 100.0 * selected, "%",
             "selected cell's step in one 5 V / 100 ms " + bias + " pulse from x = 0.5, % of window");
  out.metric(prefix + "disturb_max_pct", 100.0 * disturb, "%",
             "largest |step| of any other cell in that pulse (half-select disturb), % of window");
  out.metric(prefix + "selectivity", disturb > 0.0 ? selected / disturb : INFINITY, "1",
             "selected step over the largest disturb");
  out.metric(prefix + "pulse_energy_j", res.energy_j, "J",
             "energy delivered by every line driver in that pulse");
}

}  // namespace

ResultTree compareWirings(const WiringComparisonConfig& cfg, Progress& progress) {
  checkEngine(cfg.engine);
  const ModelCard card = resolveCard(defaultCardPath().string(), {});
  const std::vector<std::string>& patterns = shippedPatterns();
  ResultTree out;
  const Wiring wirings[] = {Wiring::SourceRows, Wiring::SourceCols};
  const std::size_t total = 2 * (2 + patterns.size() * 2 + 1);
  std::size_t done = 0;
  for (const Wiring wiring : wirings) {
    const std::string w = wiringName(wiring) + "/";
    for (const BiasFraction f : {BiasFraction::Half, BiasFraction::Third}) {
      globalCancelToken().throwIfCancelled();
      pulseFigures(card, wiring, f, cfg.engine, w + (f == BiasFraction::Half ? "v2/" : "v3/"), out);
      progress.update("wirings", ++done, total);
    }
    for (const NamedScheme& s : patternSchemes()) {
      if (s.scheme == ProgramScheme::Verify) continue;  // open loop only
      double sum = 0.0, worst = 0.0;
      for (const auto& pattern : patterns) {
        globalCancelToken().throwIfCancelled();
        ProgramJob job;
        job.target = projectRoot() / "data" / "patterns" / (pattern + ".pgm");
        job.card = card;
        job.geometry = defaultGeometry(0, 0);
        job.geometry.wiring = wiring;
        job.config.scheme = s.scheme;
        job.config.order = s.order;
        job.seed = cfg.seed;
        job.engine = cfg.engine;
        NullProgress quiet;
        const ResultTree one = runProgramJob(job, quiet);
        double rmse = 0.0;
        for (const auto& m : one.metrics()) {
          if (m.name == "rmse_pct") rmse = m.value;
        }
        out.metric(w + "v2/" + s.name + "/" + pattern + "/rmse_pct", rmse, "%",
                   std::string("open-loop ") + s.name + " RMSE of " + pattern + ", % of window");
        sum += rmse;
        worst = std::max(worst, rmse);
        progress.update("wirings", ++done, total);
      }
      out.metric(w + "v2/" + s.name + "/rmse_mean_pct", sum / double(patterns.size()), "%",
                 std::string("open-loop ") + s.name + " RMSE, mean over the five patterns");
      out.metric(w + "v2/" + s.name + "/rmse_max_pct", worst, "%",
                 std::string("open-loop ") + s.name + " RMSE, largest of the five patterns");
    }
    globalCancelToken().throwIfCancelled();
    VmmJob vmm;
    vmm.card = card;
    vmm.geometry = defaultGeometry(10, 10);
    vmm.geometry.wiring = wiring;
    vmm.seed = cfg.seed;
    vmm.engine = cfg.engine;
    NullProgress quiet;
    try {
      const ResultTree one = runVmmJob(vmm, quiet);
      for (const auto& m : one.metrics()) {
        if (m.name == "error_rms_pct") {
          out.metric(w + "vmm_error_rms_pct", m.value, "%",
                     "VMM RMS error (10x10, 1000 vectors), % of full scale");
        }
      }
      out.metric(w + "vmm_refused", 0.0, "1", "1 when the wiring cannot do a VMM");
    } catch (const InputError& e) {
      out.metric(w + "vmm_refused", 1.0, "1", "1 when the wiring cannot do a VMM");
      out.attribute("/config/" + wiringName(wiring), "vmm_refused", std::string(e.what()));
    }
    progress.update("wirings", ++done, total);
  }
  recordCard(card, "/config/model", out);
  out.attribute("/config", "geometry",
                std::string("10x10, 2 Ohm per line segment, 20 Ohm drivers (defaultGeometry)"));
  out.attribute("/config", "unselected", std::string("grounded (held at their levels)"));
  return out;
}

}  // namespace ecramsim::app

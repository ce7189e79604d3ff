#include "app/program_job.hpp"

#include <cmath>
#include <memory>

#include "app/array_engine.hpp"
#include "app/cards.hpp"
#include "array/line_potentials.hpp"
#include "core/error.hpp"
#include "core/stats.hpp"
#include "io/targets.hpp"

namespace ecramsim::app {

CrossbarGeometry defaultGeometry(Eigen::Index rows, Eigen::Index cols) {
  CrossbarGeometry g;
  g.rows = rows;
  g.cols = cols;
  g.r_gate_seg = g.r_row_seg = g.r_col_seg = 2.0;
  g.r_drv = 20.0;
  g.r_sense = 0.0;
  return g;
}

namespace {

std::vector<double> rowMajor(const Eigen::MatrixXd& m) {
  std::vector<double> v(static_cast<std::size_t>(m.size()));
  for (Eigen::Index r = 0; r < m.rows(); ++r) {
    for (Eigen::Index c = 0; c < m.cols(); ++c) v[static_cast<std::size_t>(r * m.cols() + c)] = m(r, c);
  }
  return v;
}

void putMap(ResultTree& out, const std::string& path, const Eigen::MatrixXd& m,
            const std::string& unit, const std::string& description) {
  out.matrix(path, static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols()), rowMajor(m),
             unit, description);
}

const char* schemeName(ProgramScheme s) {
  switch (s) {
    case ProgramScheme::Count: return "count";
    case ProgramScheme::Pwm: return "pwm";
    case ProgramScheme::Verify: return "verify";
  }
  return "?";
}

}  // namespace

void programMetrics(const ProgramResult& r, double g_low, double g_high, ResultTree& out) {
  const double window = g_high - g_low;
  const Eigen::ArrayXXd err = (r.after_s - r.target_s).array() / window * 100.0;
  const double rmse = std::sqrt(err.square().mean());
  std::vector<double> a(r.after_s.data(), r.after_s.data() + r.after_s.size());
  std::vector<double> t(r.target_s.data(), r.target_s.data() + r.target_s.size());
  const double within = (err.abs() <= 2.0).cast<double>().mean();
  const Eigen::ArrayXXd dist = r.disturb_s.array().abs() / window * 100.0;
  out.metric("rmse_pct", rmse, "%", "RMS of G_after - G_target, % of the window");
  out.metric("max_error_pct", err.abs().maxCoeff(), "%", "largest |G_after - G_target|, % of the window");
  out.metric("pearson_r", stats::pearson(a, t), "1", "Pearson correlation of programmed and target maps");
  out.metric("within_2pct", within, "1", "fraction of cells within 2% of the window of their target");
  out.metric("pulses", double(r.total_pulses), "count", "write pulses applied");
  out.metric("reads", double(r.reads), "count", "read input vectors spent while writing (verify)");
  out.metric("time_s", r.time_s, "s", "array time of the writing: pulses and verify reads");
  out.metric("energy_j", r.energy_j, "J", "energy drawn from the line drivers while writing");
  out.metric("disturb_max_pct", dist.maxCoeff(), "%",
             "largest |change| a cell suffered while others were written, % of the window");
  out.metric("disturb_mean_pct", dist.mean(), "%", "mean |disturb| over the cells, % of the window");
}

const std::vector<std::string>& shippedPatterns() {
  static const std::vector<std::string> names{"letter_e", "letter_c", "letter_r", "letter_a",
                                              "letter_m"};
  return names;
}

const std::vector<NamedScheme>& patternSchemes() {
  static const std::vector<NamedScheme> schemes{
      {"pwm", ProgramScheme::Pwm, PulseOrder::Serial},
      {"count", ProgramScheme::Count, PulseOrder::RowParallel},
      {"verify", ProgramScheme::Verify, PulseOrder::Serial}};
  return schemes;
}

ResultTree runProgramJob(const ProgramJob& job, Progress& progress) {
  const auto& p = job.card.params;
  const io::TargetMap tm = io::readTargetMap(job.target, static_cast<std::size_t>(job.geometry.rows),
                                             static_cast<std::size_t>(job.geometry.cols));
  CrossbarGeometry geo = job.geometry;
  geo.rows = static_cast<Eigen::Index>(tm.rows);
  geo.cols = static_cast<Eigen::Index>(tm.cols);
  geo.validate();
  double lo = job.g_low, hi = job.g_high;
  if (lo == 0.0 && hi == 0.0) {
    lo = p.gmin;
    hi = p.gmax;
  }
  if (!(lo >= p.gmin && hi <= p.gmax && hi > lo)) {
    throw InputError({}, "--window", "must satisfy gmin <= low < high <= gmax of the card");
  }
  checkEngine(job.engine);
  Eigen::MatrixXd target(geo.rows, geo.cols);
  for (Eigen::Index r = 0; r < geo.rows; ++r) {
    for (Eigen::Index c = 0; c < geo.cols; ++c) target(r, c) = tm.at(std::size_t(r), std::size_t(c));
  }
  Rng rng(job.seed);
  const std::unique_ptr<ArrayBackend> array =
      makeBackend(job.engine, p, geo, rng, job.write_solver, ReadSolverKind::Fast, job.threads);
  ProgramConfig config = job.config;
  config.bias.wiring = geo.wiring;  // the scheme is written for the array's wiring
  Rng modelRng(0);  // the nodal model's (it keeps a reference; its card has no noise)
  std::unique_ptr<ArrayBackend> model;
  std::unique_ptr<WriteLineModel> lines;
  if (job.compensate == "lines") {
    lines = makeLadderLineModel(geo);
    config.lines = lines.get();
  } else if (job.compensate == "nodal") {
    // The controller's model: the nominal card (no variation) on the same lines, nodal engine.
    EcramParams nominal = p;
    nominal.dg_c2c = nominal.gmin_d2d = nominal.gmax_d2d = nominal.i0_d2d = nominal.qc_d2d = 0.0;
    model = makeBackend("nodal", nominal, geo, modelRng, job.write_solver, ReadSolverKind::Fast,
                        job.threads);
    config.model = model.get();
  } else if (job.compensate != "none") {
    throw InputError({}, "--compensate", "must be none, lines or nodal, not " + job.compensate);
  }
  const ProgramResult r = programArray(*array, p, target, lo, hi, config, progress);

  ResultTree out;
  putMap(out, "/maps/target_s", r.target_s, "S", "target conductance");
  putMap(out, "/maps/before_s", r.before_s, "S", "conductance before writing");
  putMap(out, "/maps/after_s", r.after_s, "S", "conductance after writing (device state)");
  if (r.read_s.size() > 0) {
    putMap(out, "/maps/read_s", r.read_s, "S", "conductance read through the array after writing");
  }
  putMap(out, "/maps/error_pct", ((r.after_s - r.target_s) / (hi - lo) * 100.0), "%",
         "G_after - G_target, % of the window");
  putMap(out, "/maps/disturb_s", r.disturb_s, "S", "change suffered while other cells were written");
  putMap(out, "/maps/pulses", r.pulses, "count", "pulses applied to each cell");
  out.dimensionsBelow("/maps", {"row", "col"});
  std::vector<std::int64_t> row, col;
  std::vector<double> amp, width, start, energy;
  for (const auto& l : r.log) {
    row.push_back(l.row);
    col.push_back(l.col);
    amp.push_back(l.amplitude_v);
    width.push_back(l.width_s);
    start.push_back(l.start_s);
    energy.push_back(l.energy_j);
  }
  out.integers("/pulses/row", row, "1", "row of the pulsed cell");
  out.integers("/pulses/col", col, "1", "column of the pulsed cell");
  out.vector("/pulses/amplitude_v", amp, "V", "write amplitude (sign: direction)");
  out.vector("/pulses/width_s", width, "s", "pulse width");
  out.vector("/pulses/time_s", start, "s", "array time at the start of the pulse");
  out.vector("/pulses/energy_j", energy, "J", "energy dissipated in the pulsed cell");
  out.dimensionsBelow("/pulses", {"pulse"});
  programMetrics(r, lo, hi, out);
  recordCard(job.card, "/config/model", out);
  out.text("/config/target_file", job.target.string());
  out.attribute("/config", "scheme", std::string(schemeName(job.config.scheme)));
  out.attribute("/config", "bias", std::string(job.config.bias.fraction == BiasFraction::Half ? "v2" : "v3"));
  out.attribute("/config", "unselected",
                std::string(job.config.bias.unselected == UnselectedLines::Grounded ? "grounded" : "floating"));
  out.attribute("/config", "wiring", wiringName(geo.wiring));
  out.attribute("/config", "order", std::string(job.config.order == PulseOrder::Serial ? "serial" : "row"));
  out.attribute("/config", "engine", job.engine);
  out.attribute("/config", "compensate", job.compensate);
  out.attribute("/config", "window_low_s", lo);
  out.attribute("/config", "window_high_s", hi);
  out.attribute("/config", "r_gate_seg_ohm", geo.r_gate_seg);
  out.attribute("/config", "r_row_seg_ohm", geo.r_row_seg);
  out.attribute("/config", "r_col_seg_ohm", geo.r_col_seg);
  out.attribute("/config", "r_drv_ohm", geo.r_drv);
  out.attribute("/config", "amplitude_v", job.config.amplitude_v);
  return out;
}

}  // namespace ecramsim::app

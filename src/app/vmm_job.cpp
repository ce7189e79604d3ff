#include "app/vmm_job.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "app/array_engine.hpp"
#include "app/cards.hpp"
#include "array/sneak_read.hpp"
#include "core/error.hpp"
#include "core/input_file.hpp"
#include "core/memory_budget.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "core/stats.hpp"
#include "device/physics.hpp"
#include "io/targets.hpp"

namespace ecramsim::app {

namespace {

std::vector<double> rowMajor(const Eigen::MatrixXd& m) {
  std::vector<double> v(static_cast<std::size_t>(m.size()));
  for (Eigen::Index r = 0; r < m.rows(); ++r) {
    for (Eigen::Index c = 0; c < m.cols(); ++c) {
      v[static_cast<std::size_t>(r * m.cols() + c)] = m(r, c);
    }
  }
  return v;
}

void putMatrix(ResultTree& out, const std::string& path, const Eigen::MatrixXd& m,
               const std::string& unit, const std::string& description) {
  out.matrix(path, static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols()),
             rowMajor(m), unit, description);
}

std::vector<double> toVector(const Eigen::VectorXd& v) { return {v.data(), v.data() + v.size()}; }

/// Input vectors from a CSV file: one vector of `rows` voltages per non-blank line ('#' starts
/// a comment line).
Eigen::MatrixXd readInputs(const std::filesystem::path& file, Eigen::Index rows) {
  std::ifstream in = openInputFile(file, "--inputs", "input vector file");
  std::vector<std::vector<double>> vecs;
  std::string line;
  int lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    std::vector<double> v;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) {
      const char* b = cell.c_str();
      char* end = nullptr;
      const double x = std::strtod(b, &end);
      const bool blankRest = std::string(end).find_first_not_of(" \t\r") == std::string::npos;
      if (end == b || !blankRest) {
        throw InputError({file.string(), lineNo}, "--inputs",
                         "'" + echoToken(cell) + "' is not a number");
      }
      if (!std::isfinite(x)) {
        throw InputError({file.string(), lineNo}, "--inputs",
                         "'" + echoToken(cell) + "' is not finite");
      }
      v.push_back(x);
    }
    if (static_cast<Eigen::Index>(v.size()) != rows) {
      throw InputError({file.string(), lineNo}, "--inputs",
                       "vector has " + std::to_string(v.size()) + " values, the array has " +
                           std::to_string(rows) + " rows");
    }
    vecs.push_back(std::move(v));
  }
  if (vecs.empty()) throw InputError({file.string(), 0}, "--inputs", "holds no input vector");
  Eigen::MatrixXd m(static_cast<Eigen::Index>(vecs.size()), rows);
  for (std::size_t k = 0; k < vecs.size(); ++k) {
    for (Eigen::Index r = 0; r < rows; ++r) m(Eigen::Index(k), r) = vecs[k][std::size_t(r)];
  }
  return m;
}

/// Input vectors per cancellation check of the /vmm part.
constexpr Eigen::Index kVectorBlock = 4096;

/// Largest array (cells) whose floating-line sneak read is computed. With every unselected
/// line floating, the network is held only through the cells of one selected line pair: the
/// fast read solver cannot confirm its tolerance there (ill-conditioned) and the read falls
/// back to the sparse Cholesky factorization of the whole floating network, ~5 s at 512 x 512.
constexpr Eigen::Index kSneakFloatingMaxCells = 256 * 256;

Eigen::VectorXd linspace(Eigen::Index n, double lo, double hi) {
  if (n == 1) return Eigen::VectorXd::Constant(1, hi);
  return Eigen::VectorXd::LinSpaced(n, lo, hi);
}

}  // namespace

VmmErrorStats vmmErrorStats(const Eigen::MatrixXd& out, const Eigen::MatrixXd& ideal, double fs) {
  assert(out.rows() == ideal.rows() && out.cols() == ideal.cols() && fs > 0.0);
  const Eigen::MatrixXd e = (out - ideal) / fs;
  std::vector<double> v(e.data(), e.data() + e.size());
  VmmErrorStats s;
  s.mean = stats::mean(v);
  s.sigma = stats::stddev(v);
  s.max_abs = e.cwiseAbs().maxCoeff();
  s.rms = std::sqrt(e.squaredNorm() / double(e.size()));
  return s;
}

ResultTree runVmmJob(const VmmJob& job, Progress& progress) {
  const auto& p = job.card.params;
  CrossbarGeometry geo = job.geometry;
  geo.validate();
  requireReadableWiring(geo.wiring, "a VMM");
  if (!(std::isfinite(job.v_max) && job.v_max > 0.0)) {
    throw InputError({}, "--v-max", "must be a finite voltage > 0");
  }
  if (job.inputs.empty() && job.vectors < 1) throw InputError({}, "--vectors", "must be >= 1");
  if (job.map_states < 1 || job.map_voltages < 2 || job.hist_bins < 1) {
    throw InputError({}, "map", "needs >= 1 state, >= 2 voltages and >= 1 histogram bin");
  }
  checkEngine(job.engine);
  const Eigen::Index R = geo.rows, C = geo.cols;
  const double arrayBytes = estimateBackendBytes(job.engine, geo);
  const std::string arrayName = std::to_string(R) + " x " + std::to_string(C) + " array";
  checkMemoryEstimate(arrayBytes, "--rows/--cols", "a " + arrayName + " on the " + job.engine +
                                                       " engine");
  // K input vectors: the inputs, outputs, ideal outputs and errors, their row-major copies in
  // the result tree and the statistics' scratch copies.
  const auto vectorsBytes = [&](double k) {
    return arrayBytes + k * 8.0 * (2.0 * double(R) + 12.0 * double(C));
  };
  if (job.inputs.empty()) {
    checkMemoryEstimate(vectorsBytes(double(job.vectors)), "--vectors",
                        std::to_string(job.vectors) + " input vectors through a " + arrayName);
  }

  // Data files first: bad input fails before any simulation.
  Eigen::MatrixXd weights;
  if (!job.weights.empty()) {
    const io::TargetMap tm = io::readTargetMap(job.weights);
    if (Eigen::Index(tm.rows) != R || Eigen::Index(tm.cols) != C) {
      throw InputError({job.weights.string(), 0}, "--weights",
                       "map is " + std::to_string(tm.rows) + " x " + std::to_string(tm.cols) +
                           ", the array is " + std::to_string(R) + " x " + std::to_string(C));
    }
    weights.resize(R, C);
    for (Eigen::Index r = 0; r < R; ++r) {
      for (Eigen::Index c = 0; c < C; ++c) weights(r, c) = tm.at(std::size_t(r), std::size_t(c));
    }
  }
  Eigen::MatrixXd fileInputs;
  if (!job.inputs.empty()) {
    fileInputs = readInputs(job.inputs, R);
    checkMemoryEstimate(vectorsBytes(double(fileInputs.rows())), "--inputs",
                        std::to_string(fileInputs.rows()) + " input vectors through a " +
                            arrayName);
  }

  Rng rng(job.seed);
  // Either backend draws every cell's variation, row-major, from rng: same seed, same devices.
  const std::unique_ptr<ArrayBackend> backend =
      makeBackend(job.engine, p, geo, rng, WriteSolverKind::Fast, job.read_solver);
  ArrayBackend& array = *backend;
  ResultTree out;

  // --- /map: the multiplication map of one cell (Fig. 2e) ----------------------------------
  const Eigen::Index selR = 0, selC = C - 1;
  const Eigen::VectorXd xs = linspace(job.map_states, 0.0, 1.0);
  const Eigen::VectorXd vs = linspace(job.map_voltages, 0.0, job.v_max);
  Eigen::MatrixXd mapI(xs.size(), vs.size()), mapIdeal(xs.size(), vs.size());
  Eigen::VectorXd mapG(xs.size());
  {
    Eigen::MatrixXd inputs = Eigen::MatrixXd::Zero(vs.size(), R);
    inputs.col(selR) = vs;
    Eigen::MatrixXd states = Eigen::MatrixXd::Zero(R, C);
    for (Eigen::Index i = 0; i < xs.size(); ++i) {
      globalCancelToken().throwIfCancelled();
      states(selR, selC) = xs(i);
      array.setStates(states);
      mapG(i) = array.probeConductances()(selR, selC);
      mapI.row(i) = array.vmm(inputs).col(selC).transpose();
      mapIdeal.row(i) = mapG(i) * vs.transpose();
      progress.update("vmm map", std::size_t(i + 1), std::size_t(xs.size()));
    }
  }
  const double cellFs = p.gmax * job.v_max;
  const double mapErr = (mapI - mapIdeal).cwiseAbs().maxCoeff() / cellFs;
  out.vector("/map/state", toVector(xs), "1", "state x of the read cell (row 0, column C-1)");
  out.vector("/map/g_s", toVector(mapG), "S", "true conductance of the read cell at each state");
  out.vector("/map/read_v", toVector(vs), "V", "read voltage on the cell's source line");
  putMatrix(out, "/map/current_a", mapI, "A",
            "column current read through the array, states x voltages (row-major)");
  putMatrix(out, "/map/ideal_a", mapIdeal, "A", "ideal G V, states x voltages (row-major)");
  out.dimensionsBelow("/map", {"state", "read_v"});  // state, read_v: their own coordinates
  out.dimensions("/map/g_s", {"state"});
  out.attribute("/map", "cell_row", std::int64_t(selR));
  out.attribute("/map", "cell_col", std::int64_t(selC));
  out.attribute("/map", "other_cells", std::string("state 0, source lines at 0 V"));
  out.metric("map_max_error_pct", mapErr * 100.0, "%",
             "multiplication map: largest |I - G V|, % of the cell's full scale gmax * v_max");

  // --- /vmm: random vectors through the array (Fig. 2f-g) ------------------------------------
  Eigen::MatrixXd states(R, C);
  if (weights.size() > 0) {
    states = weights;
  } else {
    for (Eigen::Index r = 0; r < R; ++r) {
      for (Eigen::Index c = 0; c < C; ++c) states(r, c) = rng.uniform();
    }
  }
  Eigen::MatrixXd inputs;
  if (fileInputs.size() > 0) {
    inputs = fileInputs;
  } else {
    inputs.resize(Eigen::Index(job.vectors), R);
    for (Eigen::Index k = 0; k < inputs.rows(); ++k) {
      if (k % kVectorBlock == 0) globalCancelToken().throwIfCancelled();
      for (Eigen::Index r = 0; r < R; ++r) inputs(k, r) = job.v_max * rng.uniform();
    }
  }
  array.setStates(states);
  const Eigen::MatrixXd g = array.probeConductances();
  // In blocks of at least R vectors (so the engine keeps its transfer matrix), checking for
  // cancellation between blocks.
  Eigen::MatrixXd outputs(inputs.rows(), C);
  const Eigen::Index block = std::max<Eigen::Index>(kVectorBlock, R);
  for (Eigen::Index k0 = 0; k0 < inputs.rows(); k0 += block) {
    globalCancelToken().throwIfCancelled();
    const Eigen::Index n = std::min(block, inputs.rows() - k0);
    outputs.middleRows(k0, n) = array.vmm(inputs.middleRows(k0, n));
    progress.update("vmm vectors", std::size_t(k0 + n), std::size_t(inputs.rows()));
  }
  globalCancelToken().throwIfCancelled();
  const Eigen::MatrixXd ideal = inputs * g;
  const double fs = double(R) * p.gmax * job.v_max;
  const VmmErrorStats st = vmmErrorStats(outputs, ideal, fs);
  putMatrix(out, "/vmm/inputs_v", inputs, "V", "input vectors, one per row (K x R, row-major)");
  putMatrix(out, "/vmm/outputs_a", outputs, "A", "column currents through the array (K x C)");
  putMatrix(out, "/vmm/ideal_a", ideal, "A",
            "ideal product V G with the true device conductances, no wires (K x C)");
  putMatrix(out, "/vmm/error_pct_fs", (outputs - ideal) / fs * 100.0, "%",
            "output minus ideal, % of full scale R gmax v_max (K x C)");
  putMatrix(out, "/vmm/states", states, "1", "cell states (R x C)");
  putMatrix(out, "/vmm/conductances_s", g, "S", "true device conductances (R x C)");
  out.dimensions("/vmm/inputs_v", {"vector", "row"});
  out.dimensions("/vmm/states", {"row", "col"});
  out.dimensions("/vmm/conductances_s", {"row", "col"});
  out.dimensionsBelow("/vmm", {"vector", "col"});
  {
    const Eigen::ArrayXXd e = (outputs - ideal).array() / fs * 100.0;
    double lo = e.minCoeff(), hi = e.maxCoeff();
    if (!(hi > lo)) {
      lo -= 1e-12;
      hi += 1e-12;
    }
    const Eigen::Index nb = job.hist_bins;
    std::vector<double> edges(std::size_t(nb + 1)), counts(std::size_t(nb), 0.0);
    for (Eigen::Index i = 0; i <= nb; ++i) edges[std::size_t(i)] = lo + (hi - lo) * double(i) / double(nb);
    for (Eigen::Index i = 0; i < e.size(); ++i) {
      auto bin = Eigen::Index((e(i) - lo) / (hi - lo) * double(nb));
      bin = std::clamp<Eigen::Index>(bin, 0, nb - 1);
      counts[std::size_t(bin)] += 1.0;
    }
    out.vector("/vmm/hist_edges_pct_fs", edges, "%", "histogram bin edges of error_pct_fs");
    out.vector("/vmm/hist_counts", counts, "count", "outputs per histogram bin");
    out.dimensions("/vmm/hist_counts", {"bin"});
  }
  out.attribute("/vmm", "full_scale_a", fs);
  out.attribute("/vmm", "full_scale_definition", std::string("R * gmax * v_max"));
  out.attribute("/vmm", "inputs",
                std::string(fileInputs.size() > 0 ? job.inputs.string() : "uniform in [0, v_max]"));
  out.attribute("/vmm", "states",
                std::string(weights.size() > 0 ? job.weights.string() : "uniform in [0, 1]"));
  out.metric("vectors", double(inputs.rows()), "count", "input vectors applied");
  out.metric("full_scale_a", fs, "A", "full scale R * gmax * v_max");
  out.metric("error_mean_pct", st.mean * 100.0, "%", "mean of output - ideal, % of full scale");
  out.metric("error_sigma_pct", st.sigma * 100.0, "%", "sigma of output - ideal, % of full scale");
  out.metric("error_max_pct", st.max_abs * 100.0, "%", "largest |output - ideal|, % of full scale");
  out.metric("error_rms_pct", st.rms * 100.0, "%", "RMS of output - ideal, % of full scale");
  {
    std::vector<double> a(outputs.data(), outputs.data() + outputs.size());
    std::vector<double> b(ideal.data(), ideal.data() + ideal.size());
    out.metric("pearson_r", a.size() > 1 ? stats::pearson(a, b) : 1.0, "1",
               "Pearson correlation of outputs and ideal outputs");
  }

  // --- /sneak: one cell read with unselected lines grounded or floating ---------------------
  {
    Eigen::MatrixXd sneakStates = Eigen::MatrixXd::Ones(R, C);
    sneakStates(selR, selC) = 0.0;
    array.setStates(sneakStates);
    const Eigen::MatrixXd gs = array.probeConductances();
    const double gTrue = gs(selR, selC);
    const SneakRead grounded =
        readCellSneak(geo, gs, selR, selC, job.v_max, false, job.read_solver);
    const double eg = (grounded.g_read_s - gTrue) / gTrue * 100.0;
    putMatrix(out, "/sneak/conductances_s", gs, "S",
              "selected cell (row 0, column C-1) at state 0, every other cell at state 1");
    out.dimensions("/sneak/conductances_s", {"row", "col"});
    out.scalar("/sneak/g_true_s", gTrue, "S", "true conductance of the selected cell");
    out.scalar("/sneak/g_read_grounded_s", grounded.g_read_s, "S",
               "I / v_read, unselected lines driven at 0 V");
    out.metric("sneak_grounded_error_pct", eg, "%",
               "read error of a gmin cell among gmax cells, unselected lines grounded, % of its G");
    if (R * C <= kSneakFloatingMaxCells) {
      const SneakRead floating =
          readCellSneak(geo, gs, selR, selC, job.v_max, true, job.read_solver);
      const double ef = (floating.g_read_s - gTrue) / gTrue * 100.0;
      out.scalar("/sneak/g_read_floating_s", floating.g_read_s, "S",
                 "I / v_read, unselected lines without driver");
      out.metric("sneak_floating_error_pct", ef, "%",
                 "read error of a gmin cell among gmax cells, unselected lines floating, % of "
                 "its G");
    } else {
      const std::string why = "skipped above " + std::to_string(kSneakFloatingMaxCells) +
                              " cells (a sparse factorization of the whole floating network)";
      out.attribute("/sneak", "floating", why);
      progress.note("vmm: the floating-line sneak read is " + why);
    }
  }

  recordCard(job.card, "/config/model", out);
  out.attribute("/config", "engine", job.engine);
  out.attribute("/config", "rows", std::int64_t(R));
  out.attribute("/config", "cols", std::int64_t(C));
  out.attribute("/config", "v_max_v", job.v_max);
  out.attribute("/config", "r_gate_seg_ohm", geo.r_gate_seg);
  out.attribute("/config", "r_row_seg_ohm", geo.r_row_seg);
  out.attribute("/config", "r_col_seg_ohm", geo.r_col_seg);
  out.attribute("/config", "r_drv_ohm", geo.r_drv);
  out.attribute("/config", "r_sense_ohm", geo.r_sense);
  return out;
}

}  // namespace ecramsim::app

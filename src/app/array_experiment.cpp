#include "app/array_experiment.hpp"

#include <cmath>
#include <cstdio>

#include "app/cards.hpp"
#include "app/run_job.hpp"
#include "core/error.hpp"

namespace ecramsim::app {

namespace {

struct Index {
  int row = -1;
  int col = -1;
};

/// "n<r>_<c>" -> (r, c).
Index cellIndex(const std::string& name) {
  Index out;
  if (std::sscanf(name.c_str(), "n%d_%d", &out.row, &out.col) != 2) return {};
  return out;
}

void runScheme(const std::filesystem::path& netlist, const std::string& group,
               const ArrayExperimentConfig& cfg, ResultTree& out) {
  RunJob job;
  job.netlist = netlist;
  job.seed = cfg.seed;
  job.options.state_reltol = cfg.state_reltol;
  const PreparedRun prepared = prepareRun(job);
  const cosim::Result r = cosim::simulate(prepared.built.circuit, job.options);
  const std::size_t P = r.points();
  const std::size_t N = r.cellNames.size();
  int R = 0;
  int C = 0;
  std::vector<Index> where(N);
  for (std::size_t i = 0; i < N; ++i) {
    where[i] = cellIndex(r.cellNames[i]);
    if (where[i].row < 0) throw InputError({netlist.string(), 0}, r.cellNames[i], "cell name is not n<r>_<c>");
    R = std::max(R, where[i].row + 1);
    C = std::max(C, where[i].col + 1);
  }
  if (static_cast<std::size_t>(R * C) != N || cfg.row >= R || cfg.col >= C) {
    throw InputError({netlist.string(), 0}, "", "expected a full array holding the selected cell");
  }
  // Mid-pulse point: the pulse is the only nonzero drive; take the point of largest |v_gd| of
  // the selected cell and the middle of the points where it exceeds half of that.
  std::size_t sel = 0;
  for (std::size_t i = 0; i < N; ++i) {
    if (where[i].row == cfg.row && where[i].col == cfg.col) sel = i;
  }
  double peak = 0.0;
  for (std::size_t p = 0; p < P; ++p) peak = std::max(peak, std::abs(r.v_gd_v[p * N + sel]));
  std::size_t first = 0;
  std::size_t last = 0;
  bool seen = false;
  for (std::size_t p = 0; p < P; ++p) {
    if (std::abs(r.v_gd_v[p * N + sel]) >= 0.5 * peak) {
      if (!seen) first = p;
      last = p;
      seen = true;
    }
  }
  const double tMid = 0.5 * (r.time_s[first] + r.time_s[last]);
  std::size_t mid = first;
  for (std::size_t p = first; p <= last; ++p) {
    if (std::abs(r.time_s[p] - tMid) < std::abs(r.time_s[mid] - tMid)) mid = p;
  }

  const auto cells = static_cast<std::size_t>(R * C);
  std::vector<double> dg(cells), dx(cells), ids(cells), vgs(cells), vgd(cells);
  double rowMax = 0.0, colMax = 0.0, otherMax = 0.0, sneakMax = 0.0;
  std::size_t rowArg = sel, colArg = sel, otherArg = sel;
  for (std::size_t i = 0; i < N; ++i) {
    const auto k = static_cast<std::size_t>(where[i].row * C + where[i].col);
    dg[k] = r.g_s[(P - 1) * N + i] - r.g_s[i];
    dx[k] = r.x[(P - 1) * N + i] - r.x[i];
    ids[k] = r.i_ds_a[mid * N + i];
    vgs[k] = r.v_gs_v[mid * N + i];
    vgd[k] = r.v_gd_v[mid * N + i];
    if (i == sel) continue;
    const double a = std::abs(dg[k]);
    sneakMax = std::max(sneakMax, std::abs(ids[k]));
    if (where[i].row == cfg.row) {
      if (a >= rowMax) { rowMax = a; rowArg = i; }
    } else if (where[i].col == cfg.col) {
      if (a >= colMax) { colMax = a; colArg = i; }
    } else if (a >= otherMax) {
      otherMax = a;
      otherArg = i;
    }
  }
  const double dgSel = dg[static_cast<std::size_t>(cfg.row * C + cfg.col)];
  const double halfMax = std::max(rowMax, colMax);
  const double unselMax = std::max(halfMax, otherMax);

  const std::string g = "/" + group;
  out.vector(g + "/time_s", r.time_s, "s", "accepted time points of the co-simulation");
  const struct {
    const char* name;
    std::size_t cell;
  } traces[] = {{"selected", sel}, {"row", rowArg}, {"col", colArg}, {"other", otherArg}};
  for (const auto& t : traces) {
    const std::string tg = g + "/traces/" + t.name;
    out.vector(tg + "/v_gs_v", r.cellColumn(r.v_gs_v, t.cell), "V", "gate minus source voltage");
    out.vector(tg + "/v_gd_v", r.cellColumn(r.v_gd_v, t.cell), "V", "gate minus drain voltage");
    out.vector(tg + "/x", r.cellColumn(r.x, t.cell), "1", "state");
    out.vector(tg + "/g_s", r.cellColumn(r.g_s, t.cell), "S", "channel conductance");
    out.attribute(tg, "cell", r.cellNames[t.cell]);
  }
  const auto rr = static_cast<std::size_t>(R);
  const auto cc = static_cast<std::size_t>(C);
  out.matrix(g + "/dg_s", rr, cc, dg, "S", "conductance change of every cell over the run");
  out.matrix(g + "/dx", rr, cc, dx, "1", "state change of every cell over the run");
  out.matrix(g + "/i_ds_mid_a", rr, cc, ids, "A",
             "channel current of every cell at mid-pulse (drain to source; sneak currents)");
  out.matrix(g + "/v_gs_mid_v", rr, cc, vgs, "V", "gate minus source voltage at mid-pulse");
  out.matrix(g + "/v_gd_mid_v", rr, cc, vgd, "V", "gate minus drain voltage at mid-pulse");
  out.matrix(g + "/cell_i_ds_a", P, N, r.i_ds_a, "A",
             "channel current of every cell at every point, points x cells (cell order: "
             "cell_names)");
  out.strings(g + "/cell_names", r.cellNames, "column names of cell_i_ds_a");
  // Axes: time (s) and cell (names) as coordinates, row and col of the maps.
  out.vector(g + "/time", r.time_s, "s", "accepted time points (axis time)");
  out.strings(g + "/cell", r.cellNames, "cell instance names (axis cell)");
  out.dimensions(g + "/time_s", {"time"});
  out.dimensions(g + "/cell_names", {"cell"});
  out.dimensions(g + "/cell_i_ds_a", {"time", "cell"});
  out.dimensionsBelow(g + "/traces", {"time"});
  out.dimensionsBelow(g, {"row", "col"});
  out.attribute(g, "netlist", netlist.string());
  out.attribute(g, "selected", r.cellNames[sel]);
  out.attribute(g, "mid_pulse_time_s", r.time_s[mid]);
  out.text("/config/" + group + "/netlist_given", prepared.givenText, "the netlist as shipped");

  const std::string m = group + "/";
  out.metric(m + "dg_selected_s", dgSel, "S", "conductance change of the selected cell");
  out.metric(m + "dg_row_max_s", rowMax, "S", "largest |dG| of the selected row's other cells");
  out.metric(m + "dg_col_max_s", colMax, "S", "largest |dG| of the selected column's other cells");
  out.metric(m + "dg_other_max_s", otherMax, "S", "largest |dG| of the cells sharing no line");
  out.metric(m + "dg_half_max_s", halfMax, "S", "largest |dG| of any half-selected cell");
  out.metric(m + "selectivity", halfMax > 0.0 ? std::abs(dgSel) / halfMax : INFINITY, "1",
             "|dG selected| / largest |dG| of a half-selected cell");
  out.metric(m + "disturb_max_rel", std::abs(dgSel) > 0.0 ? unselMax / std::abs(dgSel) : 0.0, "1",
             "largest |dG| of any unselected cell over |dG selected|");
  out.metric(m + "sneak_current_max_a", sneakMax, "A",
             "largest |channel current| of an unselected cell at mid-pulse");
  out.metric(m + "points", static_cast<double>(P), "count", "accepted time points");
}

}  // namespace

ResultTree runArrayExperiment(const ArrayExperimentConfig& cfg, Progress& progress) {
  const std::filesystem::path dir =
      cfg.netlistDir.empty() ? projectRoot() / "netlists" : cfg.netlistDir;
  ResultTree out;
  const struct {
    const char* group;
    const char* file;
  } schemes[] = {{"v2", "xbar10_program_v2.cir"}, {"v3", "xbar10_program_v3.cir"}};
  std::size_t done = 0;
  for (const auto& s : schemes) {
    globalCancelToken().throwIfCancelled();
    runScheme(dir / s.file, s.group, cfg, out);
    progress.update("array", ++done, 2);
  }
  out.attribute("/config", "state_reltol", cfg.state_reltol);
  out.attribute("/config", "c2c_noise", std::string("none (co-simulation is deterministic)"));
  out.attribute("/config", "selected_row", static_cast<std::int64_t>(cfg.row));
  out.attribute("/config", "selected_col", static_cast<std::int64_t>(cfg.col));
  return out;
}

}  // namespace ecramsim::app

#include "array/sneak_read.hpp"

#include <vector>

#include "array/crossbar_engine.hpp"
#include "core/error.hpp"

namespace ecramsim {

SneakRead readCellSneak(const CrossbarGeometry& geo, const Eigen::MatrixXd& g_s, Eigen::Index row,
                        Eigen::Index col, double v_read, bool floating, ReadSolverKind solver) {
  using Eigen::Index;
  geo.validate();
  requireReadableWiring(geo.wiring, "a read");
  const Index R = geo.rows, C = geo.cols;
  if (g_s.rows() != R || g_s.cols() != C || !g_s.allFinite() || (g_s.array() < 0.0).any()) {
    throw InputError({}, "conductances", "must be R x C, finite and >= 0");
  }
  if (row < 0 || row >= R || col < 0 || col >= C) {
    throw InputError({}, "cell", "selected cell outside the array");
  }
  ReadLines lines{std::vector<bool>(std::size_t(R), !floating),
                  std::vector<bool>(std::size_t(C), !floating)};
  lines.source_driven[std::size_t(row)] = true;
  lines.drain_sensed[std::size_t(col)] = true;
  CrossbarEngine engine(geo, solver, lines);
  engine.setConductances(g_s);
  Eigen::MatrixXd input = Eigen::MatrixXd::Zero(1, R);
  input(0, row) = v_read;
  ReadResult res;
  try {
    res = engine.solve(input);
  } catch (const SimulationError&) {
    throw SimulationError("sneak read: singular network (a node without any path to a driver)");
  }
  SneakRead s;
  s.current_a = res.column_currents_a(0, col);
  s.g_read_s = s.current_a / v_read;
  return s;
}

}  // namespace ecramsim

#include "cosim/cosim.hpp"

#include <algorithm>
#include <cmath>
#include <regex>
#include <unordered_map>

#include "core/units.hpp"
#include "device/physics.hpp"
#include "spice/engine.hpp"

namespace ecramsim::cosim {

namespace {

/// Lower-case vector name without a "v(...)" wrapper; "i(x)" becomes "x#branch".
std::string canonical(std::string_view name) {
  std::string n = toLower(name);
  if (n.size() > 3 && n[1] == '(' && n.back() == ')' && n.find(',') == std::string::npos) {
    const std::string inner = n.substr(2, n.size() - 3);
    if (n[0] == 'v') return inner;
    if (n[0] == 'i') return inner + "#branch";
  }
  return n;
}

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

/// The per-run coupling state.
class Coupling {
 public:
  Coupling(const Circuit& circuit, const Options& options, Result& result)
      : circuit_(circuit), options_(options), result_(result) {
    const std::size_t n = circuit.cells.size();
    x_.resize(n);
    rate_.assign(n, 0.0);
    prev_.resize(n);
    nodes_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const Cell& c = circuit.cells[i];
      x_[i] = std::clamp(c.x0, 0.0, 1.0);
      externals_.emplace(conductanceSource(c), Target{i, false});
      externals_.emplace(potentialSource(c), Target{i, true});
      result.cellNames.push_back(c.name);
    }
  }

  double external(std::string_view name) const {
    const auto it = externals_.find(name);
    if (it == externals_.end()) return 0.0;  // a user's EXTERNAL source: 0 V
    const Cell& c = circuit_.cells[it->second.cell];
    const double x = x_[it->second.cell];
    return it->second.potential ? physics::openCircuitPotential(c.params, x)
                                : physics::conductance(c.params, x);
  }

  void outputs(std::span<const std::string> names) {
    result_.vectorNames.assign(names.begin(), names.end());
    result_.vectors.clear();
    result_.time_s.clear();
    havePoint_ = false;
    std::unordered_map<std::string, int> index;
    for (std::size_t k = 0; k < names.size(); ++k) index.emplace(canonical(names[k]), static_cast<int>(k));
    auto find = [&](const std::string& node, const Cell& c) -> int {
      if (node == "0") return -1;
      const auto it = index.find(node);
      if (it == index.end()) {
        throw SimulationError(c.origin.str() + ": node " + node + " of ecram cell " + c.name +
                              " is not among ngspice's output vectors");
      }
      return it->second;
    };
    for (std::size_t i = 0; i < circuit_.cells.size(); ++i) {
      const Cell& c = circuit_.cells[i];
      nodes_[i] = {find(c.gate, c), find(c.drain, c), find(c.source, c)};
    }
  }

  void accepted(double t, std::span<const double> values) {
    const std::size_t n = circuit_.cells.size();
    result_.time_s.push_back(t);
    result_.vectors.insert(result_.vectors.end(), values.begin(), values.end());
    auto volt = [&](int k) { return k < 0 || k >= static_cast<int>(values.size()) ? 0.0 : values[static_cast<std::size_t>(k)]; };
    const double dt = havePoint_ ? t - lastTime_ : 0.0;
    double cap = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < n; ++i) {
      const CellParams& p = circuit_.cells[i].params;
      const Terminals now{volt(nodes_[i][0]), volt(nodes_[i][1]), volt(nodes_[i][2])};
      const double xUsed = x_[i];  // the state the stub carried over this step
      if (havePoint_ && dt > 0.0) {
        const Advance a = advanceLinear(p, xUsed, prev_[i], now, dt, options_.tol);
        result_.max_state_step = std::max(result_.max_state_step, std::abs(a.x - xUsed));
        x_[i] = a.x;
      }
      // The row: the accepted point's time and voltages with the state reached at it.
      const double vds = now.vd - now.vs;
      result_.x.push_back(x_[i]);
      result_.g_s.push_back(physics::conductance(p, x_[i]));
      result_.i_ion_a.push_back(physics::gateIonicCurrent(p, now.vg, now.vd, now.vs, x_[i]));
      result_.i_ds_a.push_back(physics::channelCurrent(p, x_[i], vds));
      result_.v_gs_v.push_back(now.vg - now.vs);
      result_.v_gd_v.push_back(now.vg - now.vd);
      // Step cap from the rate at this point and its growth over the last step.
      const double r = std::abs(physics::stateRate(p, now.vg, now.vd, now.vs, x_[i]));
      const double a = havePoint_ && dt > 0.0 ? std::max(0.0, (r - rate_[i]) / dt) : 0.0;
      rate_[i] = r;
      prev_[i] = now;
      const double tol = options_.state_reltol;
      double h = std::numeric_limits<double>::infinity();
      if (a > 0.0) {
        h = (-r + std::sqrt(r * r + 2.0 * a * tol)) / a;
      } else if (r > 0.0) {
        h = tol / r;
      }
      cap = std::min(cap, h);
    }
    cap_ = cap;
    lastTime_ = t;
    havePoint_ = true;
  }

  double limit(double proposed) const { return std::min(proposed, cap_); }

 private:
  struct Target {
    std::size_t cell;
    bool potential;
  };
  const Circuit& circuit_;
  const Options& options_;
  Result& result_;
  std::vector<double> x_;
  std::vector<double> rate_;
  std::vector<Terminals> prev_;
  std::vector<std::array<int, 3>> nodes_;
  std::unordered_map<std::string, Target, StringHash, std::equal_to<>> externals_;
  bool havePoint_ = false;
  double lastTime_ = 0.0;
  double cap_ = std::numeric_limits<double>::infinity();
};

/// Gives a located SpiceError when ngspice named a node but no line: the first element line
/// on that node (a stub line maps to its cell's instance line), else the analysis line.
[[noreturn]] void relocate(const spice::SpiceError& e, const Expanded& net) {
  if (!e.where().file.empty() || e.where().line > 0) throw e;
  static const std::regex nodeRe(R"re((?:check node|trouble with node)\s+"?([^"\s]+)"?)re",
                                 std::regex::icase);
  std::string node;
  std::smatch m;
  const std::string detail = e.detail();
  if (std::regex_search(detail, m, nodeRe)) node = toLower(m[1].str());
  for (const auto& l : e.log()) {
    if (!node.empty()) break;
    if (std::regex_search(l, m, nodeRe)) node = toLower(m[1].str());
  }
  int line = 0;
  if (!node.empty()) {
    // "v1#branch" names the branch of source v1: its own line; a node: its first element line.
    const auto hash = node.find("#branch");
    const std::string element = hash == std::string::npos ? std::string() : node.substr(0, hash);
    for (std::size_t i = 1; i < net.lines.size() && line == 0; ++i) {
      const auto f = lineFields(net.lines[i]);
      if (f.empty() || f[0][0] == '*' || f[0][0] == '.') continue;
      const bool hit = element.empty() ? std::find(f.begin() + 1, f.end(), node) != f.end()
                                       : f[0] == element;
      if (hit) line = static_cast<int>(i) + 1;
    }
  }
  if (line == 0) {
    for (std::size_t i = 1; i < net.lines.size() && line == 0; ++i) {
      const auto f = lineFields(net.lines[i]);
      if (!f.empty() && (f[0] == ".tran" || f[0] == ".op" || f[0] == ".dc")) {
        line = static_cast<int>(i) + 1;
      }
    }
  }
  if (line == 0) throw e;
  SourceLocation where = net.lineMap[static_cast<std::size_t>(line - 1)];
  if (where.file.empty() && where.line == 0) where = {"netlist", line};
  std::string detail2 = e.detail();
  if (!node.empty()) detail2 += " (node " + node + ")";
  throw spice::SpiceError(e.kind(), where, line, detail2, e.log());
}

}  // namespace

long Result::vectorIndex(std::string_view name) const {
  const std::string want = canonical(name);
  for (std::size_t k = 0; k < vectorNames.size(); ++k) {
    if (canonical(vectorNames[k]) == want) return static_cast<long>(k);
  }
  return -1;
}

std::vector<double> Result::vector(std::string_view name) const {
  const long k = vectorIndex(name);
  if (k < 0) throw SimulationError("co-simulation result has no vector '" + std::string(name) + "'");
  std::vector<double> out(points());
  const std::size_t w = vectorNames.size();
  for (std::size_t p = 0; p < out.size(); ++p) out[p] = vectors[p * w + static_cast<std::size_t>(k)];
  return out;
}

std::vector<double> Result::cellColumn(const std::vector<double>& matrix, std::size_t cell) const {
  const std::size_t n = cellNames.size();
  std::vector<double> out(points());
  for (std::size_t p = 0; p < out.size(); ++p) out[p] = matrix[p * n + cell];
  return out;
}

Result simulate(const Circuit& circuit, const Options& options) {
  if (!(options.state_reltol > 0.0 && options.state_reltol <= 1.0)) {
    throw InputError({}, "state_reltol",
                     "must lie in (0, 1], got " + formatShort(options.state_reltol));
  }
  const Expanded net = expand(circuit);
  Result result;
  Coupling coupling(circuit, options, result);
  spice::RunOptions run;
  run.lineMap = net.lineMap;
  run.failOnSingularMatrix = options.failOnSingularMatrix;
  run.hooks.externalVoltage = [&](double, std::string_view name) { return coupling.external(name); };
  run.hooks.outputVectors = [&](std::span<const std::string> names) { coupling.outputs(names); };
  run.hooks.acceptedPoint = [&](double t, std::span<const double> v) { coupling.accepted(t, v); };
  if (!circuit.cells.empty()) {
    run.hooks.limitStep = [&](double, double proposed) { return coupling.limit(proposed); };
  }
  spice::RunResult r;
  try {
    r = spice::Engine::instance().run(net.lines, run);
  } catch (const spice::SpiceError& e) {
    if (e.kind() == spice::FailureKind::HookFailed) throw;
    relocate(e, net);
  }
  result.plotName = r.plotName;
  result.transient = r.has("time");
  result.acceptedPoints = r.acceptedPoints;
  result.log = std::move(r.log);
  if (result.time_s.empty()) {
    throw SimulationError("ngspice run " + result.plotName + " delivered no accepted points");
  }
  return result;
}

}  // namespace ecramsim::cosim

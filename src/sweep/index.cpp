#include "sweep/index.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/error.hpp"
#include "io/hdf5.hpp"
#include "io/result_export.hpp"

namespace fs = std::filesystem;

namespace ecramsim::sweep {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string modeName(Mode m) {
  switch (m) {
    case Mode::Zip: return "zip";
    case Mode::Random: return "random";
    case Mode::Grid: break;
  }
  return "grid";
}

std::string axisDescription(const Axis& a) {
  switch (a.kind) {
    case AxisKind::Model: return "--set " + a.key + "=VALUE";
    case AxisKind::Param: return "--param " + a.key + "=VALUE";
    case AxisKind::Option: break;
  }
  return (a.key.size() == 1 ? "-" : "--") + a.key + " VALUE";
}

}  // namespace

IndexTable buildIndexTable(const Spec& spec, const std::vector<Point>& points,
                           const std::vector<PointRecord>& records, const std::string& hash,
                           const Shard& shard, std::size_t totalPoints) {
  IndexTable t;
  t.specHash = hash;
  t.specFile = spec.file;
  t.specText = spec.text;
  t.command = joinArguments(spec.command);
  t.mode = modeName(spec.mode);
  t.seed = spec.seed;
  t.totalPoints = totalPoints;
  t.shard = std::to_string(shard.k) + "/" + std::to_string(shard.n);
  const std::size_t n = points.size();
  for (std::size_t a = 0; a < spec.axes.size(); ++a) {
    IndexColumn c;
    c.name = spec.axes[a].name;
    c.unit = spec.axes[a].unit;
    c.description = axisDescription(spec.axes[a]);
    c.numeric = true;
    for (const auto& p : points) c.numeric = c.numeric && p.values[a].number.has_value();
    for (const auto& p : points) {
      if (c.numeric) {
        c.numbers.push_back(*p.values[a].number);
      } else {
        c.texts.push_back(p.values[a].text);
      }
    }
    t.params.push_back(std::move(c));
  }
  // Metric columns: requested ones, else every metric found, in order of first appearance.
  std::vector<std::string> names = spec.metrics;
  if (names.empty()) {
    for (const auto& r : records) {
      for (const auto& m : r.metrics) {
        if (std::find(names.begin(), names.end(), m.name) == names.end()) names.push_back(m.name);
      }
    }
  }
  std::map<std::string, std::size_t> column;
  for (const auto& name : names) {
    column[name] = t.metrics.size();
    IndexColumn c;
    c.name = name;
    c.numbers.assign(n, kNaN);
    t.metrics.push_back(std::move(c));
  }
  for (std::size_t i = 0; i < n; ++i) {
    const PointRecord& r = records.at(i);
    t.index.push_back(static_cast<std::int64_t>(points[i].index));
    t.status.emplace_back(statusName(r.status));
    t.exitStatus.push_back(r.exitStatus);
    t.error.push_back(r.error);
    t.file.push_back(pointFileName(points[i].index, totalPoints));
    t.args.push_back(joinArguments(pointArguments(spec, points[i])));
    for (const auto& m : r.metrics) {
      auto it = column.find(m.name);
      if (it == column.end()) continue;
      IndexColumn& c = t.metrics[it->second];
      c.numbers[i] = m.value;
      if (c.unit.empty()) c.unit = m.unit;
      if (c.description.empty()) c.description = m.description;
    }
  }
  return t;
}

ResultTree indexTree(const IndexTable& t) {
  ResultTree tree;
  tree.text("/sweep/spec_text", t.specText, "the sweep spec as read");
  tree.attribute("/sweep", "spec_hash", t.specHash);
  tree.attribute("/sweep", "spec_file", t.specFile);
  tree.attribute("/sweep", "command", t.command);
  tree.attribute("/sweep", "mode", t.mode);
  tree.attribute("/sweep", "total_points", static_cast<std::int64_t>(t.totalPoints));
  tree.attribute("/sweep", "shard", t.shard);
  tree.integers("/points/index", t.index, "1", "index of the point in the whole sweep");
  tree.strings("/points/status", t.status, "complete, failed or pending");
  tree.integers("/points/exit_status", t.exitStatus, "1",
                "exit status of the point's process (128+N: killed by signal N; -1: not run)");
  tree.strings("/points/error", t.error, "last lines of a failed point's stderr");
  tree.strings("/points/file", t.file, "the point's result file, relative to this file");
  tree.strings("/points/args", t.args, "the point's ecramsim arguments (before -o FILE --quiet)");
  for (const auto& c : t.params) {
    const std::string path = "/params/" + c.name;
    if (c.numeric) {
      tree.vector(path, c.numbers, c.unit.empty() ? "unspecified" : c.unit, c.description);
    } else {
      tree.strings(path, c.texts, c.description);
    }
  }
  for (const auto& c : t.metrics) {
    tree.vector("/metrics/" + c.name, c.numbers, c.unit.empty() ? "unspecified" : c.unit,
                c.description);
  }
  // Every column lies along the axis point, whose coordinates (the point indices) sit at the
  // root, above /points, /params and /metrics.
  tree.integers("/point", t.index, "1", "index of the point in the whole sweep (axis point)");
  for (const char* g : {"/points", "/params", "/metrics"}) tree.dimensionsBelow(g, {"point"});
  for (std::size_t i = 0; i < t.rows(); ++i) {
    if (t.status[i] != "complete") continue;
    const std::string& f = t.file[i];
    const std::string stem = fs::path(f).stem().string();
    tree.externalLink("/links/" + stem, f, "/");
  }
  return tree;
}

namespace {

template <typename T>
const std::vector<T>& column(const ResultTree& tree, const std::string& path,
                             const fs::path& file) {
  auto it = tree.datasets().find(path);
  if (it == tree.datasets().end()) {
    throw InputError({file.string(), 0}, path, "missing: not a sweep index file");
  }
  if (const auto* v = std::get_if<std::vector<T>>(&it->second.data)) return *v;
  throw InputError({file.string(), 0}, path, "has the wrong type: not a sweep index file");
}

std::string textAttr(const ResultTree& tree, const std::string& group, const std::string& key) {
  auto g = tree.groupAttrs().find(group);
  if (g == tree.groupAttrs().end()) return {};
  auto a = g->second.find(key);
  if (a == g->second.end()) return {};
  if (const auto* s = std::get_if<std::string>(&a->second)) return *s;
  if (const auto* i = std::get_if<std::int64_t>(&a->second)) return std::to_string(*i);
  return {};
}

std::string attrText(const Dataset& d, const std::string& key) {
  auto a = d.attrs.find(key);
  if (a == d.attrs.end()) return {};
  if (const auto* s = std::get_if<std::string>(&a->second)) return *s;
  return {};
}

/// The unsigned number in the text of attribute `what`.
std::uint64_t count(const fs::path& file, const std::string& what, const std::string& text) {
  std::size_t used = 0;
  try {
    const std::uint64_t v = std::stoull(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  throw InputError({file.string(), 0}, what, "is not a whole number: not a sweep index file");
}

/// Every column of an index has one row per point: refuses a file whose columns differ.
void checkRows(const IndexTable& t, const fs::path& file) {
  const std::size_t rows = t.rows();
  auto require = [&](std::size_t n, const std::string& column) {
    if (n != rows) {
      throw InputError({file.string(), 0}, column,
                       "has " + std::to_string(n) + " rows but /points/index has " +
                           std::to_string(rows) + ": a corrupt sweep index");
    }
  };
  require(t.status.size(), "/points/status");
  require(t.exitStatus.size(), "/points/exit_status");
  require(t.error.size(), "/points/error");
  require(t.file.size(), "/points/file");
  require(t.args.size(), "/points/args");
  for (const auto& c : t.params) {
    require(c.numeric ? c.numbers.size() : c.texts.size(), "/params/" + c.name);
  }
  for (const auto& c : t.metrics) require(c.numbers.size(), "/metrics/" + c.name);
}

}  // namespace

IndexTable readIndexFile(const fs::path& path) {
  const ResultTree tree = io::readResultFile(path);
  IndexTable t;
  t.specHash = textAttr(tree, "/sweep", "spec_hash");
  if (t.specHash.empty()) {
    throw InputError({path.string(), 0}, "", "not a sweep index file (no /sweep spec_hash)");
  }
  t.specFile = textAttr(tree, "/sweep", "spec_file");
  t.command = textAttr(tree, "/sweep", "command");
  t.mode = textAttr(tree, "/sweep", "mode");
  t.shard = textAttr(tree, "/sweep", "shard");
  t.totalPoints = static_cast<std::size_t>(
      count(path, "/sweep total_points", "0" + textAttr(tree, "/sweep", "total_points")));
  if (auto seed = textAttr(tree, "/", "seed"); !seed.empty()) t.seed = count(path, "/ seed", seed);
  const auto& specText = column<std::string>(tree, "/sweep/spec_text", path);
  if (specText.size() != 1) {
    throw InputError({path.string(), 0}, "/sweep/spec_text", "is not one text: not a sweep index");
  }
  t.specText = specText.front();
  t.index = column<std::int64_t>(tree, "/points/index", path);
  t.status = column<std::string>(tree, "/points/status", path);
  t.exitStatus = column<std::int64_t>(tree, "/points/exit_status", path);
  t.error = column<std::string>(tree, "/points/error", path);
  t.file = column<std::string>(tree, "/points/file", path);
  t.args = column<std::string>(tree, "/points/args", path);
  // Parameter columns in the spec's axis order, metrics in file order (sorted by name).
  const Spec spec = parseSpecText(t.specText, t.specFile);
  for (const auto& axis : spec.axes) {
    const std::string p = "/params/" + axis.name;
    auto it = tree.datasets().find(p);
    if (it == tree.datasets().end()) throw InputError({path.string(), 0}, p, "missing");
    IndexColumn c;
    c.name = axis.name;
    c.unit = attrText(it->second, "units");
    if (c.unit == "unspecified") c.unit.clear();
    c.description = attrText(it->second, "description");
    if (const auto* v = std::get_if<std::vector<double>>(&it->second.data)) {
      c.numbers = *v;
    } else if (const auto* s = std::get_if<std::vector<std::string>>(&it->second.data)) {
      c.numeric = false;
      c.texts = *s;
    } else {
      throw InputError({path.string(), 0}, p, "has the wrong type: not a sweep index file");
    }
    t.params.push_back(std::move(c));
  }
  std::vector<std::string> order = spec.metrics;
  for (const auto& [p, d] : tree.datasets()) {
    if (p.rfind("/metrics/", 0) != 0) continue;
    const std::string name = p.substr(9);
    if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
  }
  for (const auto& name : order) {
    auto it = tree.datasets().find("/metrics/" + name);
    if (it == tree.datasets().end()) continue;
    IndexColumn c;
    c.name = name;
    c.unit = attrText(it->second, "units");
    if (c.unit == "unspecified") c.unit.clear();
    c.description = attrText(it->second, "description");
    c.numbers = column<double>(tree, "/metrics/" + name, path);
    t.metrics.push_back(std::move(c));
  }
  checkRows(t, path);
  return t;
}

namespace {

using io::csvField;

std::string csvNumber(double v) { return std::isnan(v) ? std::string() : formatShortest(v); }

}  // namespace

std::string indexCsv(const IndexTable& t) {
  std::string out = "index,status,exit_status";
  for (const auto& c : t.params) out += "," + csvField(c.name);
  for (const auto& c : t.metrics) out += "," + csvField(c.name);
  out += ",file,error\n";
  for (std::size_t i = 0; i < t.rows(); ++i) {
    out += std::to_string(t.index[i]) + "," + t.status[i] + "," + std::to_string(t.exitStatus[i]);
    for (const auto& c : t.params) {
      out += "," + (c.numeric ? csvNumber(c.numbers.at(i)) : csvField(c.texts.at(i)));
    }
    for (const auto& c : t.metrics) out += "," + csvNumber(c.numbers.at(i));
    out += "," + csvField(t.file[i]) + "," + csvField(t.error[i]) + "\n";
  }
  return out;
}

StatusCounts countStatus(const IndexTable& t) {
  StatusCounts c;
  for (const auto& s : t.status) {
    if (s == "complete") {
      ++c.complete;
    } else if (s == "failed") {
      ++c.failed;
    } else {
      ++c.pending;
    }
  }
  return c;
}

}  // namespace ecramsim::sweep

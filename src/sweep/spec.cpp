#include "sweep/spec.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "core/input_file.hpp"
#include "core/units.hpp"
#include "modelcard/ecram_table.hpp"

namespace ecramsim::sweep {

std::string Spec::at(int line) const { return SourceLocation{file, line}.str(); }

std::string formatShortest(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  std::array<char, 64> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  return std::string(buf.data(), r.ptr);
}

bool isReservedFlag(std::string_view flag) {
  static constexpr std::array<std::string_view, 8> kReserved{"o",    "out",  "q",    "quiet",
                                                             "json", "help", "h",    "version"};
  return std::find(kReserved.begin(), kReserved.end(), flag) != kReserved.end();
}

namespace {

int lineOf(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

/// Parse context: the spec being filled, for locations.
struct Parser {
  Spec& spec;

  [[noreturn]] void fail(int line, const std::string& parameter, const std::string& message) const {
    throw InputError({spec.file, line}, parameter, message);
  }

  void checkKeys(const toml::table& t, std::initializer_list<std::string_view> known,
                 const std::string& where) const {
    for (auto&& [key, node] : t) {
      if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
      std::string list;
      for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      fail(lineOf(node), where, "unknown key '" + echoToken(key.str()) + "' (known: " + list + ")");
    }
  }

  std::string stringOf(const toml::node& n, const std::string& what) const {
    if (!n.is_string()) fail(lineOf(n), what, "expected a string");
    return n.value<std::string>().value_or("");
  }

  std::vector<std::string> stringsOf(const toml::node& n, const std::string& what) const {
    std::vector<std::string> out;
    if (n.is_string()) {
      std::istringstream in(n.value<std::string>().value_or(""));
      for (std::string tok; in >> tok;) out.push_back(tok);
      return out;
    }
    const auto* arr = n.as_array();
    if (arr == nullptr) fail(lineOf(n), what, "expected a string or an array of strings");
    for (const auto& e : *arr) out.push_back(stringOf(e, what));
    return out;
  }

  double numberOf(const toml::node& n, const std::string& what) const {
    if (n.is_integer()) return static_cast<double>(n.value<std::int64_t>().value_or(0));
    if (n.is_floating_point()) return n.value<double>().value_or(0.0);
    if (n.is_string()) {
      if (auto v = parseSpiceNumber(n.value<std::string>().value_or(""))) return *v;
    }
    fail(lineOf(n), what, "expected a number");
  }

  AxisValue valueOf(const toml::node& n, const Axis& axis) const {
    const std::string what = "axis '" + echoToken(axis.name) + "'";
    AxisValue v;
    if (n.is_integer()) {
      const auto i = n.value<std::int64_t>().value_or(0);
      v.text = std::to_string(i);
      v.number = static_cast<double>(i);
    } else if (n.is_floating_point()) {
      v.number = n.value<double>().value_or(0.0);
      v.text = formatShortest(*v.number);
    } else if (n.is_string()) {
      v.text = n.value<std::string>().value_or("");
      if (v.text.empty()) fail(lineOf(n), what, "empty value");
      if (auto x = parseSpiceNumber(v.text)) v.number = *x;
    } else if (n.is_boolean()) {
      if (axis.kind != AxisKind::Option) {
        fail(lineOf(n), what, "true/false values are for option flags only");
      }
      const bool b = n.value<bool>().value_or(false);
      v.text = b ? "true" : "false";
      v.number = b ? 1.0 : 0.0;
      v.flag = true;
    } else {
      fail(lineOf(n), what, "a value must be a number, a string or true/false");
    }
    if (axis.kind == AxisKind::Model) checkModelValue(axis, v, lineOf(n));
    return v;
  }

  void checkModelValue(const Axis& axis, const AxisValue& v, int line) const {
    const std::string what = "axis '" + echoToken(axis.name) + "'";
    if (!v.number) fail(line, what, "value '" + echoToken(v.text) + "' is not a number");
    const ParamSpec* p = findParam(axis.key);
    if (!inRange(*p, *v.number)) {
      fail(line, what,
           "value " + v.text + " outside the allowed range " + rangeText(*p) + " " +
               std::string(p->unit));
    }
  }

  static std::size_t editDistance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      }
      std::swap(prev, cur);
    }
    return prev[b.size()];
  }

  void parseName(Axis& axis, const toml::node& n) const {
    axis.name = stringOf(n, "axis name");
    const auto dot = axis.name.find('.');
    const std::string prefix = axis.name.substr(0, dot);
    axis.key = dot == std::string::npos ? std::string() : axis.name.substr(dot + 1);
    const std::string what = "axis '" + echoToken(axis.name) + "'";
    if (dot == std::string::npos || axis.key.empty() ||
        (prefix != "model" && prefix != "param" && prefix != "option")) {
      fail(lineOf(n), what, "expected model.<key>, param.<name> or option.<flag>");
    }
    if (prefix == "model") {
      axis.kind = AxisKind::Model;
      const ParamSpec* p = findParam(axis.key);
      if (p == nullptr) {
        std::string best;
        std::size_t bestD = 3;
        for (const auto& s : ecramParamTable()) {
          const std::size_t d = editDistance(toLower(axis.key), s.key);
          if (d < bestD) {
            bestD = d;
            best = std::string(s.key);
          }
        }
        fail(lineOf(n), what,
             "unknown parameter '" + echoToken(axis.key) + "' of the ecram model" +
                 (best.empty() ? std::string(" (`ecramsim model show` lists them)")
                               : "; did you mean '" + best + "'?"));
      }
      axis.key = std::string(p->key);
      if (axis.unit.empty()) axis.unit = std::string(p->unit);
    } else if (prefix == "param") {
      axis.kind = AxisKind::Param;
      const bool ok = std::all_of(axis.key.begin(), axis.key.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      });
      if (!ok || std::isdigit(static_cast<unsigned char>(axis.key[0]))) {
        fail(lineOf(n), what, "a .param name is letters, digits and '_', not starting with a digit");
      }
    } else {
      axis.kind = AxisKind::Option;
      const bool ok = std::all_of(axis.key.begin(), axis.key.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      });
      if (!ok || axis.key[0] == '-') {
        fail(lineOf(n), what, "an option name is written without dashes: option.width for --width");
      }
      if (isReservedFlag(axis.key)) {
        fail(lineOf(n), what, "-o/--out, --quiet, --json and --help are set by the sweep itself");
      }
    }
  }

  /// Reads the values key of an axis (exactly one of them).
  void parseValues(Axis& axis, const toml::table& t) const {
    static constexpr std::array<std::string_view, 7> kValueKeys{
        "values", "linspace", "logspace", "uniform", "loguniform", "normal", "integers"};
    const std::string what = "axis '" + echoToken(axis.name) + "'";
    const toml::node* node = nullptr;
    std::string key;
    for (auto k : kValueKeys) {
      if (const toml::node* n = t.get(k)) {
        if (node != nullptr) {
          fail(lineOf(*n), what, "both '" + key + "' and '" + std::string(k) + "'; give one");
        }
        node = n;
        key = std::string(k);
      }
    }
    if (node == nullptr) {
      fail(axis.line, what,
           "no values: give values = [...], linspace/logspace = [start, stop, count], or in "
           "random mode uniform/loguniform/normal/integers = [a, b]");
    }
    axis.valuesLine = lineOf(*node);
    const auto* arr = node->as_array();
    if (arr == nullptr) fail(axis.valuesLine, what, "'" + key + "' must be an array");
    if (key == "values") {
      if (arr->empty()) fail(axis.valuesLine, what, "empty axis: 'values' has no values");
      for (const auto& e : *arr) axis.values.push_back(valueOf(e, axis));
      return;
    }
    if (key == "linspace" || key == "logspace") {
      if (arr->size() != 3) fail(axis.valuesLine, what, "'" + key + "' is [start, stop, count]");
      const double start = numberOf(*arr->get(0), what);
      const double stop = numberOf(*arr->get(1), what);
      const toml::node& cn = *arr->get(2);
      if (!cn.is_integer() || cn.value<std::int64_t>().value_or(-1) < 0) {
        fail(lineOf(cn), what, "the count of '" + key + "' must be a whole number >= 0");
      }
      const auto count = static_cast<std::size_t>(cn.value<std::int64_t>().value_or(0));
      if (count == 0) fail(axis.valuesLine, what, "empty axis: '" + key + "' with count 0");
      if (count > kMaxPoints) fail(axis.valuesLine, what, "more than 10^7 values");
      if (key == "logspace" && (start <= 0 || stop <= 0)) {
        fail(axis.valuesLine, what, "logspace needs start and stop > 0");
      }
      for (std::size_t i = 0; i < count; ++i) {
        const double f = count == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(count - 1);
        double x = 0.0;
        if (key == "linspace") {
          const double n1 = static_cast<double>(count == 1 ? 1 : count - 1);
          const double ii = static_cast<double>(i);
          x = count == 1 ? start : (start * (n1 - ii) + stop * ii) / n1;
        } else {
          const double e = std::log10(start) + f * (std::log10(stop) - std::log10(start));
          x = std::pow(10.0, e);
          if (i == 0) x = start;
          if (i + 1 == count && count > 1) x = stop;
        }
        AxisValue v{formatShortest(x), x, false};
        if (axis.kind == AxisKind::Model) checkModelValue(axis, v, axis.valuesLine);
        axis.values.push_back(std::move(v));
      }
      return;
    }
    // A distribution for random mode.
    if (spec.mode != Mode::Random) {
      fail(axis.valuesLine, what,
           "'" + key + "' draws at random; it needs mode = \"random\" in [sweep] (line " +
               std::to_string(spec.modeLine ? spec.modeLine : spec.sweepLine) + ")");
    }
    if (arr->size() != 2) fail(axis.valuesLine, what, "'" + key + "' is [a, b]");
    axis.a = numberOf(*arr->get(0), what);
    axis.b = numberOf(*arr->get(1), what);
    if (key == "uniform") {
      axis.distribution = Distribution::Uniform;
      if (!(axis.b > axis.a)) fail(axis.valuesLine, what, "uniform needs [lo, hi] with hi > lo");
    } else if (key == "loguniform") {
      axis.distribution = Distribution::LogUniform;
      if (!(axis.a > 0 && axis.b > axis.a)) {
        fail(axis.valuesLine, what, "loguniform needs [lo, hi] with 0 < lo < hi");
      }
    } else if (key == "normal") {
      axis.distribution = Distribution::Normal;
      if (!(axis.b >= 0)) fail(axis.valuesLine, what, "normal needs [mean, sigma] with sigma >= 0");
    } else {
      axis.distribution = Distribution::Integers;
      if (axis.a != std::floor(axis.a) || axis.b != std::floor(axis.b) || axis.b < axis.a) {
        fail(axis.valuesLine, what, "integers needs whole numbers [lo, hi] with hi >= lo");
      }
      // Draws are doubles printed as int64: bounds beyond 2^53 are neither exact nor safe.
      constexpr double kExact = 9007199254740992.0;  // 2^53
      if (std::fabs(axis.a) > kExact || std::fabs(axis.b) > kExact) {
        fail(axis.valuesLine, what,
             "integers needs bounds within -9007199254740992 and 9007199254740992 (2^53), got [" +
                 formatShortest(axis.a) + ", " + formatShortest(axis.b) + "]");
      }
      if (axis.kind == AxisKind::Model) {
        checkModelValue(axis, {formatShortest(axis.a), axis.a, false}, axis.valuesLine);
        checkModelValue(axis, {formatShortest(axis.b), axis.b, false}, axis.valuesLine);
      }
    }
    if (axis.kind == AxisKind::Model && (axis.distribution == Distribution::Uniform ||
                                         axis.distribution == Distribution::LogUniform)) {
      // Both bounds must be allowed values (the open end of a range may equal a bound).
      const ParamSpec* p = findParam(axis.key);
      for (double x : {axis.a, axis.b}) {
        const bool lowOk = x >= p->min, highOk = x <= p->max;
        if (!lowOk || !highOk) {
          fail(axis.valuesLine, what,
               "bound " + formatShortest(x) + " outside the allowed range " + rangeText(*p) + " " +
                   std::string(p->unit));
        }
      }
    }
  }

  void parseSweepTable(const toml::table& t, int line) {
    spec.sweepLine = line;
    checkKeys(t, {"command", "args", "mode", "samples", "seed", "metrics", "description"},
              "[sweep]");
    // mode first: value parsing of the axes depends on it.
    if (const toml::node* n = t.get("mode")) {
      spec.modeLine = lineOf(*n);
      const std::string m = stringOf(*n, "mode");
      if (m == "grid") {
        spec.mode = Mode::Grid;
      } else if (m == "zip") {
        spec.mode = Mode::Zip;
      } else if (m == "random") {
        spec.mode = Mode::Random;
      } else {
        fail(spec.modeLine, "mode", "unknown mode '" + echoToken(m) + "' (grid, zip or random)");
      }
    }
    const toml::node* cmd = t.get("command");
    if (cmd == nullptr) {
      fail(line, "[sweep]", "no 'command' (the subcommand to run, e.g. \"device gate-iv\")");
    }
    spec.commandLine = lineOf(*cmd);
    spec.command = stringsOf(*cmd, "command");
    if (spec.command.empty()) fail(spec.commandLine, "command", "empty command");
    spec.argsLine = spec.commandLine;
    if (const toml::node* n = t.get("args")) {
      spec.argsLine = lineOf(*n);
      if (!n->is_array()) fail(spec.argsLine, "args", "expected an array of strings");
      spec.args = stringsOf(*n, "args");
    }
    for (const auto& [tokens, l] : {std::pair{&spec.command, spec.commandLine},
                                    std::pair{&spec.args, spec.argsLine}}) {
      for (const auto& a : *tokens) {
        if (a.size() > 1 && a[0] == '-') {
          std::string flag = a.substr(a[1] == '-' ? 2 : 1);
          flag = flag.substr(0, flag.find('='));
          if (isReservedFlag(flag)) {
            fail(l, a, "-o/--out, --quiet, --json and --help are set by the sweep itself");
          }
        }
      }
    }
    if (const toml::node* n = t.get("samples")) {
      if (spec.mode != Mode::Random) {
        fail(lineOf(*n), "samples", "only for mode = \"random\"");
      }
      const auto v = n->value<std::int64_t>();
      if (!n->is_integer() || !v || *v < 1 || static_cast<std::size_t>(*v) > kMaxPoints) {
        fail(lineOf(*n), "samples", "expected a whole number from 1 to 10^7");
      }
      spec.samples = static_cast<std::size_t>(*v);
    } else if (spec.mode == Mode::Random) {
      fail(spec.modeLine, "samples", "mode = \"random\" needs samples = <number of points>");
    }
    if (const toml::node* n = t.get("seed")) {
      const auto v = n->value<std::int64_t>();
      if (!n->is_integer() || !v || *v < 0) fail(lineOf(*n), "seed", "expected a whole number >= 0");
      spec.seed = static_cast<std::uint64_t>(*v);
    }
    if (const toml::node* n = t.get("metrics")) {
      spec.metricsLine = lineOf(*n);
      if (!n->is_array()) fail(spec.metricsLine, "metrics", "expected an array of metric names");
      spec.metrics = stringsOf(*n, "metrics");
      for (const auto& m : spec.metrics) {
        if (m.empty()) fail(spec.metricsLine, "metrics", "empty metric name");
      }
    }
    if (const toml::node* n = t.get("description")) (void)stringOf(*n, "description");
  }

  Axis parseAxis(const toml::table& t) const {
    Axis axis;
    axis.line = lineOf(t);
    checkKeys(t,
              {"name", "values", "linspace", "logspace", "uniform", "loguniform", "normal",
               "integers", "unit", "group"},
              "[[axis]]");
    if (const toml::node* n = t.get("unit")) axis.unit = stringOf(*n, "unit");
    const toml::node* name = t.get("name");
    if (name == nullptr) fail(axis.line, "[[axis]]", "no 'name' (model.<key>, param.<name> or option.<flag>)");
    parseName(axis, *name);
    if (const toml::node* n = t.get("group")) {
      if (spec.mode != Mode::Grid) fail(lineOf(*n), "group", "only for mode = \"grid\"");
      axis.group = stringOf(*n, "group");
    }
    parseValues(axis, t);
    return axis;
  }

  /// Zip lengths: every axis in zip mode, every axis of a group in grid mode.
  void checkLengths() const {
    std::map<std::string, const Axis*> first;
    for (const auto& a : spec.axes) {
      std::string group;
      if (spec.mode == Mode::Zip) {
        group = "*";
      } else if (spec.mode == Mode::Grid && !a.group.empty()) {
        group = a.group;
      } else {
        continue;
      }
      auto [it, fresh] = first.emplace(group, &a);
      if (fresh || it->second->values.size() == a.values.size()) continue;
      const Axis& f = *it->second;
      fail(a.valuesLine, "axis '" + echoToken(a.name) + "'",
           std::string(spec.mode == Mode::Zip ? "zip axes"
                                              : "axes of group '" + echoToken(group) + "'") +
               " of unequal length: " + std::to_string(a.values.size()) + " values here, " +
               std::to_string(f.values.size()) + " in '" + echoToken(f.name) + "' (line " +
               std::to_string(f.valuesLine) + ")");
    }
  }
};

}  // namespace

Spec parseSpecText(std::string_view text, const std::string& name) {
  Spec spec;
  spec.file = name;
  spec.text = std::string(text);
  Parser p{spec};
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    p.fail(static_cast<int>(e.source().begin.line), "", "malformed TOML: " + std::string(e.description()));
  }
  p.checkKeys(root, {"sweep", "axis"}, "spec");
  const toml::node* sweepNode = root.get("sweep");
  if (sweepNode == nullptr || !sweepNode->is_table()) {
    p.fail(sweepNode ? lineOf(*sweepNode) : 0, "[sweep]",
           "missing: the spec needs a [sweep] table with 'command'");
  }
  p.parseSweepTable(*sweepNode->as_table(), lineOf(*sweepNode));
  const toml::node* axes = root.get("axis");
  if (axes == nullptr) p.fail(0, "[[axis]]", "the spec has no axis; add [[axis]] tables");
  if (!axes->is_array_of_tables()) {
    p.fail(lineOf(*axes), "axis", "write each axis as an [[axis]] table (double brackets)");
  }
  for (const auto& n : *axes->as_array()) {
    Axis a = p.parseAxis(*n.as_table());
    for (const auto& b : spec.axes) {
      if (b.kind == a.kind && toLower(b.key) == toLower(a.key)) {
        p.fail(a.line, "axis '" + echoToken(a.name) + "'",
               "given twice (first at line " + std::to_string(b.line) + ")");
      }
    }
    spec.axes.push_back(std::move(a));
  }
  p.checkLengths();
  return spec;
}

Spec parseSpecFile(const std::filesystem::path& path) {
  return parseSpecText(readInputFile(path, "", "sweep spec"), path.string());
}

}  // namespace ecramsim::sweep

#include "sweep/points.hpp"

#include <cmath>
#include <cstdio>
#include <map>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace ecramsim::sweep {

namespace {

AxisValue drawValue(const Axis& axis, Rng& rng) {
  switch (axis.distribution) {
    case Distribution::List: {
      const auto n = axis.values.size();
      const auto k = std::min(n - 1, static_cast<std::size_t>(rng.uniform() * static_cast<double>(n)));
      return axis.values[k];
    }
    case Distribution::Uniform: {
      const double x = axis.a + (axis.b - axis.a) * rng.uniform();
      return {formatShortest(x), x, false};
    }
    case Distribution::LogUniform: {
      const double la = std::log(axis.a), lb = std::log(axis.b);
      const double x = std::exp(la + (lb - la) * rng.uniform());
      return {formatShortest(x), x, false};
    }
    case Distribution::Normal: {
      const double x = rng.normal(axis.a, axis.b);
      return {formatShortest(x), x, false};
    }
    case Distribution::Integers: {
      const double span = axis.b - axis.a + 1.0;
      const double x = std::min(axis.b, axis.a + std::floor(rng.uniform() * span));
      return {std::to_string(static_cast<std::int64_t>(x)), x, false};
    }
  }
  return {};
}

std::vector<Point> gridPoints(const Spec& spec) {
  // Units of the product: an ungrouped axis, or all axes of one group (in order of first use).
  std::vector<std::vector<std::size_t>> units;
  std::map<std::string, std::size_t> groupUnit;
  for (std::size_t a = 0; a < spec.axes.size(); ++a) {
    const auto& g = spec.axes[a].group;
    if (!g.empty()) {
      if (auto it = groupUnit.find(g); it != groupUnit.end()) {
        units[it->second].push_back(a);
        continue;
      }
      groupUnit[g] = units.size();
    }
    units.push_back({a});
  }
  std::size_t total = 1;
  for (const auto& u : units) {
    const std::size_t len = spec.axes[u.front()].values.size();
    if (len != 0 && total > kMaxPoints / len) {
      throw InputError({spec.file, spec.sweepLine}, "[sweep]",
                       "the grid has more than 10^7 points");
    }
    total *= len;
  }
  std::vector<Point> points(total);
  for (std::size_t i = 0; i < total; ++i) {
    Point& p = points[i];
    p.index = i;
    p.values.resize(spec.axes.size());
    std::size_t rest = i;
    for (std::size_t u = units.size(); u-- > 0;) {  // last unit fastest
      const std::size_t len = spec.axes[units[u].front()].values.size();
      const std::size_t k = rest % len;
      rest /= len;
      for (std::size_t a : units[u]) p.values[a] = spec.axes[a].values[k];
    }
  }
  return points;
}

}  // namespace

std::vector<Point> generatePoints(const Spec& spec) {
  switch (spec.mode) {
    case Mode::Grid:
      return gridPoints(spec);
    case Mode::Zip: {
      const std::size_t n = spec.axes.empty() ? 0 : spec.axes.front().values.size();
      std::vector<Point> points(n);
      for (std::size_t i = 0; i < n; ++i) {
        points[i].index = i;
        for (const auto& a : spec.axes) points[i].values.push_back(a.values[i]);
      }
      return points;
    }
    case Mode::Random: {
      Rng rng(spec.seed);
      std::vector<Point> points(spec.samples);
      for (std::size_t i = 0; i < spec.samples; ++i) {
        points[i].index = i;
        for (const auto& a : spec.axes) points[i].values.push_back(drawValue(a, rng));
      }
      return points;
    }
  }
  return {};
}

std::vector<std::string> pointArguments(const Spec& spec, const Point& point) {
  std::vector<std::string> args = spec.command;
  args.insert(args.end(), spec.args.begin(), spec.args.end());
  for (std::size_t a = 0; a < spec.axes.size(); ++a) {
    const Axis& axis = spec.axes[a];
    const AxisValue& v = point.values.at(a);
    switch (axis.kind) {
      case AxisKind::Model:
        args.push_back("--set");
        args.push_back(axis.key + "=" + v.text);
        break;
      case AxisKind::Param:
        args.push_back("--param");
        args.push_back(axis.key + "=" + v.text);
        break;
      case AxisKind::Option: {
        const std::string flag = (axis.key.size() == 1 ? "-" : "--") + axis.key;
        if (v.flag) {
          if (v.text == "true") args.push_back(flag);
        } else {
          args.push_back(flag);
          args.push_back(v.text);
        }
        break;
      }
    }
  }
  return args;
}

std::string joinArguments(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) out += (out.empty() ? "" : " ") + a;
  return out;
}

std::string specHash(const Spec& spec, const std::vector<Point>& points) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto feed = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
  };
  feed("ecramsim-sweep/1\n");
  for (const auto& p : points) {
    for (const auto& a : pointArguments(spec, p)) {
      feed(a);
      feed("\x1f");
    }
    feed("\n");
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

Shard parseShard(std::string_view text) {
  const auto slash = text.find('/');
  auto number = [](std::string_view s, std::size_t& out) {
    if (s.empty() || s.size() > 9) return false;
    out = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      out = out * 10 + static_cast<std::size_t>(c - '0');
    }
    return true;
  };
  Shard s;
  if (slash == std::string_view::npos || !number(text.substr(0, slash), s.k) ||
      !number(text.substr(slash + 1), s.n) || s.n == 0 || s.k == 0 || s.k > s.n) {
    throw InputError({}, "--shard", "expected K/N with 1 <= K <= N, got '" + echoToken(text) + "'");
  }
  return s;
}

std::string pointFileName(std::size_t index, std::size_t totalPoints) {
  int digits = 5;
  for (std::size_t n = totalPoints > 0 ? totalPoints - 1 : 0; n >= 100000; n /= 10) ++digits;
  char buf[32];
  std::snprintf(buf, sizeof buf, "points/p%0*zu.h5", digits, index);
  return buf;
}

std::string indexFileName(const Shard& shard) {
  if (shard.whole()) return "index.h5";
  return "index.shard-" + std::to_string(shard.k) + "-of-" + std::to_string(shard.n) + ".h5";
}

}  // namespace ecramsim::sweep

#include "fit/data.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "core/input_file.hpp"
#include "core/sha256.hpp"
#include "io/hdf5.hpp"
#include "io/tabular.hpp"

namespace ecramsim::fit {

namespace {

/// A plain decimal number (no SPICE scale letters: data files hold SI values), or nullopt.
std::optional<double> parseNumber(const std::string& text) {
  double v = 0.0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

double number(const std::string& text, const SourceLocation& where, const std::string& column) {
  const auto v = parseNumber(text);
  if (!v) throw InputError(where, column, "'" + echoToken(text) + "' is not a number");
  return *v;
}

double conductance(const std::string& text, const SourceLocation& where,
                   const std::string& column) {
  const double g = number(text, where, column);
  if (!(g > 0.0)) {
    throw InputError(where, column,
                     "conductance " + echoToken(text) + " S: must be positive (siemens)");
  }
  return g;
}

DataFile fileRecord(const std::filesystem::path& file, const std::string& kind) {
  const std::string text = readInputFile(file, "DATA", "measured data file");
  return {file.string(), sha256Hex(text), kind};
}

/// +1 when the ramp ends above where it starts, else -1.
int trend(const std::vector<double>& g) { return g.back() >= g.front() ? 1 : -1; }

void requirePulses(const Ramp& r) {
  if (r.g_s.size() < 2) {
    throw InputError(r.where, r.name,
                     "a single reading: a ramp needs a start and at least one pulse after it");
  }
}

}  // namespace

void MeasuredData::append(MeasuredData other, bool sameDevices) {
  const int offset = sameDevices ? 0 : devices();
  for (auto& r : other.ramps) {
    r.device += offset;
    ramps.push_back(std::move(r));
  }
  for (auto& t : other.tables) tables.push_back(std::move(t));
  for (auto& f : other.files) files.push_back(std::move(f));
  if (other.shape) shape = other.shape;
}

int MeasuredData::devices() const {
  int n = 0;
  for (const auto& r : ramps) n = std::max(n, r.device + 1);
  return n;
}

MeasuredData readTraces(const std::filesystem::path& file, int polarity) {
  MeasuredData d;
  d.files.push_back(fileRecord(file, "traces"));
  const io::CsvTable t = io::readCsv(file);
  for (std::size_t c = 0; c < t.header.size(); ++c) {
    Ramp r;
    r.name = t.header[c];
    r.where = {t.file, t.lines.front()};
    int endedAt = 0;
    for (std::size_t i = 0; i < t.rows.size(); ++i) {
      const std::string& f = t.rows[i][c];
      const SourceLocation at{t.file, t.lines[i]};
      if (f.empty()) {
        if (endedAt == 0) endedAt = at.line;
        continue;
      }
      if (endedAt != 0) {
        throw InputError(at, r.name,
                         "reading after the ramp ended (empty field on line " +
                             std::to_string(endedAt) + "): a ramp may not have gaps");
      }
      r.g_s.push_back(conductance(f, at, r.name));
    }
    if (r.g_s.empty()) throw InputError({t.file, 1}, r.name, "ramp has no readings");
    requirePulses(r);
    r.polarity = polarity != 0 ? polarity : trend(r.g_s);
    d.ramps.push_back(std::move(r));
  }
  return d;
}

MeasuredData readTwoColumn(const std::filesystem::path& file) {
  MeasuredData d;
  d.files.push_back(fileRecord(file, "two-column"));
  const io::CsvTable t = io::readCsv(file);
  if (t.header.size() != 2) {
    throw InputError({t.file, 1}, "", "expected two columns (pulse, conductance), found " +
                                          std::to_string(t.header.size()));
  }
  std::vector<double> pulse, g;
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const SourceLocation at{t.file, t.lines[i]};
    pulse.push_back(number(t.rows[i][0], at, t.header[0]));
    if (pulse.back() != std::round(pulse.back())) {
      throw InputError(at, t.header[0], "pulse '" + echoToken(t.rows[i][0]) +
                                            "' must be an integer");
    }
    g.push_back(conductance(t.rows[i][1], at, t.header[1]));
  }
  const bool isSigned =
      std::all_of(pulse.begin(), pulse.end(), [](double p) { return std::fabs(p) <= 1.0; }) &&
      std::any_of(pulse.begin(), pulse.end(), [](double p) { return p < 0.0; });
  if (!isSigned) {
    for (std::size_t i = 1; i < pulse.size(); ++i) {
      if (pulse[i] != pulse[i - 1] + 1.0) {
        throw InputError({t.file, t.lines[i]}, t.header[0],
                         "pulse numbers must rise by one (or be signed pulses -1/0/+1)");
      }
    }
    Ramp r{t.header[1], 1, 0, g, {t.file, t.lines.front()}};
    requirePulses(r);
    r.polarity = trend(r.g_s);
    d.ramps.push_back(std::move(r));
    return d;
  }
  // Signed pulses: a run of one sign is a ramp from the reading before the run.
  for (std::size_t i = 0; i < pulse.size();) {
    if (pulse[i] == 0.0) {
      ++i;
      continue;
    }
    const int sign = pulse[i] > 0.0 ? 1 : -1;
    if (i == 0) {
      throw InputError({t.file, t.lines[0]}, t.header[0],
                       "the first reading has a pulse before it but no reading to start from");
    }
    Ramp r{t.header[1] + "_" + std::to_string(d.ramps.size() + 1), sign, 0, {g[i - 1]},
           {t.file, t.lines[i - 1]}};
    while (i < pulse.size() && pulse[i] == sign) r.g_s.push_back(g[i++]);
    d.ramps.push_back(std::move(r));
  }
  if (d.ramps.empty()) throw InputError({t.file, 0}, t.header[0], "no pulses (every row is 0)");
  return d;
}

namespace {

/// The numeric rows of a CrossSim table file (comments and the header line dropped), each with
/// its line number.
StepTable readTable(const std::filesystem::path& file, int polarity) {
  const std::string text = readInputFile(file, "DATA", "CrossSim lookup table");
  std::istringstream in(text);
  std::string line;
  int lineNo = 0;
  bool headerSeen = false;
  std::vector<std::pair<int, std::vector<double>>> rows;
  while (std::getline(in, line)) {
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    if (!headerSeen) {
      headerSeen = true;
      // CrossSim writes a header line; a file that starts with numbers has none.
      std::istringstream probe(line);
      std::string tok;
      probe >> tok;
      if (!parseNumber(tok)) continue;
    }
    std::replace(line.begin(), line.end(), ',', ' ');
    std::istringstream fields(line);
    std::vector<double> row;
    std::string tok;
    while (fields >> tok) row.push_back(number(tok, {file.string(), lineNo}, ""));
    rows.emplace_back(lineNo, std::move(row));
  }
  StepTable t;
  t.polarity = polarity;
  t.where = {file.string(), 0};
  if (rows.size() < 3) {
    throw InputError(t.where, "", "a lookup table needs a G-bin row, a CDF row and dG rows");
  }
  const auto& gRow = rows.front();
  for (std::size_t r = 2; r < rows.size(); ++r) {
    if (rows[r].second.size() != gRow.second.size()) {
      throw InputError({file.string(), rows[r].first}, "",
                       "dG row has " + std::to_string(rows[r].second.size()) +
                           " values, the G-bin row (line " + std::to_string(gRow.first) + ") " +
                           std::to_string(gRow.second.size()));
    }
  }
  t.g_s = gRow.second;
  for (double g : t.g_s) {
    if (!(g > 0.0)) {
      throw InputError({file.string(), gRow.first}, "G bin",
                       "conductance bins must be positive (siemens)");
    }
  }
  t.cdf = rows[1].second;
  if (t.cdf.size() != rows.size() - 2) {
    throw InputError({file.string(), rows[1].first}, "CDF",
                     std::to_string(t.cdf.size()) + " CDF points but " +
                         std::to_string(rows.size() - 2) + " dG rows: one row per CDF point");
  }
  for (std::size_t c = 0; c < t.cdf.size(); ++c) {
    if (t.cdf[c] < 0.0 || t.cdf[c] > 1.0 || (c > 0 && t.cdf[c] < t.cdf[c - 1])) {
      throw InputError({file.string(), rows[1].first}, "CDF",
                       "CDF points must rise within [0, 1]");
    }
  }
  for (std::size_t r = 2; r < rows.size(); ++r) t.dg_s.push_back(rows[r].second);
  return t;
}

}  // namespace

MeasuredData readCrossSimLut(const std::filesystem::path& increasing,
                             const std::filesystem::path& decreasing) {
  MeasuredData d;
  d.files.push_back(fileRecord(increasing, "crosssim-lut"));
  d.files.push_back(fileRecord(decreasing, "crosssim-lut"));
  d.tables.push_back(readTable(increasing, 1));
  d.tables.push_back(readTable(decreasing, -1));
  return d;
}

namespace {

double shapeAttr(const ResultTree& tree, const std::string& key, double fallback) {
  const auto g = tree.groupAttrs().find("/config/protocol");
  if (g == tree.groupAttrs().end()) return fallback;
  const auto a = g->second.find(key);
  if (a == g->second.end()) return fallback;
  if (const double* v = std::get_if<double>(&a->second)) return *v;
  if (const auto* i = std::get_if<std::int64_t>(&a->second)) return static_cast<double>(*i);
  return fallback;
}

/// Splits a trace (start, then a reading after every pulse) into ramps at polarity changes.
void splitRuns(const std::vector<double>& g, const std::vector<int>& polarity, int device,
               const std::string& name, const SourceLocation& where, MeasuredData& d) {
  for (std::size_t i = 0; i < polarity.size();) {
    Ramp r{name + "_" + std::to_string(i), polarity[i], device, {g[i]}, where};
    const int sign = polarity[i];
    while (i < polarity.size() && polarity[i] == sign) r.g_s.push_back(g[++i]);
    d.ramps.push_back(std::move(r));
  }
}

void checkConductances(const std::vector<double>& g, const SourceLocation& where,
                       const std::string& path) {
  if (g.size() < 2) throw InputError(where, path, "fewer than two readings: nothing to fit");
  for (double v : g) {
    if (!(v > 0.0) || !std::isfinite(v)) {
      throw InputError(where, path, "conductances must be finite and positive");
    }
  }
}

}  // namespace

MeasuredData readDeviceFile(const std::filesystem::path& file) {
  MeasuredData d;
  d.files.push_back(fileRecord(file, "hdf5"));
  const ResultTree tree = io::readResultFile(file);
  const SourceLocation where{file.string(), 0};
  if (tree.has("/pulses/g_s") && tree.has("/pulses/polarity")) {
    const auto& g = tree.values("/pulses/g_s");
    const auto& pol =
        std::get<std::vector<std::int64_t>>(tree.datasets().at("/pulses/polarity").data);
    checkConductances(g, where, "/pulses/g_s");
    if (pol.size() + 1 != g.size()) {
      throw InputError(where, "/pulses/polarity", "needs one entry per pulse (g_s has the start)");
    }
    std::vector<int> p(pol.begin(), pol.end());
    splitRuns(g, p, 0, "pulses", where, d);
  } else {
    const double perBranch = shapeAttr(tree, "pulses_per_branch", 0.0);
    int device = 0;
    for (const auto& [path, ds] : tree.datasets()) {
      if (path.rfind("/devices/", 0) != 0 || path.size() < 5 ||
          path.compare(path.size() - 4, 4, "/g_s") != 0) {
        continue;
      }
      if (!(perBranch >= 1.0)) {
        throw InputError(where, "/config/protocol",
                         "device traces need the attribute pulses_per_branch");
      }
      const auto& g = tree.values(path);
      checkConductances(g, where, path);
      const auto n = static_cast<std::size_t>(perBranch);
      std::vector<int> p;
      for (std::size_t k = 0; k + 1 < g.size(); ++k) p.push_back((k / n) % 2 == 0 ? 1 : -1);
      splitRuns(g, p, device++, path.substr(9, path.size() - 13), where, d);
    }
    if (d.ramps.empty()) {
      throw InputError(where, "", "no pulse traces: expected /pulses/g_s (ecramsim device "
                                  "pulses) or /devices/NAME/g_s (ecramsim device windows)");
    }
  }
  PulseShape s;
  s.amplitude_v = shapeAttr(tree, "amplitude_v", s.amplitude_v);
  s.width_s = shapeAttr(tree, "width_s", s.width_s);
  s.interval_s = shapeAttr(tree, "interval_s", s.interval_s);
  s.read_v = shapeAttr(tree, "read_v", s.read_v);
  d.shape = s;
  return d;
}

MeasuredData readData(const std::filesystem::path& file) {
  const std::string ext = file.extension().string();
  if (ext == ".h5" || ext == ".hdf5") return readDeviceFile(file);
  std::filesystem::path dir;
  if (std::filesystem::is_directory(file)) {
    dir = file;
  } else if (file.filename() == "dG_increasing.txt" || file.filename() == "dG_decreasing.txt") {
    dir = file.parent_path();
  }
  if (!dir.empty()) return readCrossSimLut(dir / "dG_increasing.txt", dir / "dG_decreasing.txt");
  const io::CsvTable t = io::readCsv(file);
  const bool twoColumn =
      t.header.size() == 2 && std::all_of(t.rows.begin(), t.rows.end(), [](const auto& r) {
        const auto v = parseNumber(r[0]);
        return v && *v == std::round(*v);
      });
  return twoColumn ? readTwoColumn(file) : readTraces(file, 0);
}

}  // namespace ecramsim::fit

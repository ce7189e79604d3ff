#include "io/tabular.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <set>

#include "core/error.hpp"
#include "core/input_file.hpp"
#include "core/units.hpp"

namespace ecramsim::io {

namespace {

std::vector<std::string> splitCsvLine(const std::string& line, const std::string& file, int lineNo) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (quoted) throw InputError({file, lineNo}, "", "unterminated quoted field");
  out.push_back(cur);
  for (auto& f : out) {
    const auto b = f.find_first_not_of(" \t");
    const auto e = f.find_last_not_of(" \t");
    f = (b == std::string::npos) ? std::string() : f.substr(b, e - b + 1);
  }
  return out;
}

}  // namespace

CsvTable readCsv(const std::filesystem::path& path) {
  CsvTable t;
  t.file = path.string();
  std::ifstream in = openInputFile(path, "", "data file");
  std::string line;
  int lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto fields = splitCsvLine(line, t.file, lineNo);
    if (t.header.empty()) {
      std::set<std::string> seen;
      for (const auto& h : fields) {
        if (h.empty()) throw InputError({t.file, lineNo}, "", "empty column name in the header");
        if (!seen.insert(h).second) throw InputError({t.file, lineNo}, h, "column named twice");
      }
      t.header = std::move(fields);
      continue;
    }
    if (fields.size() != t.header.size()) {
      throw InputError({t.file, lineNo}, "",
                       "row has " + std::to_string(fields.size()) + " fields, the header " +
                           std::to_string(t.header.size()));
    }
    t.rows.push_back(std::move(fields));
    t.lines.push_back(lineNo);
  }
  if (t.header.empty()) throw InputError({t.file, 0}, "", "empty file: no header and no rows");
  if (t.rows.empty()) throw InputError({t.file, 0}, "", "no data rows after the header");
  return t;
}

LabeledData encode(const CsvTable& t, const EncodeOptions& options) {
  const auto labelIt = std::find(t.header.begin(), t.header.end(), options.labelColumn);
  if (labelIt == t.header.end()) {
    throw InputError({t.file, 1}, options.labelColumn, "label column missing from the header");
  }
  const auto labelCol = static_cast<std::size_t>(labelIt - t.header.begin());
  LabeledData d;
  d.classNames = options.classes;
  if (d.classNames.empty()) {
    std::set<std::string> labels;
    for (const auto& r : t.rows) labels.insert(r[labelCol]);
    d.classNames.assign(labels.begin(), labels.end());
  }
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const auto& label = t.rows[i][labelCol];
    const auto it = std::find(d.classNames.begin(), d.classNames.end(), label);
    if (it == d.classNames.end()) {
      std::string known;
      for (const auto& c : d.classNames) known += (known.empty() ? "" : ", ") + c;
      throw InputError(
          {t.file, t.lines[i]}, options.labelColumn,
          "unknown class label '" + echoToken(label) + "' (expected one of: " + known + ")");
    }
    d.y.push_back(static_cast<int>(it - d.classNames.begin()));
  }
  // Per column: numeric (standardized) or categorical (one-hot, categories sorted).
  struct Column {
    std::size_t index;
    bool numeric;
    std::vector<std::string> categories;
    double mean = 0.0, sd = 1.0;
  };
  std::vector<Column> columns;
  for (std::size_t c = 0; c < t.header.size(); ++c) {
    if (c == labelCol) continue;
    Column col{c, options.allowNumeric, {}, 0.0, 1.0};
    std::vector<double> values;
    for (const auto& r : t.rows) {
      const auto v = parseSpiceNumber(r[c]);
      // Plain numbers only: "1k" is a category name in a data set, not a SPICE quantity.
      if (!v || r[c].find_first_of("afgkmnptuAFGKMNPTU") != std::string::npos) {
        col.numeric = false;
        break;
      }
      values.push_back(*v);
    }
    if (col.numeric) {
      double s = 0.0, s2 = 0.0;
      for (double v : values) s += v;
      col.mean = s / double(values.size());
      for (double v : values) s2 += (v - col.mean) * (v - col.mean);
      col.sd = std::sqrt(s2 / double(values.size()));
      if (!(col.sd > 0.0)) {
        throw InputError({t.file, 0}, t.header[c], "numeric column is constant: nothing to learn");
      }
      d.featureNames.push_back(t.header[c]);
    } else {
      std::set<std::string> cats;
      for (const auto& r : t.rows) cats.insert(r[c]);
      col.categories.assign(cats.begin(), cats.end());
      for (const auto& cat : col.categories) d.featureNames.push_back(t.header[c] + "=" + cat);
    }
    columns.push_back(std::move(col));
  }
  d.features = d.featureNames.size();
  d.x.assign(t.rows.size() * d.features, 0.0);
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    std::size_t f = 0;
    double* row = d.x.data() + i * d.features;
    for (const auto& col : columns) {
      const auto& v = t.rows[i][col.index];
      if (col.numeric) {
        row[f++] = (*parseSpiceNumber(v) - col.mean) / col.sd;
      } else {
        const auto k = std::lower_bound(col.categories.begin(), col.categories.end(), v) -
                       col.categories.begin();
        row[f + static_cast<std::size_t>(k)] = 1.0;
        f += col.categories.size();
      }
    }
  }
  return d;
}

namespace {
/// Row indices of each class, each list shuffled (Fisher-Yates with our Rng).
std::vector<std::vector<std::size_t>> shuffledByClass(const std::vector<int>& y, Rng& rng) {
  int classes = 0;
  for (int c : y) classes = std::max(classes, c + 1);
  std::vector<std::vector<std::size_t>> by(static_cast<std::size_t>(classes));
  for (std::size_t i = 0; i < y.size(); ++i) by[static_cast<std::size_t>(y[i])].push_back(i);
  for (auto& v : by) {
    for (std::size_t i = v.size(); i > 1; --i) {
      const auto j = static_cast<std::size_t>(rng.uniform() * static_cast<double>(i));
      std::swap(v[i - 1], v[std::min(j, i - 1)]);
    }
  }
  return by;
}
}  // namespace

Split stratifiedSplit(const std::vector<int>& y, double testFraction, Rng& rng) {
  if (!(testFraction > 0.0 && testFraction < 1.0)) {
    throw InputError({}, "test fraction", "must lie in (0, 1)");
  }
  Split s;
  for (const auto& idx : shuffledByClass(y, rng)) {
    const auto nTest = static_cast<std::size_t>(std::lround(testFraction * double(idx.size())));
    s.test.insert(s.test.end(), idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(nTest));
    s.train.insert(s.train.end(), idx.begin() + static_cast<std::ptrdiff_t>(nTest), idx.end());
  }
  std::sort(s.test.begin(), s.test.end());
  std::sort(s.train.begin(), s.train.end());
  return s;
}

std::vector<Split> stratifiedFolds(const std::vector<int>& y, int k, Rng& rng) {
  if (k < 2) throw InputError({}, "folds", "need at least 2 folds");
  std::vector<Split> folds(static_cast<std::size_t>(k));
  for (const auto& idx : shuffledByClass(y, rng)) {
    for (std::size_t i = 0; i < idx.size(); ++i) {
      const std::size_t f = i % static_cast<std::size_t>(k);
      for (std::size_t g = 0; g < folds.size(); ++g) {
        (g == f ? folds[g].test : folds[g].train).push_back(idx[i]);
      }
    }
  }
  for (auto& s : folds) {
    std::sort(s.test.begin(), s.test.end());
    std::sort(s.train.begin(), s.train.end());
  }
  return folds;
}

}  // namespace ecramsim::io

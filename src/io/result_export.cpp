#include "io/result_export.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "core/units.hpp"

namespace ecramsim::io {

namespace {

std::string parentOf(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == 0 ? std::string("/") : path.substr(0, slash);
}

std::string baseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

std::string textAttr(const Dataset& d, const char* key) {
  auto it = d.attrs.find(key);
  if (it == d.attrs.end()) return {};
  if (const auto* s = std::get_if<std::string>(&it->second)) return *s;
  return {};
}

std::string axisName(const std::string& path, const Dataset& d, std::size_t k) {
  return axisNames(path, d).at(k);
}

/// Value i of a dataset as CSV text.
std::string cell(const Dataset& d, std::size_t i) {
  if (const auto* v = std::get_if<std::vector<double>>(&d.data)) return formatShort((*v)[i], 17);
  if (const auto* n = std::get_if<std::vector<std::int64_t>>(&d.data)) {
    return std::to_string((*n)[i]);
  }
  return csvField(std::get<std::vector<std::string>>(d.data)[i]);
}

std::size_t countOf(const Dataset& d) {
  return std::visit([](const auto& v) { return v.size(); }, d.data);
}

/// The coordinate dataset of axis `name` for the array at `path`: `name` in its group or a
/// group above (null if none).
const Dataset* coordinateOf(const ResultTree& tree, const std::string& path,
                            const std::string& name) {
  std::string group = parentOf(path);
  while (true) {
    const std::string candidate = (group == "/" ? "" : group) + "/" + name;
    if (auto it = tree.datasets().find(candidate); it != tree.datasets().end()) {
      if (it->second.shape.size() == 1) return &it->second;
    }
    if (group == "/") return nullptr;
    group = parentOf(group);
  }
}

std::string withUnit(const std::string& name, const Dataset& d) {
  const std::string unit = textAttr(d, "units");
  return csvField(unit.empty() ? name : name + " [" + unit + "]");
}

}  // namespace

std::vector<std::string> axisNames(const std::string& path, const Dataset& d) {
  if (!d.dims.empty()) return d.dims;
  if (d.shape.size() == 1) return {baseName(path)};
  std::vector<std::string> names;
  for (std::size_t k = 0; k < d.shape.size(); ++k) {
    names.push_back(baseName(path) + "_dim" + std::to_string(k));
  }
  return names;
}

std::string csvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

CsvExport csvOfGroup(const ResultTree& tree, const std::string& group, const std::string& file) {
  // The arrays: the dataset named, else every 1-D and 2-D dataset directly in the group.
  std::vector<std::string> arrays;
  if (auto it = tree.datasets().find(group); it != tree.datasets().end()) {
    arrays.push_back(group);
  } else {
    const std::string prefix = group == "/" ? "/" : group + "/";
    for (const auto& [path, d] : tree.datasets()) {
      if (path.rfind(prefix, 0) == 0 && path.find('/', prefix.size()) == std::string::npos &&
          (d.shape.size() == 1 || d.shape.size() == 2)) {
        arrays.push_back(path);
      }
    }
  }
  std::map<std::string, std::size_t> votes;
  for (const auto& p : arrays) {
    const Dataset& d = tree.datasets().at(p);
    if (d.shape.size() == 1 || d.shape.size() == 2) ++votes[axisName(p, d, 0)];
  }
  if (votes.empty()) {
    throw InputError({file, 0}, "--group",
                     "'" + echoToken(group) + "' holds no 1-D or 2-D array to write as CSV");
  }
  CsvExport t;
  std::size_t best = 0;
  for (const auto& [name, n] : votes) {
    if (n > best) {
      best = n;
      t.rowAxis = name;
    }
  }
  // Columns: the row coordinates, then each array along the row axis.
  std::vector<std::string> header;
  std::vector<std::pair<const Dataset*, std::size_t>> columns;  // dataset, stride offset
  std::vector<std::size_t> strides;
  std::size_t rows = 0;
  bool haveRows = false;
  const Dataset* rowCoordinate = nullptr;
  for (const auto& p : arrays) {
    const Dataset& d = tree.datasets().at(p);
    if (d.shape.empty() || d.shape.size() > 2 || axisName(p, d, 0) != t.rowAxis) {
      t.skipped.push_back(p);
      continue;
    }
    if (!haveRows) {
      rows = d.shape[0];
      haveRows = true;
      rowCoordinate = coordinateOf(tree, p, t.rowAxis);
      if (rowCoordinate != nullptr && rowCoordinate->shape[0] == rows) {
        header.push_back(withUnit(t.rowAxis, *rowCoordinate));
        columns.push_back({rowCoordinate, 0});
        strides.push_back(1);
      }
    }
    if (d.shape[0] != rows || &d == rowCoordinate) {
      if (&d != rowCoordinate) t.skipped.push_back(p);
      continue;
    }
    const std::string name = baseName(p);
    if (d.shape.size() == 1) {
      header.push_back(withUnit(name, d));
      columns.push_back({&d, 0});
      strides.push_back(1);
      continue;
    }
    const std::size_t width = d.shape[1];
    const Dataset* labels = coordinateOf(tree, p, axisName(p, d, 1));
    for (std::size_t c = 0; c < width; ++c) {
      std::string label = std::to_string(c);
      if (labels != nullptr && labels->shape[0] == width) {
        if (const auto* s = std::get_if<std::vector<std::string>>(&labels->data)) {
          label = (*s)[c];
        } else {
          label = cell(*labels, c);
        }
      }
      header.push_back(withUnit(name + "." + label, d));
      columns.push_back({&d, c});
      strides.push_back(width);
    }
  }
  // The labels of the columns' axes (node names, ...) are not left out: they head columns.
  std::vector<std::string> columnAxes;
  for (const auto& [d, offset] : columns) {
    if (d->shape.size() == 2 && !d->dims.empty()) columnAxes.push_back(d->dims[1]);
  }
  std::erase_if(t.skipped, [&](const std::string& p) {
    const Dataset& d = tree.datasets().at(p);
    return d.shape.size() == 1 &&
           std::find(columnAxes.begin(), columnAxes.end(), axisName(p, d, 0)) != columnAxes.end();
  });
  std::ostringstream out;
  for (std::size_t c = 0; c < header.size(); ++c) out << (c ? "," : "") << header[c];
  out << "\n";
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const auto& [d, offset] = columns[c];
      const std::size_t i = r * strides[c] + offset;
      out << (c ? "," : "") << (i < countOf(*d) ? cell(*d, i) : std::string());
    }
    out << "\n";
  }
  t.text = out.str();
  return t;
}

namespace {

/// One variable of a raw file: its name, ngspice type and row-major source.
struct RawVariable {
  std::string name;
  std::string type;
  const std::vector<double>* data;
  std::size_t stride;
  std::size_t offset;
};

const std::vector<double>& numbersAt(const ResultTree& tree, const std::string& path,
                                     const std::string& file) {
  auto it = tree.datasets().find(path);
  if (it == tree.datasets().end() || !std::get_if<std::vector<double>>(&it->second.data)) {
    throw InputError({file, 0}, path,
                     "missing: --format raw needs the waveforms of an `ecramsim run` file");
  }
  return std::get<std::vector<double>>(it->second.data);
}

const std::vector<std::string>& namesAt(const ResultTree& tree, const std::string& path,
                                        const std::string& file) {
  auto it = tree.datasets().find(path);
  if (it == tree.datasets().end() || !std::get_if<std::vector<std::string>>(&it->second.data)) {
    throw InputError({file, 0}, path,
                     "missing: --format raw needs the waveforms of an `ecramsim run` file");
  }
  return std::get<std::vector<std::string>>(it->second.data);
}

}  // namespace

std::string rawOfRun(const ResultTree& tree, bool binary, const std::string& file) {
  const std::vector<double>& time = numbersAt(tree, "/waveforms/time_s", file);
  const std::size_t points = time.size();
  std::vector<RawVariable> vars{{"time", "time", &time, 1, 0}};
  auto add = [&](const std::string& names, const std::string& values, const std::string& prefix,
                 const std::string& type) {
    const auto& n = namesAt(tree, names, file);
    const auto& v = numbersAt(tree, values, file);
    if (v.size() != points * n.size()) {
      throw InputError({file, 0}, values,
                       "holds " + std::to_string(v.size()) + " values, not points x names (" +
                           std::to_string(points) + " x " + std::to_string(n.size()) + ")");
    }
    for (std::size_t k = 0; k < n.size(); ++k) {
      vars.push_back({prefix + "(" + n[k] + ")", type, &v, n.size(), k});
    }
  };
  add("/waveforms/node_names", "/waveforms/node_v", "v", "voltage");
  add("/waveforms/source_names", "/waveforms/source_i_a", "i", "current");
  add("/waveforms/cell_names", "/waveforms/cell_x", "x", "notype");
  add("/waveforms/cell_names", "/waveforms/cell_g_s", "g", "admittance");
  add("/waveforms/cell_names", "/waveforms/cell_i_ion_a", "i_ion", "current");
  add("/waveforms/cell_names", "/waveforms/cell_i_ds_a", "i_ds", "current");
  add("/waveforms/cell_names", "/waveforms/cell_v_gs_v", "v_gs", "voltage");
  add("/waveforms/cell_names", "/waveforms/cell_v_gd_v", "v_gd", "voltage");

  std::string analysis = "tran";
  if (auto g = tree.groupAttrs().find("/waveforms"); g != tree.groupAttrs().end()) {
    if (auto a = g->second.find("analysis"); a != g->second.end()) {
      if (const auto* s = std::get_if<std::string>(&a->second)) analysis = *s;
    }
  }
  std::string title = "ecramsim run";
  std::string date;
  if (auto g = tree.groupAttrs().find("/"); g != tree.groupAttrs().end()) {
    if (auto a = g->second.find("command_line"); a != g->second.end()) {
      if (const auto* s = std::get_if<std::string>(&a->second)) title = *s;
    }
    if (auto a = g->second.find("start_time"); a != g->second.end()) {
      if (const auto* s = std::get_if<std::string>(&a->second)) date = *s;
    }
  }
  for (char& c : title) c = (c == '\n' || c == '\r') ? ' ' : c;
  std::ostringstream out;
  out << "Title: " << title << "\n"
      << "Date: " << date << "\n"
      << "Plotname: " << (analysis == "op" ? "Operating Point" : "Transient Analysis") << "\n"
      << "Flags: real\n"
      << "No. Variables: " << vars.size() << "\n"
      << "No. Points: " << points << "\n"
      << "Variables:\n";
  for (std::size_t k = 0; k < vars.size(); ++k) {
    out << "\t" << k << "\t" << vars[k].name << "\t" << vars[k].type << "\n";
  }
  auto value = [&](const RawVariable& v, std::size_t p) {
    return (*v.data)[p * v.stride + v.offset];
  };
  if (binary) {
    out << "Binary:\n";
    std::string bytes(points * vars.size() * sizeof(double), '\0');
    char* at = bytes.data();
    for (std::size_t p = 0; p < points; ++p) {
      for (const auto& v : vars) {
        const double x = value(v, p);
        std::memcpy(at, &x, sizeof x);
        at += sizeof x;
      }
    }
    out << bytes;
    return out.str();
  }
  out << "Values:\n";
  for (std::size_t p = 0; p < points; ++p) {
    out << " " << p;
    for (const auto& v : vars) out << "\t" << formatExact(value(v, p)) << "\n";
    out << "\n";
  }
  return out.str();
}

}  // namespace ecramsim::io

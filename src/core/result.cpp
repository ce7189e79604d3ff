#include "core/result.hpp"

#include <cassert>
#include <cmath>
#include <stdexcept>

#include "core/units.hpp"

namespace ecramsim {

Dataset& ResultTree::put(const std::string& path, std::vector<std::size_t> shape) {
  assert(!path.empty() && path.front() == '/');
  Dataset& d = datasets_[path];
  d = Dataset{};
  d.shape = std::move(shape);
  return d;
}

void ResultTree::vector(const std::string& path, std::vector<double> values,
                        const std::string& unit, const std::string& description) {
  Dataset& d = put(path, {values.size()});
  d.data = std::move(values);
  d.attrs["units"] = unit;
  if (!description.empty()) d.attrs["description"] = description;
}

void ResultTree::matrix(const std::string& path, std::size_t rows, std::size_t cols,
                        std::vector<double> rowMajor, const std::string& unit,
                        const std::string& description) {
  assert(rowMajor.size() == rows * cols);
  Dataset& d = put(path, {rows, cols});
  d.data = std::move(rowMajor);
  d.attrs["units"] = unit;
  if (!description.empty()) d.attrs["description"] = description;
}

void ResultTree::integers(const std::string& path, std::vector<std::int64_t> values,
                          const std::string& unit, const std::string& description) {
  Dataset& d = put(path, {values.size()});
  d.data = std::move(values);
  d.attrs["units"] = unit;
  if (!description.empty()) d.attrs["description"] = description;
}

void ResultTree::scalar(const std::string& path, double value, const std::string& unit,
                        const std::string& description) {
  Dataset& d = put(path, {});
  d.data = std::vector<double>{value};
  d.attrs["units"] = unit;
  if (!description.empty()) d.attrs["description"] = description;
}

void ResultTree::text(const std::string& path, const std::string& value,
                      const std::string& description) {
  Dataset& d = put(path, {});
  d.data = std::vector<std::string>{value};
  if (!description.empty()) d.attrs["description"] = description;
}

void ResultTree::strings(const std::string& path, std::vector<std::string> values,
                         const std::string& description) {
  Dataset& d = put(path, {values.size()});
  d.data = std::move(values);
  if (!description.empty()) d.attrs["description"] = description;
}

void ResultTree::dimensions(const std::string& path, std::vector<std::string> names) {
  Dataset& d = datasets_.at(path);
  if (names.size() != d.shape.size()) {
    throw std::logic_error(path + ": " + std::to_string(names.size()) + " axis names for " +
                           std::to_string(d.shape.size()) + " axes");
  }
  d.dims = std::move(names);
}

void ResultTree::dimensionsBelow(const std::string& group, const std::vector<std::string>& names) {
  const std::string prefix = group == "/" ? "/" : group + "/";
  for (auto& [path, d] : datasets_) {
    if (path.rfind(prefix, 0) == 0 && d.dims.empty() && d.shape.size() == names.size()) {
      d.dims = names;
    }
  }
}

void ResultTree::attribute(const std::string& path, const std::string& key, AttrValue value) {
  if (auto it = datasets_.find(path); it != datasets_.end()) {
    it->second.attrs[key] = std::move(value);
  } else {
    groupAttrs_[path][key] = std::move(value);
  }
}

void ResultTree::metric(const std::string& name, double value, const std::string& unit,
                        const std::string& description) {
  scalar("/metrics/" + name, value, unit, description);
  for (auto& m : metrics_) {
    if (m.name == name) {
      m = {name, value, unit, description};
      return;
    }
  }
  metrics_.push_back({name, value, unit, description});
}

void ResultTree::externalLink(const std::string& path, const std::string& file,
                              const std::string& object) {
  assert(!path.empty() && path.front() == '/');
  links_[path] = ExternalLink{file, object};
}

const std::vector<double>& ResultTree::values(const std::string& path) const {
  const auto& d = datasets_.at(path);
  if (const auto* v = std::get_if<std::vector<double>>(&d.data)) return *v;
  throw std::out_of_range(path + " is not a floating-point dataset");
}

double ResultTree::metricValue(const std::string& name) const {
  for (const auto& m : metrics_) {
    if (m.name == name) return m.value;
  }
  throw std::out_of_range("no metric " + name);
}

std::string jsonQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string jsonNumber(double v) { return std::isfinite(v) ? formatExact(v) : "null"; }

namespace {
/// A node of the nested JSON object built from '/'-separated metric names.
struct JsonNode {
  // Keys and children side by side: clang cannot check std::pair<std::string, JsonNode> while
  // JsonNode is incomplete.
  std::vector<std::string> keys;
  std::vector<JsonNode> children;
  bool leaf = false;
  double value = 0.0;

  JsonNode& child(const std::string& key) {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) return children[i];
    }
    keys.push_back(key);
    return children.emplace_back();
  }
  void write(std::string& out) const {
    if (leaf) {
      out += jsonNumber(value);
      return;
    }
    out += "{";
    bool first = true;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!first) out += ", ";
      first = false;
      out += jsonQuote(keys[i]) + ": ";
      children[i].write(out);
    }
    out += "}";
  }
};
}  // namespace

std::string ResultTree::metricsJson() const {
  JsonNode root;
  for (const auto& m : metrics_) {
    JsonNode* node = &root;
    std::size_t start = 0;
    while (true) {
      const std::size_t slash = m.name.find('/', start);
      node = &node->child(m.name.substr(start, slash - start));
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    node->leaf = true;
    node->value = m.value;
  }
  std::string out;
  root.write(out);
  return out;
}

}  // namespace ecramsim

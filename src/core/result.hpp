#pragma once
/// An in-memory result file: datasets and attributes addressed by HDF5-style paths
/// ("/group/sub/name"). Library code fills one; io/ writes it to HDF5 atomically and the CLI
/// prints its metrics as JSON. Matrices are stored row-major (C order), as HDF5 and h5py expect.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace ecramsim {

using AttrValue = std::variant<double, std::int64_t, std::string>;

struct Dataset {
  std::vector<std::size_t> shape;  ///< {} for a scalar, {n} for a vector, {rows, cols} ...
  std::variant<std::vector<double>, std::vector<std::int64_t>, std::vector<std::string>> data;
  std::map<std::string, AttrValue> attrs;  ///< "units" on every numeric dataset, "description"
  /// The name of each axis (a netCDF dimension, written as an HDF5 dimension scale): one per
  /// axis, or empty to let the writer name them (io/hdf5.hpp).
  std::vector<std::string> dims;
};

/// An HDF5 external link: an object of another file, resolved when the link is opened.
struct ExternalLink {
  std::string file;    ///< target file; a relative name is taken relative to the linking file
  std::string object;  ///< path of the object in the target file, e.g. "/"
  bool operator==(const ExternalLink&) const = default;
};

/// A metric: a named scalar with unit, kept in insertion order for reports.
struct Metric {
  std::string name;  ///< path below /metrics, e.g. "c2c_sigma_rel" or "w_2u_4u/mean_dg_up_s"
  double value = 0.0;
  std::string unit;
  std::string description;
};

class ResultTree {
 public:
  /// A numeric vector with its unit ("1" for dimensionless, "count" for counts).
  void vector(const std::string& path, std::vector<double> values, const std::string& unit,
              const std::string& description = {});
  /// A row-major rows x cols matrix.
  void matrix(const std::string& path, std::size_t rows, std::size_t cols,
              std::vector<double> rowMajor, const std::string& unit,
              const std::string& description = {});
  void integers(const std::string& path, std::vector<std::int64_t> values,
                const std::string& unit, const std::string& description = {});
  void scalar(const std::string& path, double value, const std::string& unit,
              const std::string& description = {});
  /// Text (a netlist, a card): a scalar string dataset, no unit.
  void text(const std::string& path, const std::string& value,
            const std::string& description = {});
  void strings(const std::string& path, std::vector<std::string> values,
               const std::string& description = {});
  /// A dataset as given (used when reading files back).
  void dataset(const std::string& path, Dataset d) { datasets_[path] = std::move(d); }
  /// Names the axes of the existing dataset at `path` (one name per axis): "time", "node", ...
  /// Datasets of one group that share a name share the axis (and its length). A 1-D dataset
  /// whose name is the axis name, in the group or a group above, holds its coordinates.
  void dimensions(const std::string& path, std::vector<std::string> names);
  /// Names the axes of every dataset below `group` (at any depth) that has as many axes as
  /// `names` and no names yet.
  void dimensionsBelow(const std::string& group, const std::vector<std::string>& names);
  /// An attribute on a group ("/" is the root) or on an existing dataset.
  void attribute(const std::string& path, const std::string& key, AttrValue value);
  /// A metric: stored as scalar dataset /metrics/<name> and listed in order.
  void metric(const std::string& name, double value, const std::string& unit,
              const std::string& description);
  /// An external link at `path` to `object` in `file` (written with H5Lcreate_external; read
  /// back as a link, never followed).
  void externalLink(const std::string& path, const std::string& file, const std::string& object);

  [[nodiscard]] const std::map<std::string, Dataset>& datasets() const { return datasets_; }
  [[nodiscard]] const std::map<std::string, std::map<std::string, AttrValue>>& groupAttrs() const {
    return groupAttrs_;
  }
  [[nodiscard]] const std::vector<Metric>& metrics() const { return metrics_; }
  [[nodiscard]] const std::map<std::string, ExternalLink>& externalLinks() const { return links_; }
  [[nodiscard]] bool has(const std::string& path) const { return datasets_.count(path) > 0; }
  /// The numeric data of a dataset; throws std::out_of_range if absent or not floating point.
  [[nodiscard]] const std::vector<double>& values(const std::string& path) const;
  /// A metric's value; throws std::out_of_range if absent.
  [[nodiscard]] double metricValue(const std::string& name) const;

  /// The metrics as one JSON object, nested by '/' in the names.
  [[nodiscard]] std::string metricsJson() const;

 private:
  Dataset& put(const std::string& path, std::vector<std::size_t> shape);
  std::map<std::string, Dataset> datasets_;
  std::map<std::string, std::map<std::string, AttrValue>> groupAttrs_;
  std::vector<Metric> metrics_;
  std::map<std::string, ExternalLink> links_;
};

/// JSON string escaping.
[[nodiscard]] std::string jsonQuote(const std::string& s);
/// A double as JSON (17 digits; non-finite values as null).
[[nodiscard]] std::string jsonNumber(double v);

}  // namespace ecramsim

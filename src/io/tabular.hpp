#pragma once
/// Tabular data sets for in-situ training: CSV reading with line-numbered errors, one-hot
/// encoding of categorical columns, standardization of numeric ones, and seeded stratified
/// train/test splits and k folds. The UCI mushroom table (data/mushroom.csv) is one user.

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "core/rng.hpp"

namespace ecramsim::io {

/// A CSV file as text cells. Fields are comma-separated; a field may be double-quoted (with ""
/// for a quote). The first line is the header.
struct CsvTable {
  std::string file;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<int> lines;  ///< file line of each row, for error messages
};

/// Reads a CSV file. InputError naming file:line for: a missing or empty file, no data rows,
/// a row whose field count differs from the header's, an unterminated quote, duplicate or
/// empty column names.
[[nodiscard]] CsvTable readCsv(const std::filesystem::path& file);

/// Features and labels ready for a network: x is row-major, rows() x features().
struct LabeledData {
  std::vector<double> x;
  std::vector<int> y;                     ///< class index of each row
  std::vector<std::string> featureNames;  ///< "column=value" for one-hot, the column otherwise
  std::vector<std::string> classNames;    ///< index -> label
  std::size_t features = 0;

  [[nodiscard]] std::size_t rows() const { return y.size(); }
  [[nodiscard]] const double* row(std::size_t i) const { return x.data() + i * features; }
};

struct EncodeOptions {
  std::string labelColumn = "class";
  /// The labels expected, in class-index order; empty: the sorted distinct labels found. A label
  /// outside this list is an InputError naming its line.
  std::vector<std::string> classes;
  /// A column is numeric when every value parses as a number (then standardized to zero mean
  /// and unit variance); otherwise categorical and one-hot encoded, with every distinct value,
  /// "?" included, a category of its own.
  bool allowNumeric = true;
};

/// Encodes a table. InputError (file:line or file + column) for a missing label column, an
/// unknown label, or a constant numeric column that cannot be standardized.
[[nodiscard]] LabeledData encode(const CsvTable& table, const EncodeOptions& options);

/// Row indices of a split.
struct Split {
  std::vector<std::size_t> train;
  std::vector<std::size_t> test;
};

/// A seeded stratified split: each class keeps its share in both parts (test = round(n_c f)).
[[nodiscard]] Split stratifiedSplit(const std::vector<int>& y, double testFraction, Rng& rng);

/// Seeded stratified k folds: fold i tests on the i-th part of every class.
[[nodiscard]] std::vector<Split> stratifiedFolds(const std::vector<int>& y, int k, Rng& rng);

}  // namespace ecramsim::io

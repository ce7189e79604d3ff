#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "core/error.hpp"
#include "io/tabular.hpp"

using namespace ecramsim;
namespace fs = std::filesystem;

namespace {
fs::path writeFile(const std::string& name, const std::string& text) {
  const fs::path dir = fs::temp_directory_path() / ("ecramsim_tab_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / name) << text;
  return dir / name;
}
std::string errorOf(const fs::path& p, const io::EncodeOptions& o = {}) {
  try {
    (void)io::encode(io::readCsv(p), o);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST_CASE("mushroom: 8124 rows, 117 one-hot inputs, two classes") {
  const auto table = io::readCsv(std::string(ECRAMSIM_SOURCE_DIR) + "/data/mushroom.csv");
  io::EncodeOptions o;
  o.classes = {"edible", "poisonous"};
  const auto d = io::encode(table, o);
  CHECK(d.rows() == 8124);
  CHECK(d.features == 117);  // data/README.md: '?' a category, veil-type's single level kept
  CHECK(std::count(d.y.begin(), d.y.end(), 0) == 4208);
  CHECK(std::count(d.y.begin(), d.y.end(), 1) == 3916);
  for (std::size_t i = 0; i < d.rows(); i += 997) {  // exactly one hot per attribute
    CHECK(std::accumulate(d.row(i), d.row(i) + d.features, 0.0) == 22.0);
  }
  CHECK(std::find(d.featureNames.begin(), d.featureNames.end(), "stalk-root=?") != d.featureNames.end());
}

TEST_CASE("stratified split and folds keep class shares and are seeded") {
  std::vector<int> y(1000, 0);
  std::fill(y.begin() + 700, y.end(), 1);
  Rng a(5), b(5), c(6);
  const auto s = io::stratifiedSplit(y, 0.2, a);
  CHECK(s.test.size() == 200);
  CHECK(std::count_if(s.test.begin(), s.test.end(), [&](std::size_t i) { return y[i] == 1; }) == 60);
  CHECK(io::stratifiedSplit(y, 0.2, b).test == s.test);
  CHECK(io::stratifiedSplit(y, 0.2, c).test != s.test);
  Rng f(1);
  const auto folds = io::stratifiedFolds(y, 5, f);
  std::vector<int> seen(y.size(), 0);
  for (const auto& fold : folds) {
    CHECK(fold.test.size() == 200);
    CHECK(fold.train.size() == 800);
    for (auto i : fold.test) ++seen[i];
  }
  CHECK(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
}

TEST_CASE("numeric columns are standardized, quoted fields parse") {
  const auto p = writeFile("num.csv", "label,x,\"a,b\"\nyes,1,\"q\"\"x\"\nno,3,r\n");
  const auto d = io::encode(io::readCsv(p), {"label", {}, true});
  CHECK(d.features == 3);  // x, "a,b"=q"x, "a,b"=r
  CHECK(d.row(0)[0] == doctest::Approx(-1.0));
  CHECK(d.row(1)[0] == doctest::Approx(1.0));
  CHECK(d.featureNames[1] == "a,b=q\"x");
}

TEST_CASE("bad data sets name file and line") {
  const auto missing = writeFile("missing.csv", "cap,odor\nx,y\n");
  CHECK(errorOf(missing).find("missing.csv:1: class: label column missing") != std::string::npos);
  const auto unknown = writeFile("unknown.csv", "class,odor\nedible,a\nmaybe,b\n");
  io::EncodeOptions o;
  o.classes = {"edible", "poisonous"};
  CHECK(errorOf(unknown, o).find("unknown.csv:3: class: unknown class label 'maybe'") != std::string::npos);
  const auto empty = writeFile("empty.csv", "");
  CHECK(errorOf(empty).find("empty.csv: empty file") != std::string::npos);
  const auto header = writeFile("header.csv", "class,odor\n");
  CHECK(errorOf(header).find("header.csv: no data rows") != std::string::npos);
  const auto ragged = writeFile("ragged.csv", "class,odor\nedible,a\nedible,a,extra\n");
  CHECK(errorOf(ragged).find("ragged.csv:3: row has 3 fields, the header 2") != std::string::npos);
  CHECK(errorOf("/nonexistent/data.csv").find("cannot open") != std::string::npos);
  fs::remove_all(missing.parent_path());
}

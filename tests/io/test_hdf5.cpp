#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "io/hdf5.hpp"

using namespace ecramsim;
namespace fs = std::filesystem;

namespace {
fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("ecramsim_io_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}
}  // namespace

TEST_CASE("a result tree survives a round trip through HDF5, row-major") {
  ResultTree t;
  std::vector<double> m(3 * 70);
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = 0.5 * static_cast<double>(i);  // (r, c) = r*70 + c
  t.matrix("/maps/after", 3, 70, m, "S", "a chunked, compressed matrix");
  t.vector("/waveforms/time_s", {0.0, 1e-3, 2e-3}, "s");
  t.integers("/pulses/cell", {1, 2, 3}, "1");
  t.text("/config/card_text", ".model x ecram (gmin=1u)\n");
  t.strings("/config/names", {"a", "bb"});
  t.metric("group/rmse_pct", 1.25, "%", "an error");
  t.attribute("/maps", "note", std::string("hello"));
  t.attribute("/maps/after", "rows", std::int64_t{3});
  const fs::path path = scratch("roundtrip.h5");
  io::writeResultFile(t, path, {"ecramsim test", 42, "2026-01-01T00:00:00Z", "complete"});
  CHECK(fs::exists(path));
  for (const auto& e : fs::directory_iterator(path.parent_path())) {
    CHECK(e.path().string().find(".tmp-") == std::string::npos);  // no temporary left behind
  }
  const ResultTree r = io::readResultFile(path);
  CHECK(r.values("/maps/after") == m);
  CHECK(r.datasets().at("/maps/after").shape == std::vector<std::size_t>{3, 70});
  CHECK(std::get<std::string>(r.datasets().at("/maps/after").attrs.at("units")) == "S");
  CHECK(std::get<std::int64_t>(r.datasets().at("/maps/after").attrs.at("rows")) == 3);
  CHECK(std::get<std::vector<std::int64_t>>(r.datasets().at("/pulses/cell").data) ==
        std::vector<std::int64_t>{1, 2, 3});
  CHECK(std::get<std::vector<std::string>>(r.datasets().at("/config/card_text").data).front() ==
        ".model x ecram (gmin=1u)\n");
  CHECK(r.metricValue("group/rmse_pct") == 1.25);
  const auto& root = r.groupAttrs().at("/");
  CHECK(std::get<std::int64_t>(root.at("seed")) == 42);
  CHECK(std::get<std::string>(root.at("command_line")) == "ecramsim test");
  CHECK(std::get<std::string>(root.at("tool_version")) == ECRAMSIM_VERSION);
  CHECK(std::get<std::string>(r.groupAttrs().at("/maps").at("note")) == "hello");
  const std::string listing = io::describeResultFile(path);
  CHECK(listing.find("/maps/after  (3 x 70) float64 [S]") != std::string::npos);
  fs::remove_all(path.parent_path());
}

TEST_CASE("unreadable files are IoErrors naming the file") {
  const fs::path bad = scratch("not_hdf5.h5");
  { std::ofstream(bad) << "plain text"; }
  CHECK_THROWS_WITH_AS((void)io::readResultFile(bad), doctest::Contains(bad.string().c_str()), IoError);
  CHECK_THROWS_AS((void)io::readResultFile("/nonexistent/file.h5"), IoError);
  ResultTree t;
  t.scalar("/x", 1.0, "1");
  CHECK_THROWS_AS(io::writeResultFile(t, "/proc/cannot/write/here.h5", {}), IoError);
  fs::remove_all(bad.parent_path());
}

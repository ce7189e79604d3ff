/// Acceptance D of issue 6: bad data through the command line exits non-zero with an error that
/// names the file, the line and the column, and writes no result file.

#include <doctest/doctest.h>

#include "../support/cli.hpp"
#include "../support/mushroom.hpp"
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

namespace fs = std::filesystem;

namespace {

using ecramsim::test::Run;
using ecramsim::test::mushroomCopy;
using ecramsim::test::run;

fs::path scratchDir() {
  const fs::path dir = fs::temp_directory_path() / ("ecramsim_train_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

std::string dropField(const std::string& line, int field) {
  std::stringstream ss(line);
  std::string f, out;
  for (int k = 0; std::getline(ss, f, ','); ++k) {
    if (k == field) continue;
    out += (out.empty() ? "" : ",") + f;
  }
  return out;
}

}  // namespace

TEST_CASE("acceptance D: missing column, unknown label, empty file, ragged row") {
  const fs::path dir = scratchDir();
  const fs::path out = dir / "out.h5";
  const std::string common = " train mushroom -q --no-plot --epochs 0 -o " + out.string();

  SUBCASE("a column missing from the header and every row") {
    const auto p = mushroomCopy(dir, "no_odor.csv", 50, [](auto& lines) {
      for (auto& l : lines) l = dropField(l, 5);  // odor
    });
    const Run r = run(common + " --data " + p.string());
    CAPTURE(r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find("no_odor.csv:1") != std::string::npos);
    CHECK(r.output.find("odor") != std::string::npos);
    CHECK(r.output.find("missing") != std::string::npos);
  }
  SUBCASE("an unknown class label names its line") {
    const auto p = mushroomCopy(dir, "label.csv", 50, [](auto& lines) {
      lines[7] = "toxic" + lines[7].substr(lines[7].find(','));  // file line 8
    });
    const Run r = run(common + " --data " + p.string());
    CAPTURE(r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find("label.csv:8") != std::string::npos);
    CHECK(r.output.find("toxic") != std::string::npos);
  }
  SUBCASE("an empty file") {
    const fs::path p = dir / "empty.csv";
    std::ofstream(p).close();
    const Run r = run(common + " --data " + p.string());
    CAPTURE(r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find("empty.csv") != std::string::npos);
    CHECK(r.output.find("empty") != std::string::npos);
  }
  SUBCASE("a row with a field missing names its line") {
    const auto p = mushroomCopy(dir, "ragged.csv", 50, [](auto& lines) {
      lines[12] = dropField(lines[12], 3);  // file line 13
    });
    const Run r = run(common + " --data " + p.string());
    CAPTURE(r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find("ragged.csv:13") != std::string::npos);
  }
  SUBCASE("a missing file") {
    const Run r = run(common + " --data " + (dir / "nope.csv").string());
    CHECK(r.status == 2);
    CHECK(r.output.find("nope.csv") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(out));
  fs::remove_all(dir);
}

TEST_CASE("bad settings are input errors naming the option") {
  const Run r = run("train mushroom -q --no-plot --tile 8 -o /nonexistent/x.h5");
  CHECK(r.status == 2);
  CHECK(r.output.find("--tile") != std::string::npos);
  const Run r2 = run("train mushroom -q --no-plot --hidden 0 -o /nonexistent/x.h5");
  CHECK(r2.status == 2);
  CHECK(r2.output.find("--hidden") != std::string::npos);
  const Run r3 = run("train mushroom -q --no-plot --engine ngspice -o /nonexistent/x.h5");
  CHECK(r3.status == 2);
  CHECK(r3.output.find("--engine") != std::string::npos);
  const Run r4 = run("train mushroom -q --no-plot --refresh 0 -o /nonexistent/x.h5");
  CHECK(r4.status == 2);
  CHECK(r4.output.find("--refresh") != std::string::npos);
  const Run r5 = run("train mushroom -q --no-plot --write-model spice -o /nonexistent/x.h5");
  CHECK(r5.status == 2);
  CHECK(r5.output.find("--write-model") != std::string::npos);
  // Floating unselected lines need the circuit's transient: the reduced model refuses them.
  const Run r6 = run("train mushroom -q --no-plot --unselected floating --epochs 1 -o "
                     "/nonexistent/x.h5");
  CHECK(r6.status == 2);
  CHECK(r6.output.find("--write-model") != std::string::npos);
}

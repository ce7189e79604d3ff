/// The command line as a user meets it: exit codes, messages, files (acceptance F and G).

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "../support/cli.hpp"
#include "io/hdf5.hpp"

namespace fs = std::filesystem;
using namespace ecramsim;

namespace {

using test::Run;
using test::run;

fs::path scratchDir() {
  const fs::path dir = fs::temp_directory_path() / ("ecramsim_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

fs::path writeCard(const fs::path& dir, const std::string& name, const std::string& text) {
  const fs::path p = dir / name;
  std::ofstream(p) << text;
  return p;
}

bool sameDatasets(const ResultTree& a, const ResultTree& b) {
  if (a.datasets().size() != b.datasets().size()) return false;
  for (const auto& [path, d] : a.datasets()) {
    auto it = b.datasets().find(path);
    if (it == b.datasets().end() || it->second.data != d.data) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("acceptance F: the same seed gives bit-identical datasets, another seed does not") {
  const fs::path dir = scratchDir();
  for (const char* protocol : {"pulses", "uniformity"}) {
    CAPTURE(protocol);
    const auto a = dir / "a.h5", b = dir / "b.h5", c = dir / "c.h5";
    const std::string args = std::string(protocol) == "pulses" ? "device pulses -q --counts 10,20 "
                                                                : "device uniformity -q --devices 3 --cycles 1 ";
    REQUIRE(run(args + "--seed 7 -o " + a.string()).status == 0);
    REQUIRE(run(args + "--seed 7 -o " + b.string()).status == 0);
    REQUIRE(run(args + "--seed 8 -o " + c.string()).status == 0);
    const auto ta = io::readResultFile(a), tb = io::readResultFile(b), tc = io::readResultFile(c);
    CHECK(sameDatasets(ta, tb));
    CHECK_FALSE(sameDatasets(ta, tc));
    CHECK(std::get<std::int64_t>(ta.groupAttrs().at("/").at("seed")) == 7);
  }
  fs::remove_all(dir);
}

TEST_CASE("acceptance G: bad input exits non-zero, names file/line/parameter, writes nothing") {
  const fs::path dir = scratchDir();
  const fs::path out = dir / "out.h5";
  struct Case {
    std::string name;
    std::string cardText;  ///< empty: use `args` alone
    std::string args;
    std::string expect;    ///< must appear in the message
  };
  const std::vector<Case> cases{
      {"unknown parameter", ".model d ecram (gmin=1u\n+ gmaxx=2u)\n", "",
       "bad.model:2: gmaxx: unknown parameter"},
      {"value out of range", ".model d ecram (gmin=1u gmax=2u\n+ v0=-0.5)\n", "",
       "bad.model:2: v0: value -0.5 V is outside the allowed range [0.001, 10]"},
      {"gmax <= gmin", ".model d ecram (gmin=3u\n+ gmax=2u)\n", "",
       "bad.model:2: gmax: gmax=2e-6 must exceed gmin=3e-6"},
      {"malformed number", ".model d ecram (gmin=1u gmax=2.x5u)\n", "",
       "bad.model:1: gmax: malformed number '2.x5u'"},
      {"missing file", "", "device pulses -m /nonexistent/card.model", "/nonexistent/card.model: cannot open"},
      {"bad flag", "", "device pulses --no-such-flag", "--no-such-flag"},
      {"bad quantity", "", "device pulses --width 1.2.3", "--width: malformed number '1.2.3'"},
      {"bad --set", "", "device pulses --set q_c=-1", "q_c: value -1 C is outside the allowed range"},
      {"unknown protocol", "", "device bogus", "not expected: bogus"},
      {"missing protocol", "", "device", "PROTOCOL: missing; one of: pulses, windows,"},
      {"negative --threads", "", "program -t target.csv --threads -1",
       "--threads: must be at least 0 (got -1)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    std::string args = c.args;
    if (!c.cardText.empty()) {
      const fs::path card = writeCard(dir, "bad.model", c.cardText);
      args = "device pulses -m " + card.string();
    }
    // "device" and "device bogus" get no -o: CLI11 would report the -o as unexpected first.
    const bool protocolGiven = args != "device" && args != "device bogus";
    const Run r = run(protocolGiven ? args + " -o " + out.string() : args);
    CAPTURE(r.output);
    CHECK(r.status != 0);
    CHECK(r.output.find(c.expect) != std::string::npos);
    CHECK_FALSE(fs::exists(out));
    for (const auto& e : fs::directory_iterator(dir)) {
      CHECK(e.path().string().find(".h5") == std::string::npos);
    }
  }
  fs::remove_all(dir);
}

TEST_CASE("device --json prints one JSON object with the file and metrics") {
  const fs::path dir = scratchDir();
  const Run r = run("device gate-iv --json -o " + (dir / "g.h5").string());
  CHECK(r.status == 0);
  CHECK(r.output.rfind("{\"file\": ", 0) == 0);
  CHECK(r.output.find("\"rate_ratio_v2\": 21815.") != std::string::npos);
  CHECK(fs::exists(dir / "g.h5"));
  const Run show = run("model show --json");
  CHECK(show.status == 0);
  CHECK(show.output.find("\"q_c\": {\"value\": 2.1624000000000001e-07, \"unit\": \"C\", \"given\": false}") !=
        std::string::npos);
  const Run insp = run("inspect " + (dir / "g.h5").string());
  CHECK(insp.status == 0);
  CHECK(insp.output.find("/gate_iv/i_ion_a  (241) float64 [A]") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("every array subcommand takes --engine nodal|spice and refuses any other") {
  const fs::path dir = scratchDir();
  const std::vector<std::string> commands{"paper -o " + (dir / "paper").string(),
                                          "program -t x.pgm -o " + (dir / "p.h5").string(),
                                          "vmm -o " + (dir / "v.h5").string(),
                                          "train mushroom --no-plot -o " + (dir / "t.h5").string()};
  for (const std::string& cmd : commands) {
    CAPTURE(cmd);
    const Run help = run(cmd.substr(0, cmd.find(" -")) + " --help");
    CHECK(help.output.find("--engine TEXT:{nodal,spice}") != std::string::npos);
    const Run r = run(cmd + " -q --engine ngspice");
    CHECK(r.status == 2);
    CHECK(r.output.find("--engine: ngspice not in {nodal,spice}") != std::string::npos);
  }
  CHECK(fs::is_empty(dir));
  fs::remove_all(dir);
}

TEST_CASE("--wiring source-cols: a VMM, training, verify and a read netlist are refused naming --wiring") {
  const fs::path dir = scratchDir();
  const std::string target = ECRAMSIM_TEST_DATA_DIR "/../data/patterns/letter_e.pgm";
  const std::vector<std::string> commands{
      "vmm -q --wiring source-cols -o " + (dir / "v.h5").string(),
      "train mushroom -q --no-plot --wiring source-cols -o " + (dir / "t.h5").string(),
      "program -q --scheme verify --wiring source-cols -t " + target + " -o " +
          (dir / "p.h5").string(),
      "netlist crossbar --rows 2 --cols 2 --wiring source-cols -o " + (dir / "x.cir").string()};
  for (const std::string& cmd : commands) {
    CAPTURE(cmd);
    const Run r = run(cmd);
    CHECK(r.status == 2);
    CHECK(r.output.find("--wiring") != std::string::npos);
    CHECK(r.output.find("source-cols cannot do") != std::string::npos);
  }
  const Run bad = run("program -q --wiring drain-rows -t " + target + " -o " + (dir / "p.h5").string());
  CHECK(bad.status == 2);
  CHECK(bad.output.find("--wiring") != std::string::npos);
  CHECK(fs::is_empty(dir));
  fs::remove_all(dir);
}

TEST_CASE("paper --only refuses an unknown experiment and writes nothing") {
  const fs::path dir = scratchDir();
  const Run r = run("paper -q --only wiring -o " + (dir / "paper").string());
  CHECK(r.status == 2);
  CHECK(r.output.find("--only") != std::string::npos);
  CHECK(r.output.find("wirings") != std::string::npos);  // the known stems are listed
  CHECK(fs::is_empty(dir));
  fs::remove_all(dir);
}

/// Error messages echo an offending token shortened to its first 80 characters, "..." and its
/// length, wherever it came from: a netlist, a model card, a target map, a flag's value.

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "../support/cli.hpp"
#include "core/error.hpp"

namespace fs = std::filesystem;
using namespace ecramsim;

TEST_CASE("echoToken keeps short tokens and shortens long ones with their length") {
  CHECK(echoToken("abc") == "abc");
  CHECK(echoToken(std::string(80, 'x')) == std::string(80, 'x'));
  CHECK(echoToken(std::string(81, 'x')) == std::string(80, 'x') + "... (81 characters)");
  // CLI11's messages: words far longer than the limit are shortened, shortened ones kept.
  const std::string shortened = "'" + echoToken(std::string(500, 'w')) + "'";
  CHECK(echoWords("a: " + shortened + " b") == "a: " + shortened + " b");
  CHECK(echoWords("x = " + std::string(101, 'v') + "\nRun") ==
        "x = " + std::string(80, 'v') + "... (101 characters)\nRun");
  CHECK(echoWords(std::string(100, 'v')) == std::string(100, 'v'));
  const InputError e({"f.cir", 3}, std::string(5000, 'p'), "bad");
  CHECK(e.parameter().size() < 120);
  CHECK(std::string(e.what()) == "f.cir:3: " + std::string(80, 'p') + "... (5000 characters): bad");
}

TEST_CASE("a 100,000-character token is echoed shortened, whatever file or flag it came from") {
  const fs::path dir =
      fs::temp_directory_path() / ("ecramsim_tokens_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string token(100000, 'z');
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name, std::ios::binary) << text;
    return (dir / name).string();
  };
  const fs::path out = dir / "out.h5";
  const std::string run = " -o " + out.string() + " --quiet";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"netlist parameter", "run " +
                                write("p.cir",
                                      "t\n.model m ecram (gmin=1u)\nV1 a 0 1\n"
                                      "N1 a b 0 m x=1 " +
                                          token + "\n.end\n") +
                                run},
      {"netlist instance name",
       "run " + write("n.cir", "t\nV1 a 0 1\nN" + token + " a b 0 nomodel\n.end\n") + run},
      {"model card number",
       "model show " + write("c.model", ".model m ecram (gmax=1#" + token + ")\n")},
      {"model card line", "model show " + write("l.model", token + "\n")},
      {"model --set",
       "model show " + write("ok.model", ".model m ecram (gmin=1u)\n") + " --set gmax=1#" + token},
      {"flag quantity", "device pulses --amplitude 1#" + token + run},
      {"flag integer", "device pulses --seed 1" + token + run},
      {"target csv", "program --target " + write("t.csv", "1u,2u\n3u,1#" + token + "\n") + run},
  };
  for (const auto& [what, args] : cases) {
    CAPTURE(what);
    const test::Run r = test::run(args);
    CAPTURE(r.output.substr(0, 600));
    CHECK(r.status == 2);
    CHECK(r.output.size() < 1000);
    CHECK(r.output.find("zzz... (100") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(out));
  fs::remove_all(dir);
}

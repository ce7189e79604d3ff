/// Hostile netlists through `ecramsim run`, as a child process so that a crash or a hang fails
/// the test instead of taking the test runner down: each must be refused with exit 2 and an
/// error naming the file and line, before ngspice sees it.

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "netlist/netlist.hpp"
#include "spice/engine.hpp"

namespace fs = std::filesystem;
using ecramsim::InputError;
using namespace ecramsim::netlist;
using namespace std::string_literals;

namespace {

struct Outcome {
  int status = -1;  ///< exit status, 128 + signal, or 124 when it ran out of time
  std::string output;
};

/// Runs `ecramsim run FILE -o OUT --quiet` in `dir`, killed after `seconds`.
Outcome runNetlist(const fs::path& dir, const std::string& file, int seconds = 20) {
  const std::string cmd = "cd '" + dir.string() + "' && timeout -s KILL " +
                          std::to_string(seconds) + " " + ECRAMSIM_CLI_PATH + " run " + file +
                          " -o out.h5 --quiet 2>&1";
  Outcome r;
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) r.output += buf;
  const int st = pclose(pipe);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  if (r.status == 128 + 9 || r.status == 137) r.status = 124;
  return r;
}

struct Scratch {
  fs::path dir;
  explicit Scratch(const std::string& name)
      : dir(fs::temp_directory_path() /
            ("ecramsim_hostile_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Scratch() { fs::remove_all(dir); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream out(dir / name, std::ios::binary);
    out << text;
  }
};

/// Checks a refusal: exit 2, the message names `where`, says `what`, and no output file.
void checkRefused(const Scratch& s, const Outcome& r, const std::string& where,
                  const std::string& what) {
  CAPTURE(r.output.substr(0, 2000));
  CHECK(r.status == 2);
  CHECK(r.output.find(where) != std::string::npos);
  CHECK(r.output.find(what) != std::string::npos);
  CHECK(r.output.size() < 2000);
  CHECK_FALSE(fs::exists(s.dir / "out.h5"));
}

}  // namespace

TEST_CASE("an N line of key=value fields only is an input error, not a crash") {
  Scratch s("nkv");
  s.write("n.cir", "t\nV1 a 0 1\nR1 a 0 1k\nn=1\n.op\n.end\n");
  checkRefused(s, runNetlist(s.dir, "n.cir"), "n.cir:4", "no nodes");
}

TEST_CASE("nested .lib sections that double at every level are refused, not expanded 2^30 times") {
  Scratch s("libbomb");
  std::string lib;
  for (int i = 0; i < 30; ++i) {
    const std::string next = "s" + std::to_string(i + 1);
    lib += ".lib s" + std::to_string(i) + "\n.lib bomb.lib " + next + "\n.lib bomb.lib " + next +
           "\n.endl\n";
  }
  lib += ".lib s30\n* nothing\n.endl\n";
  s.write("bomb.lib", lib);
  s.write("top.cir", "t\nV1 a 0 1\nR1 a 0 1k\n.lib bomb.lib s0\n.op\n.end\n");
  const Outcome r = runNetlist(s.dir, "top.cir");
  checkRefused(s, r, "bomb.lib:", "expan");
}

TEST_CASE("a netlist without any element is refused before ngspice sees it") {
  Scratch s("noelement");
  s.write("empty.cir", "title\n.op\n.end\n");
  checkRefused(s, runNetlist(s.dir, "empty.cir"), "empty.cir", "no element");
  // The engine refuses one too, whoever hands it over.
  CHECK_THROWS_AS((void)ecramsim::spice::Engine::instance().run({"title", ".op", ".end"}),
                  ecramsim::spice::SpiceError);
}

TEST_CASE("a line of 100,000 fields is refused before ngspice sees it") {
  Scratch s("longline");
  std::string line = "A1 [";
  for (int i = 0; i < 100000; ++i) line += " n" + std::to_string(i);
  line += " ] amod\n";
  s.write("long.cir", "t\nV1 a 0 1\nR1 a 0 1k\n" + line + ".model amod d_buffer\n.op\n.end\n");
  checkRefused(s, runNetlist(s.dir, "long.cir"), "long.cir:4", "fields");
}

TEST_CASE("a NUL byte or a lone CR inside a line is an input error naming file and line") {
  Scratch s("controlchars");
  s.write("nul.cir", "t\nV1 a 0 1\nR1 a 0 1\0k\n.op\n.end\n"s);
  checkRefused(s, runNetlist(s.dir, "nul.cir"), "nul.cir:3", "NUL");
  s.write("cr.cir", "t\nV1 a 0 1\nR1 a\r0 1k\n.op\n.end\n");
  checkRefused(s, runNetlist(s.dir, "cr.cir"), "cr.cir:3", "carriage return");
  // In the reader too, also in the title and in included files.
  auto where = [](const std::string& text) {
    try {
      (void)parseNetlist(text, "mem.cir");
    } catch (const InputError& e) {
      return e.where().str();
    }
    return std::string("accepted");
  };
  CHECK(where("t\0x\nV1 a 0 1\n.end\n"s) == "mem.cir:1");
  CHECK(where("t\nV1 a 0 1\n.include x\ry.inc\n.end\n") == "mem.cir:3");
  CHECK(where("t\rx\nV1 a 0 1\n.end\n") == "mem.cir:1");
  // CRLF line ends are fine.
  const Netlist crlf = parseNetlist("t\r\nV1 a 0 1\r\nR1 a 0 1k\r\n.op\r\n.end\r\n", "mem.cir");
  CHECK(crlf.lines()[2] == "R1 a 0 1k");
}

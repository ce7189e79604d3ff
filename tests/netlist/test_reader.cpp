#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "netlist/netlist.hpp"
#include "spice/engine.hpp"

using ecramsim::InputError;
using namespace ecramsim::netlist;

namespace {

const std::filesystem::path kData = std::filesystem::path(ECRAMSIM_TEST_DATA_DIR) / "data" / "netlists";

/// The InputError that parsing `text` (named mem.cir) must throw.
InputError parseError(const std::string& text, ReadOptions options = {}) {
  try {
    (void)parseNetlist(text, "mem.cir", options);
  } catch (const InputError& e) {
    return e;
  }
  FAIL("no InputError for:\n" << text);
  throw std::logic_error("unreachable");
}

InputError readError(const std::string& file) {
  try {
    (void)readNetlist(kData / file);
  } catch (const InputError& e) {
    return e;
  }
  FAIL("no InputError for " << file);
  throw std::logic_error("unreachable");
}

std::string fileOf(const ecramsim::SourceLocation& loc) {
  return std::filesystem::path(loc.file).filename().string();
}

}  // namespace

TEST_CASE("splitFields groups braces, parentheses and quotes and joins name = value") {
  const auto f = splitFields("R1 a b {r*2 + 1} tc1 = 0, m=2 V=PULSE(0 1 2) 'x y'");
  REQUIRE(f.size() == 8);
  CHECK(f[0] == "R1");
  CHECK(f[3] == "{r*2 + 1}");
  CHECK(f[4] == "tc1=0");
  CHECK(f[5] == "m=2");
  CHECK(f[6] == "V=PULSE(0 1 2)");
  CHECK(f[7] == "'x y'");
}

TEST_CASE("reader: title, comments, continuations, includes, .lib sections, .param, .model") {
  const Netlist net = readNetlist(kData / "main.cir");
  CHECK(net.title.text == "Reader test: includes, libraries, params, continuations");
  CHECK(net.title.origin.line == 1);
  const auto lines = net.lines();
  const auto map = net.lineMap();
  REQUIRE(lines.size() == map.size());
  CHECK(lines.back() == ".end");
  CHECK(map.back().line == 18);

  auto find = [&](const std::string& prefix) -> std::size_t {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].rfind(prefix, 0) == 0) return i;
    }
    FAIL("no line starting with " << prefix);
    return 0;
  };
  // Include (relative to main.cir), nested include (relative to sub/models.inc), .lib section.
  const std::size_t model = find(".model ecr1");
  CHECK(fileOf(map[model]) == "models.inc");
  CHECK(map[model].line == 2);
  const std::size_t r9 = find("R9 ");
  CHECK(fileOf(map[r9]) == "more.inc");
  CHECK(map[r9].line == 2);
  const std::size_t rtyp = find("Rtyp ");
  CHECK(fileOf(map[rtyp]) == "cells.lib");
  CHECK(map[rtyp].line == 6);
  for (const auto& l : lines) CHECK(l.rfind("Rfast", 0) == std::string::npos);
  CHECK(lines.size() == 14);  // nothing after .end, no comments, no .lib/.endl lines

  // Continuations joined (across a comment and a blank line), inline comments removed.
  const std::size_t r1 = find("R1 ");
  CHECK(lines[r1] == "R1 in mid 1k tc1=0");
  CHECK(map[r1].line == 8);
  CHECK(lines[find("V1 ")] == "V1 in 0 DC {vread}");
  CHECK(lines[find(".model dmod")] == ".model dmod D (is=1e-14 n=1.05)");

  // .param cards, several per line, spaces around '='.
  REQUIRE(net.params.size() == 3);
  CHECK(net.params[0].name == "vread");
  CHECK(net.params[0].value == "0.2");
  CHECK(net.params[1].name == "rline");
  CHECK(net.params[1].value == "2.5");
  CHECK(net.params[2].name == "gscale");
  CHECK(net.params[2].value == "1e-6");
  CHECK(net.params[2].origin.line == 6);

  // .model cards with parentheses, commas, spaces around '=', continuation.
  const ModelCard* ecr = net.findModel("ECR1");
  REQUIRE(ecr != nullptr);
  CHECK(ecr->type == "ecram");
  CHECK(ecr->get("gmin") == std::optional<std::string>("2u"));
  CHECK(ecr->get("GMAX") == std::optional<std::string>("20u"));
  CHECK(ecr->get("q_c") == std::optional<std::string>("1e-9"));
  const ModelCard* d = net.findModel("dmod");
  REQUIRE(d != nullptr);
  CHECK(d->type == "d");
  CHECK(d->get("n") == std::optional<std::string>("1.05"));
}

TEST_CASE("ECRAM instances and models are split out") {
  const EcramSplit split = splitEcram(readNetlist(kData / "main.cir"));
  REQUIRE(split.instances.size() == 2);
  const EcramInstance& n1 = split.instances[0];
  CHECK(n1.name == "N1");
  CHECK(n1.gate == "g1");
  CHECK(n1.drain == "mid");
  CHECK(n1.source == "0");
  CHECK(n1.model == "ecr1");
  REQUIRE(n1.params.size() == 1);
  CHECK(n1.params[0].name == "x0");
  CHECK(n1.params[0].value == "0.5");
  CHECK(fileOf(n1.origin) == "main.cir");
  CHECK(n1.origin.line == 13);
  CHECK(split.instances[1].name == "n2");
  CHECK(split.instances[1].model == "ecr1");
  REQUIRE(split.models.size() == 1);
  CHECK(split.models[0].name == "ecr1");
  CHECK(split.models[0].params.size() == 3);
  for (const auto& l : split.netlist.lines()) {
    CHECK(l.rfind("N", 0) == std::string::npos);
    CHECK(l.rfind("n2", 0) == std::string::npos);
    CHECK(l.find("ecram") == std::string::npos);
  }
  CHECK(split.netlist.findModel("ecr1") == nullptr);
  CHECK(split.netlist.findModel("dmod") != nullptr);
  CHECK(split.netlist.params.size() == 3);
}

TEST_CASE("the split netlist runs in ngspice, and --set overrides a .param") {
  EcramSplit split = splitEcram(readNetlist(kData / "main.cir"));
  auto& engine = ecramsim::spice::Engine::instance();
  ecramsim::spice::RunOptions opt;
  opt.lineMap = split.netlist.lineMap();
  const auto r = engine.run(split.netlist.lines(), opt);
  CHECK(std::fabs(r.last("mid") - 0.2 * 20.0 / 21.0) < 1e-12);
  split.netlist.setParam("VREAD", "0.3");
  CHECK(split.netlist.params[0].value == "0.3");
  const auto r2 = engine.run(split.netlist.lines(), opt);
  CHECK(std::fabs(r2.last("mid") - 0.3 * 20.0 / 21.0) < 1e-12);
  CHECK_THROWS_AS(split.netlist.setParam("nosuch", "1"), InputError);
}

TEST_CASE("ngspice errors name the user's file:line through the line map") {
  auto& engine = ecramsim::spice::Engine::instance();
  SUBCASE("top file") {
    const Netlist net = readNetlist(kData / "spice_error.cir");
    ecramsim::spice::RunOptions opt;
    opt.lineMap = net.lineMap();
    try {
      (void)engine.run(net.lines(), opt);
      FAIL("no error");
    } catch (const ecramsim::spice::SpiceError& e) {
      CHECK(e.kind() == ecramsim::spice::FailureKind::ParseError);
      CHECK(fileOf(e.where()) == "spice_error.cir");
      CHECK(e.where().line == 5);
    }
  }
  SUBCASE("included file") {
    const Netlist net = readNetlist(kData / "include_error.cir");
    ecramsim::spice::RunOptions opt;
    opt.lineMap = net.lineMap();
    try {
      (void)engine.run(net.lines(), opt);
      FAIL("no error");
    } catch (const ecramsim::spice::SpiceError& e) {
      CHECK(fileOf(e.where()) == "bad.inc");
      CHECK(e.where().line == 2);
    }
  }
}

TEST_CASE("input errors name file:line") {
  SUBCASE("missing include file") {
    const InputError e = readError("missing_include.cir");
    CHECK(fileOf(e.where()) == "missing_include.cir");
    CHECK(e.where().line == 3);
    CHECK(std::string(e.what()).find("nothere.inc") != std::string::npos);
  }
  SUBCASE("missing .lib section") {
    const InputError e = readError("missing_section.cir");
    CHECK(e.where().line == 4);
    CHECK(std::string(e.what()).find("slow") != std::string::npos);
  }
  SUBCASE("unknown model") {
    const InputError e = parseError("t\nV1 a 0 1\n* c\nN1 a b c nomodel\n.op\n.end\n");
    CHECK(e.where().str() == "mem.cir:4");
    CHECK(e.parameter() == "N1");
    CHECK(std::string(e.what()).find("nomodel") != std::string::npos);
  }
  SUBCASE("wrong node count") {
    const InputError e =
        parseError("t\n.model ecr ecram (gmin=1u)\nV1 a 0 1\nN1 a b ecr\nN2 a b c d ecr\n.end\n");
    CHECK(e.where().str() == "mem.cir:4");
    CHECK(std::string(e.what()).find("3 nodes") != std::string::npos);
    CHECK(std::string(e.what()).find("found 2") != std::string::npos);
  }
  SUBCASE("missing .end") {
    const InputError e = parseError("t\nV1 a 0 1\nR1 a 0 1k\n.op\n");
    CHECK(e.where().str() == "mem.cir:4");
    CHECK(std::string(e.what()).find(".end") != std::string::npos);
  }
  SUBCASE("duplicate instance names (case-insensitive)") {
    const InputError e = parseError("t\nV1 a 0 1\nR1 a 0 1k\nr1 a 0 2k\n.op\n.end\n");
    CHECK(e.where().str() == "mem.cir:4");
    CHECK(std::string(e.what()).find("mem.cir:3") != std::string::npos);
  }
  SUBCASE("same name in different subcircuit scopes is fine") {
    CHECK_NOTHROW((void)parseNetlist(
        "t\n.subckt a x\nR1 x 0 1k\n.ends\n.subckt b x\nR1 x 0 1k\n.ends\nR1 n 0 1\n.end\n",
        "mem.cir"));
  }
  SUBCASE("continuation without a line") {
    const InputError e = parseError("t\n+ R1 a 0 1k\n.end\n");
    CHECK(e.where().str() == "mem.cir:2");
  }
  SUBCASE("bad .param") {
    const InputError e = parseError("t\n.param x\n.end\n");
    CHECK(e.where().str() == "mem.cir:2");
  }
}

TEST_CASE(".control blocks and shell commands are refused unless allowed") {
  const std::string control = "t\nV1 a 0 1\nR1 a 0 1k\n.control\nrun\n.endc\n.op\n.end\n";
  const InputError e = parseError(control);
  CHECK(e.where().str() == "mem.cir:4");
  CHECK(e.parameter() == ".control");
  const InputError s = parseError("t\nV1 a 0 1\nshell rm -rf /tmp/x\n.end\n");
  CHECK(s.where().str() == "mem.cir:3");
  ReadOptions allow;
  allow.allowControl = true;
  const Netlist net = parseNetlist(control, "mem.cir", allow);
  CHECK(net.lines().size() == 8);
  // Commands inside an allowed block are not elements: no duplicate-name error for them.
  CHECK_NOTHROW((void)parseNetlist("t\nV1 a 0 1\n.control\nrun\nrun\n.endc\n.end\n", "m.cir", allow));
  CHECK(net.lines()[3] == ".control");
}

TEST_CASE("SPICE number suffixes survive untouched for ngspice") {
  const Netlist net = parseNetlist("t\nR1 a 0 2.2Meg\nC1 a 0 10uF\nV1 a 0 DC 5mV\n.op\n.end\n", "m.cir");
  CHECK(net.lines()[1] == "R1 a 0 2.2Meg");
  const auto r = ecramsim::spice::Engine::instance().run(
      {"t", "V1 a 0 DC 5mV", "R1 a b 2.2Meg", "R2 b 0 2.2Meg", ".op", ".end"});
  CHECK(std::fabs(r.last("b") - 2.5e-3) < 1e-15);
}

#include <doctest/doctest.h>

#include <set>

#include "modelcard/ecram_table.hpp"
#include "modelcard/modelcard.hpp"

using namespace ecramsim;

namespace {
std::string errorOf(const std::string& text) {
  try {
    (void)parseModelText(text, "card.model");
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}
const std::string kRoot = ECRAMSIM_SOURCE_DIR;
}  // namespace

TEST_CASE("the parameter table is complete and consistent") {
  std::set<std::string> keys;
  const EcramParams defaults = defaultEcramParams();
  for (const auto& s : ecramParamTable()) {
    CAPTURE(s.key);
    CHECK(keys.insert(std::string(s.key)).second);  // declared once
    CHECK(inRange(s, s.defaultValue));              // defaults obey their own ranges
    CHECK(defaults.*s.member == s.defaultValue);
    CHECK(!s.unit.empty());
    CHECK(!s.description.empty());
  }
  CHECK(keys.size() == sizeof(EcramParams) / sizeof(double));  // every field has a row
  // Units where a wrong label is easy to miss.
  CHECK(findParam("gmin")->unit == "S");
  CHECK(findParam("i0")->unit == "A");
  CHECK(findParam("rs")->unit == "Ohm");
  CHECK(findParam("c_dl")->unit == "F");
  CHECK(findParam("q_c")->unit == "C");
  CHECK(findParam("tau_ret")->unit == "s");
  CHECK(findParam("GMAX") == findParam("gmax"));
}

TEST_CASE("cards: suffixes, continuations, comments, given flags and locations") {
  const auto cards = parseModelText(
      "* a comment\n"
      ".model dev ecram (gmin=0.1u\n"
      "+ gmax = 2.5uS ; trailing comment\n"
      "+ q_c=1e-7 v0=250mV)\n"
      "\n"
      ".MODEL other ECRAM gmin=1n gmax=2n\n",
      "card.model");
  REQUIRE(cards.size() == 2);
  const ModelCard& c = cards[0];
  CHECK(c.name == "dev");
  CHECK(c.params.gmin == doctest::Approx(1e-7).epsilon(1e-15));
  CHECK(c.params.gmax == doctest::Approx(2.5e-6).epsilon(1e-15));
  CHECK(c.params.v0 == doctest::Approx(0.25).epsilon(1e-15));
  CHECK(c.params.i0 == findParam("i0")->defaultValue);
  CHECK(c.isGiven("gmax"));
  CHECK_FALSE(c.isGiven("i0"));
  CHECK(c.given.at("gmax").line == 3);
  CHECK(c.given.at("v0").line == 4);
  CHECK(cards[1].params.gmax == doctest::Approx(2e-9).epsilon(1e-15));
}

TEST_CASE("card errors name file, line and parameter") {
  CHECK(errorOf(".model d ecram (gmin=1u\n+ bogus=3)") ==
        "card.model:2: bogus: unknown parameter of model type ecram (see 'ecramsim model show')");
  CHECK(errorOf(".model d ecram (gmin=1u gmax=2x.5)") == "card.model:1: gmax: malformed number '2x.5'");
  CHECK(errorOf(".model d ecram (\n+ gmin=2u\n+ gmax=0.1u)") ==
        "card.model:3: gmax: gmax=1e-7 must exceed gmin=2e-6");
  CHECK(errorOf(".model d ecram (v0=-1)") ==
        "card.model:1: v0: value -1 V is outside the allowed range [0.001, 10]");
  CHECK(errorOf(".model d ecram (v0=12000m)") ==
        "card.model:1: v0: value 12000m (12) V is outside the allowed range [0.001, 10]");
  CHECK(errorOf(".model d ecram (gmin=1u gmin=2u)").find("card.model:1: gmin: given twice") == 0);
  CHECK(errorOf(".model d nmos (vto=1)").find("card.model:1: model 'd' is of type 'nmos'") == 0);
  CHECK(errorOf("+ gmin=1u").find("card.model:1: continuation line") == 0);
  CHECK(errorOf("R1 a b 1k").find("card.model:1: expected '.model NAME ecram") == 0);
  CHECK(errorOf(".model d ecram (gmin 1u)").find("card.model:1: gmin: expected key=value") == 0);
  CHECK_THROWS_AS((void)loadModelCard("/nonexistent/x.model"), InputError);
}

TEST_CASE("every shipped card parses and keeps its window") {
  const auto def = loadModelCard(kRoot + "/models/wox_ysz.model");
  CHECK(def.params.gmin == doctest::Approx(2e-6).epsilon(1e-15));
  CHECK(def.params.gmax == doctest::Approx(4e-6).epsilon(1e-15));
  // The default card gives every parameter explicitly, with its provenance comment.
  for (const auto& s : ecramParamTable()) CHECK(def.isGiven(std::string(s.key)));
  struct Window {
    const char* file;
    double lo, hi;
  };
  for (const Window& w : {Window{"w1_0u1_0u2", 0.1e-6, 0.2e-6}, Window{"w2_0u4_1u", 0.4e-6, 1e-6},
                          Window{"w3_2u_4u", 2e-6, 4e-6}, Window{"w4_15u_30u", 15e-6, 30e-6},
                          Window{"w5_60u_100u", 60e-6, 100e-6}, Window{"w6_170u_230u", 170e-6, 230e-6}}) {
    const auto c = loadModelCard(kRoot + "/models/windows/" + w.file + ".model");
    CHECK(c.params.gmin == doctest::Approx(w.lo).epsilon(1e-12));
    CHECK(c.params.gmax == doctest::Approx(w.hi).epsilon(1e-12));
  }
  for (const char* f : {"ideal", "wox_ysz_150ms", "weak_threshold", "strong_nonlinear"}) {
    CHECK_NOTHROW((void)loadModelCard(kRoot + "/models/" + f + ".model"));
  }
}

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/error.hpp"
#include "core/result.hpp"
#include "core/rng.hpp"
#include "core/stats.hpp"
#include "core/units.hpp"

using namespace ecramsim;

TEST_CASE("SPICE numbers: scale factors, units and rejects") {
  CHECK(*parseSpiceNumber("2u") == doctest::Approx(2e-6).epsilon(1e-15));
  CHECK(*parseSpiceNumber("100ms") == doctest::Approx(0.1).epsilon(1e-15));
  CHECK(*parseSpiceNumber("1MEG") == 1e6);
  CHECK(*parseSpiceNumber("1m") == 1e-3);  // SPICE: m is milli, not mega
  CHECK(*parseSpiceNumber("2.5k") == 2500.0);
  CHECK(*parseSpiceNumber("5V") == 5.0);
  CHECK(*parseSpiceNumber("1e-7") == 1e-7);
  CHECK(*parseSpiceNumber("-3p") == doctest::Approx(-3e-12).epsilon(1e-15));
  CHECK(*parseSpiceNumber("+4") == 4.0);
  CHECK(*parseSpiceNumber("1T") == 1e12);
  CHECK(*parseSpiceNumber("3f") == doctest::Approx(3e-15).epsilon(1e-15));
  CHECK(*parseSpiceNumber("10g") == 1e10);
  for (const char* bad : {"", "abc", "1.2.3", "1e", "2u5", "nan", "inf", "--1", "1,5", "++2"}) {
    CAPTURE(bad);
    CHECK_FALSE(parseSpiceNumber(bad).has_value());
  }
}

TEST_CASE("formatExact round-trips doubles") {
  for (double v : {0.1, 1.0 / 3.0, 2.1624e-7, -5e300, 4.9e-324}) {
    CHECK(std::strtod(formatExact(v).c_str(), nullptr) == v);
  }
}

TEST_CASE("formatShort prints the shortest decimal that reads back") {
  CHECK(formatShort(0.1) == "0.1");
  CHECK(formatShort(2.5e-12) == "2.5e-12");
  CHECK(formatShort(1e-7) == "1e-7");
  CHECK(formatShort(1e22) == "1e22");
  CHECK(formatShort(-3.0) == "-3");
  CHECK(formatShort(9.9999999999999995e-07) == "1e-6");
  CHECK(formatShort(0.001) == "0.001");
  CHECK(formatShort(1e-5) == "1e-5");
  CHECK(formatShort(123456.0) == "123456");
  CHECK(formatShort(0.1 + 0.2) == "0.3");  // 0.30000000000000004 needs 17 digits
  CHECK(formatShort(0.1 + 0.2, 17) == "0.30000000000000004");
  CHECK(formatShort(std::numeric_limits<double>::infinity()) == "inf");
  // With 17 digits allowed every value reads back bit-identical; with 15, to 15 digits.
  Rng rng(7);
  for (int i = 0; i < 2000; ++i) {
    const double v = std::ldexp(rng.uniform() - 0.5, static_cast<int>(rng.uniform() * 400) - 200);
    const std::string exact = formatShort(v, 17);
    const std::string people = formatShort(v);
    CAPTURE(exact);
    CHECK(std::strtod(exact.c_str(), nullptr) == v);
    CHECK(exact.size() <= formatExact(v).size());
    CHECK(std::strtod(people.c_str(), nullptr) == doctest::Approx(v).epsilon(1e-14));
  }
}

TEST_CASE("formatSpice: engineering notation that SPICE reads back to the same double") {
  CHECK(formatSpice(0.1, "s") == "100ms");
  CHECK(formatSpice(2.4999999999999998e-12, "F") == "2.5pF");
  CHECK(formatSpice(1e6, "Ohm") == "1megOhm");
  CHECK(formatSpice(2e-6, "S") == "2uS");
  CHECK(formatSpice(5.0, "V") == "5V");
  CHECK(formatSpice(1.0, "F") == "1");      // "1F" would read as 1 femto
  CHECK(formatSpice(1500.0, "m") == "1.5km");
  CHECK(formatSpice(3.0, "count") == "3");
  CHECK(formatSpice(0.3, "1") == "0.3");  // dimensionless: no prefix
  CHECK(formatSpice(0.0, "V") == "0V");
  CHECK(formatSpice(-0.0123, "A") == "-12.3mA");
  CHECK(formatSpice(1e-20, "s") == "1e-20");
  Rng rng(11);
  for (int i = 0; i < 2000; ++i) {
    const double v = std::ldexp(rng.uniform() + 0.5, static_cast<int>(rng.uniform() * 90) - 50);
    for (const char* unit : {"s", "V", "F", "1"}) {
      const std::string s = formatSpice(v, unit, 17);
      CAPTURE(s);
      REQUIRE(parseSpiceNumber(s).has_value());
      CHECK(*parseSpiceNumber(s) == v);
    }
  }
}

TEST_CASE("SPICE scale factors read as exactly as the same decimal with an exponent") {
  CHECK(*parseSpiceNumber("100ms") == 0.1);
  CHECK(*parseSpiceNumber("2.5p") == 2.5e-12);
  CHECK(*parseSpiceNumber("1.1e-3k") == 1.1);
  CHECK(*parseSpiceNumber("-3p") == -3e-12);
  CHECK(*parseSpiceNumber("3f") == 3e-15);
  CHECK(*parseSpiceNumber("2mil") == doctest::Approx(50.8e-6).epsilon(1e-15));
}

TEST_CASE("InputError names file, line and parameter") {
  const InputError e({"models/x.model", 12}, "gmax", "must exceed gmin");
  CHECK(std::string(e.what()) == "models/x.model:12: gmax: must exceed gmin");
  CHECK(e.where().line == 12);
}

TEST_CASE("Rng: same seed same bits, normal deviates are standard") {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    const double x = a.normal();
    CHECK(x == b.normal());
    (void)c;
  }
  CHECK(Rng(42).next() != Rng(43).next());
  Rng r(7);
  std::vector<double> v(200000);
  for (double& x : v) x = r.normal();
  CHECK(stats::mean(v) == doctest::Approx(0.0).epsilon(0.01));  // 4.5 sigma of the mean
  CHECK(stats::stddev(v) == doctest::Approx(1.0).epsilon(0.01));
}

TEST_CASE("Rng state: a stream continues exactly from its saved text, spare deviate included") {
  Rng a(11);
  (void)a.normal();  // leaves a Box-Muller spare behind
  const std::string saved = a.state();
  Rng b(99);
  b.setState(saved);
  CHECK(b.seed() == 11);
  for (int i = 0; i < 50; ++i) {
    CHECK(b.normal() == a.normal());
    CHECK(b.uniform() == a.uniform());
  }
  CHECK_THROWS_AS(b.setState("12 34"), std::invalid_argument);
  CHECK_THROWS_AS(b.setState(saved + " 5"), std::invalid_argument);
  CHECK(b.uniform() == a.uniform());  // a refused text leaves the stream as it was
}

TEST_CASE("line and polynomial fits recover exact data") {
  const std::vector<double> x{0, 1, 2, 3, 4, 5};
  std::vector<double> y;
  for (double t : x) y.push_back(2.0 - 0.5 * t + 0.25 * t * t * t);
  const auto p = stats::fitPolynomial(x, y, 3);
  for (double t : {0.5, 2.5, 4.5}) {
    CHECK(stats::evalPolynomial(p, t) == doctest::Approx(2.0 - 0.5 * t + 0.25 * t * t * t).epsilon(1e-12));
  }
  const std::vector<double> yl{1, 3, 5, 7, 9, 11};
  const auto f = stats::fitLine(x, yl);
  CHECK(f.slope == doctest::Approx(2.0).epsilon(1e-14));
  CHECK(f.intercept == doctest::Approx(1.0).epsilon(1e-14));
  CHECK(f.r2 == doctest::Approx(1.0).epsilon(1e-14));
}

TEST_CASE("metrics JSON nests by slash") {
  ResultTree t;
  t.metric("a/b", 1.5, "S", "");
  t.metric("a/c", 2.0, "1", "");
  t.metric("d", -1e-7, "A", "");
  CHECK(t.metricsJson() == R"({"a": {"b": 1.5, "c": 2}, "d": -9.9999999999999995e-08})");
  CHECK(t.values("/metrics/d").front() == -1e-7);
}

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/units.hpp"
#include "spice/engine.hpp"
#include "spice/memory.hpp"

using ecramsim::SourceLocation;
using ecramsim::spice::Engine;
using ecramsim::spice::FailureKind;
using ecramsim::spice::RunOptions;
using ecramsim::spice::RunResult;
using ecramsim::spice::SpiceError;

namespace {

using Lines = std::vector<std::string>;

Lines divider(double volts, double r1, double r2) {
  return {"divider", "V1 a 0 " + ecramsim::formatExact(volts),
          "R1 a b " + ecramsim::formatExact(r1), "R2 b 0 " + ecramsim::formatExact(r2), ".op",
          ".end"};
}

/// Runs `netlist` and returns the error it must throw.
SpiceError expectFailure(const Lines& netlist, const RunOptions& options = {}) {
  try {
    (void)Engine::instance().run(netlist, options);
  } catch (const SpiceError& e) {
    return e;
  }
  FAIL("the run did not throw SpiceError");
  throw std::logic_error("unreachable");
}

double relErr(double got, double want) { return std::fabs(got - want) / std::fabs(want); }

double maxStep(const std::vector<double>& time) {
  double m = 0.0;
  for (std::size_t i = 1; i < time.size(); ++i) m = std::max(m, time[i] - time[i - 1]);
  return m;
}

void checkDivider() {
  const RunResult r = Engine::instance().run(divider(10.0, 1e3, 3e3));
  CHECK(relErr(r.last("v(b)"), 7.5) < 1e-9);
  CHECK(relErr(r.last("i(v1)"), -2.5e-3) < 1e-9);
}

}  // namespace

TEST_CASE("resistor divider .op matches the analytic solution to 1e-9") {
  const RunResult r = Engine::instance().run(divider(10.0, 1e3, 3e3));
  CHECK(r.plotName.rfind("op", 0) == 0);
  REQUIRE(r.has("b"));
  REQUIRE(r.vec("b").size() == 1);
  CHECK(relErr(r.last("b"), 7.5) < 1e-9);
  CHECK(relErr(r.last("V(B)"), 7.5) < 1e-9);
  CHECK(relErr(r.last("a"), 10.0) < 1e-12);
  CHECK(relErr(r.last("v1#branch"), -10.0 / 4e3) < 1e-9);
  CHECK(r.acceptedPoints == 1);
  CHECK_THROWS_AS((void)r.vec("nosuchnode"), ecramsim::SimulationError);
  CHECK(!r.log.empty());
  CHECK(Engine::instance().instancesLoaded() >= 1);
}

TEST_CASE("RC discharge .tran follows exp(-t/RC) within 2e-5 V") {
  // C charged to 1 V by .ic, discharging through R: v(t) = exp(-t/RC), RC = 1 ms.
  const Lines net{"rc", "R1 b 0 1k", "C1 b 0 1u", ".ic v(b)=1", ".tran 10u 5m 0 10u uic",
                  ".end"};
  const RunResult r = Engine::instance().run(net);
  const auto& t = r.vec("time");
  const auto& v = r.vec("b");
  REQUIRE(t.size() == v.size());
  REQUIRE(t.size() > 400);
  CHECK(t.back() == doctest::Approx(5e-3).epsilon(1e-12));
  CHECK(r.acceptedPoints == static_cast<int>(t.size()));
  double worst = 0.0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    worst = std::max(worst, std::fabs(v[i] - std::exp(-t[i] / 1e-3)));
  }
  MESSAGE("RC max abs error " << worst << " V over " << t.size() << " points");
  CHECK(worst < 2e-5);
}

TEST_CASE("EXTERNAL source follows the callback in .op and .tran") {
  SUBCASE(".op with a constant") {
    RunOptions opt;
    int calls = 0;
    std::string seen;
    opt.hooks.externalVoltage = [&](double, std::string_view name) {
      ++calls;
      seen = std::string(name);
      return 3.0;
    };
    const Lines net{"ext op", "Vx a 0 external", "R1 a b 1k", "R2 b 0 2k", ".op", ".end"};
    const RunResult r = Engine::instance().run(net, opt);
    CHECK(calls > 0);
    CHECK(seen == "vx");
    CHECK(relErr(r.last("b"), 2.0) < 1e-9);
  }
  SUBCASE(".tran with V = 2*time + 1") {
    RunOptions opt;
    opt.hooks.externalVoltage = [](double t, std::string_view) { return 2.0 * t + 1.0; };
    std::vector<std::string> names;
    std::vector<std::pair<double, double>> points;  // (time, v(b)) from acceptedPoint
    opt.hooks.outputVectors = [&](std::span<const std::string> n) {
      names.assign(n.begin(), n.end());
    };
    opt.hooks.acceptedPoint = [&](double t, std::span<const double> values) {
      const auto it = std::find(names.begin(), names.end(), "b");
      REQUIRE(it != names.end());
      points.emplace_back(t, values[static_cast<std::size_t>(it - names.begin())]);
    };
    const Lines net{"ext tran", "Vx a 0 external", "R1 a b 1k", "R2 b 0 1k", ".tran 1m 10m",
                    ".end"};
    const RunResult r = Engine::instance().run(net, opt);
    const auto& t = r.vec("time");
    const auto& b = r.vec("b");
    REQUIRE(t.size() > 10);
    for (std::size_t i = 0; i < t.size(); ++i) {
      CHECK(std::fabs(b[i] - (2.0 * t[i] + 1.0) / 2.0) < 1e-9);
    }
    REQUIRE(points.size() == t.size());
    for (std::size_t i = 0; i < t.size(); ++i) {
      CHECK(points[i].first == t[i]);
      CHECK(points[i].second == b[i]);
    }
  }
}

TEST_CASE("limitStep and rejectStep bound the accepted steps") {
  const Lines net{"rc pulse", "V1 a 0 pulse(0 1 0 1u 1u 5m 10m)", "R1 a b 1k", "C1 b 0 1u",
                  ".tran 1m 10m", ".end"};
  const RunResult free = Engine::instance().run(net);
  const double cap = 2e-5;
  MESSAGE("unconstrained: " << free.acceptedPoints << " points, max step "
                            << maxStep(free.vec("time")));
  REQUIRE(maxStep(free.vec("time")) > 10 * cap);

  SUBCASE("limitStep (GetSyncData location 0)") {
    RunOptions opt;
    int calls = 0;
    opt.hooks.limitStep = [&](double, double proposed) {
      ++calls;
      return std::min(proposed, cap);
    };
    const RunResult r = Engine::instance().run(net, opt);
    const auto& t = r.vec("time");
    MESSAGE("limitStep: " << r.acceptedPoints << " points, max step " << maxStep(t));
    CHECK(calls > 0);
    CHECK(maxStep(t) <= cap * (1 + 1e-9));
    CHECK(r.acceptedPoints >= static_cast<int>(10e-3 / cap));
    CHECK(t.back() == doctest::Approx(10e-3).epsilon(1e-12));
  }
  SUBCASE("rejectStep (GetSyncData location 1)") {
    RunOptions opt;
    int rejected = 0;
    opt.hooks.rejectStep = [&](double, double step) -> std::optional<double> {
      if (step <= cap * (1 + 1e-12)) return std::nullopt;
      ++rejected;
      return cap;
    };
    const RunResult r = Engine::instance().run(net, opt);
    const auto& t = r.vec("time");
    MESSAGE("rejectStep: " << r.acceptedPoints << " points, " << r.rejectedByHook
                           << " rejected, max step " << maxStep(t));
    CHECK(rejected > 0);
    CHECK(r.rejectedByHook == rejected);
    CHECK(maxStep(t) <= cap * (1 + 1e-9));
    CHECK(t.back() == doctest::Approx(10e-3).epsilon(1e-12));
    // The waveform is still right: v(b) at the end of the 5 ms pulse ~ 1 - exp(-5).
    const auto& b = r.vec("b");
    const auto it = std::lower_bound(t.begin(), t.end(), 5e-3);
    CHECK(std::fabs(b[static_cast<std::size_t>(it - t.begin())] - (1 - std::exp(-5.0))) < 2e-3);
  }
}

TEST_CASE("syntax error is a ParseError naming the caller's file:line") {
  // Line 5 of the netlist (blank line 4 is dropped before ngspice sees it).
  const Lines net{"bad", "* comment", "V1 a 0 10", "", "R1 a b 1k xx", "R2 b 0 3k", ".op", ".end"};
  RunOptions opt;
  for (int i = 0; i < static_cast<int>(net.size()); ++i) {
    opt.lineMap.push_back(SourceLocation{"user.cir", 100 + i});
  }
  const SpiceError e = expectFailure(net, opt);
  CHECK(e.kind() == FailureKind::ParseError);
  CHECK(e.netlistLine() == 5);
  CHECK(e.where().file == "user.cir");
  CHECK(e.where().line == 104);
  CHECK(std::string(e.what()).rfind("user.cir:104: ngspice parse error", 0) == 0);
  CHECK(std::string(e.what()).find("xx") != std::string::npos);
  checkDivider();
}

TEST_CASE("parse errors without a line number are located by ngspice's echo") {
  const Lines net{"bad", "V1 a 0 10", "R1 a b 1k", "X1 b 0 nosub", ".op", ".end"};
  const SpiceError e = expectFailure(net);
  CHECK(e.kind() == FailureKind::ParseError);
  CHECK(e.netlistLine() == 4);
  CHECK(e.where().str() == "netlist:4");
  checkDivider();
}

TEST_CASE("a netlist without .end or without analysis is refused") {
  CHECK(expectFailure({"t", "R1 a 0 1k", ".op"}).kind() == FailureKind::ParseError);
  CHECK(expectFailure({"t", "V1 a 0 1", "R1 a 0 1k", ".end"}).kind() == FailureKind::ParseError);
  checkDivider();
}

TEST_CASE("ControlledExit: ngspice detaches on an undefined parameter, a fresh copy takes over") {
  checkDivider();  // a library copy is loaded before counting (the case may run alone)
  const int before = Engine::instance().instancesLoaded();
  const Lines net{"undef", "V1 a 0 10", "R1 a b {undefp*2}", "R2 b 0 3k", ".op", ".end"};
  const SpiceError e = expectFailure(net);
  // ngspice names the line, so it is reported as the parse error it is.
  CHECK(e.kind() == FailureKind::ParseError);
  CHECK(e.netlistLine() == 3);
  checkDivider();
  CHECK(Engine::instance().instancesLoaded() == before + 1);
  // And a second exit in the new instance is survived too.
  (void)expectFailure(net);
  checkDivider();
  CHECK(Engine::instance().instancesLoaded() == before + 2);
}

TEST_CASE("floating node is a SingularMatrix error unless allowed") {
  const Lines net{"float", "V1 a 0 10", "R1 a b 1k", "C1 b c 1p", "R3 c d 1k", ".op", ".end"};
  const SpiceError e = expectFailure(net);
  CHECK(e.kind() == FailureKind::SingularMatrix);
  CHECK(std::string(e.what()).find("singular matrix") != std::string::npos);
  RunOptions opt;
  opt.failOnSingularMatrix = false;
  const RunResult r = Engine::instance().run(net, opt);
  CHECK(r.last("b") == doctest::Approx(10.0).epsilon(1e-6));
  checkDivider();
}

TEST_CASE("sliding discontinuity in .tran is TimestepTooSmall") {
  const Lines net{"chatter", "B1 0 b I = time > 1u ? (V(b) > 0.5 ? -1 : 1) : 0", "R1 b 0 1",
                  ".tran 10n 5u", ".end"};
  const SpiceError e = expectFailure(net);
  CHECK(e.kind() == FailureKind::TimestepTooSmall);
  checkDivider();
}

TEST_CASE("a circuit without a DC solution is NoConvergence") {
  const Lines net{"nosol", "B1 0 b I = V(b) > 0.5 ? -1 : 1", "R1 b 0 1", ".op", ".end"};
  const SpiceError e = expectFailure(net);
  CHECK(e.kind() == FailureKind::NoConvergence);
  checkDivider();
}

TEST_CASE("a throwing hook stops the run and is reported with the exception nested") {
  RunOptions opt;
  int calls = 0;
  opt.hooks.externalVoltage = [&](double t, std::string_view) {
    ++calls;
    if (t > 2e-3) throw std::runtime_error("model blew up");
    return 1.0;
  };
  const Lines net{"ext", "Vx a 0 external", "R1 a b 1k", "C1 b 0 1u", ".tran 1m 10m", ".end"};
  try {
    (void)Engine::instance().run(net, opt);
    FAIL("no throw");
  } catch (const SpiceError& e) {
    CHECK(e.kind() == FailureKind::HookFailed);
    CHECK(std::string(e.what()).find("model blew up") != std::string::npos);
    CHECK_THROWS_WITH_AS(std::rethrow_if_nested(e), "model blew up", std::runtime_error);
  }
  const int afterThrow = calls;
  checkDivider();
  CHECK(calls == afterThrow);
}

TEST_CASE("a hook that starts another run gets an error instead of a deadlock") {
  RunOptions opt;
  opt.hooks.externalVoltage = [](double, std::string_view) {
    (void)Engine::instance().run(divider(1.0, 1.0, 1.0));
    return 1.0;
  };
  try {
    (void)Engine::instance().run({"t", "Vx a 0 external", "R1 a 0 1k", ".op", ".end"}, opt);
    FAIL("no throw");
  } catch (const SpiceError& e) {
    CHECK(e.kind() == FailureKind::HookFailed);
    CHECK_THROWS_AS(std::rethrow_if_nested(e), ecramsim::SimulationError);
  }
  checkDivider();
}

TEST_CASE("runs from two threads are serialized and each gets its own answer") {
  auto worker = [](double volts, int* bad) {
    for (int i = 0; i < 100; ++i) {
      const RunResult r = Engine::instance().run(divider(volts, 1e3, 1e3));
      if (relErr(r.last("b"), volts / 2) > 1e-9) ++*bad;
    }
  };
  int bad1 = 0;
  int bad2 = 0;
  std::thread a(worker, 2.0, &bad1);
  std::thread b(worker, 6.0, &bad2);
  a.join();
  b.join();
  CHECK(bad1 == 0);
  CHECK(bad2 == 0);
}

TEST_CASE("10,000 small .op runs grow RSS by less than 50 MB") {
  for (int i = 0; i < 200; ++i) (void)Engine::instance().run(divider(1.0 + i, 1e3, 2e3));
  const std::size_t before = ecramsim::spice::residentSetBytes();
  REQUIRE(before > 0);
  const auto start = std::chrono::steady_clock::now();
  int bad = 0;
  for (int i = 0; i < 10000; ++i) {
    const double volts = 1.0 + 1e-3 * i;
    const RunResult r = Engine::instance().run(divider(volts, 1e3, 2e3));
    if (relErr(r.last("b"), volts * 2.0 / 3.0) > 1e-9) ++bad;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::size_t after = ecramsim::spice::residentSetBytes();
  const double growthMb =
      (static_cast<double>(after) - static_cast<double>(before)) / 1048576.0;
  MESSAGE("10000 .op runs: " << seconds << " s, RSS " << static_cast<double>(before) / 1048576.0 << " -> "
                             << static_cast<double>(after) / 1048576.0 << " MB (growth " << growthMb << " MB)");
  CHECK(bad == 0);
  CHECK(growthMb < 50.0);
  CHECK(seconds < 60.0);
}

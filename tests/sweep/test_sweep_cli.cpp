/// `ecramsim sweep` as a user runs it: real sweeps of fast `device gate-iv` points through the
/// built CLI (issue 7 acceptance B, C, D, E, F).

#include <doctest/doctest.h>

#include "../support/child.hpp"
#include "../support/cli.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "io/hdf5.hpp"
#include "sweep/index.hpp"
#include "sweep/points.hpp"
#include "sweep/spec.hpp"

extern char** environ;

namespace fs = std::filesystem;
using namespace ecramsim;

namespace {

using ecramsim::test::Run;
using ecramsim::test::run;

/// Starts the CLI in the background, its output in `log`; returns its pid.
pid_t start(const std::vector<std::string>& args, const fs::path& log) {
  return ecramsim::test::startCli(args, log).pid;
}

int waitFor(pid_t pid) {
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

fs::path scratch(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("ecramsim_sweepcli_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

fs::path writeSpec(const fs::path& dir, const std::string& text) {
  const fs::path p = dir / "spec.toml";
  std::ofstream(p) << text;
  return p;
}

/// Points of ~0.1-0.2 s: gate-iv with a 2 x 4 grid, one point failing (gmax below gmin).
const char* kSpec =
    "[sweep]\n"
    "command = \"device gate-iv --points 41\"\n"
    "metrics = [\"rate_ratio_v2\", \"rate_ratio_v3\"]\n"
    "[[axis]]\n"
    "name = \"model.gmax\"\n"
    "values = [4e-6, 1e-6]\n"
    "[[axis]]\n"
    "name = \"model.v0\"\n"
    "values = [0.2, 0.25, 0.3, 0.35]\n";

/// Lines of sweep.log as (word, point) pairs: ("start", "p00003"), ("complete", "p00003"), ...
std::vector<std::pair<std::string, std::string>> logEvents(const fs::path& dir) {
  std::vector<std::pair<std::string, std::string>> out;
  std::ifstream in(dir / "sweep.log");
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string time, who, what, point, how;
    words >> time >> who >> what >> point >> how;
    out.emplace_back(what == "start" ? "start" : how, point);
  }
  return out;
}

std::size_t countTemporaries(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    n += e.path().filename().string().find(".tmp-") != std::string::npos;
  }
  return n;
}

bool sameNumbers(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  }
  return true;
}

/// Two index tables hold the same points, parameters, metrics, statuses and messages.
void checkSameIndex(const sweep::IndexTable& a, const sweep::IndexTable& b) {
  CHECK(a.specHash == b.specHash);
  CHECK(a.index == b.index);
  CHECK(a.status == b.status);
  CHECK(a.exitStatus == b.exitStatus);
  CHECK(a.error == b.error);
  CHECK(a.file == b.file);
  CHECK(a.args == b.args);
  REQUIRE(a.params.size() == b.params.size());
  for (std::size_t k = 0; k < a.params.size(); ++k) {
    CHECK(a.params[k].name == b.params[k].name);
    CHECK(sameNumbers(a.params[k].numbers, b.params[k].numbers));
    CHECK(a.params[k].texts == b.params[k].texts);
  }
  REQUIRE(a.metrics.size() == b.metrics.size());
  for (std::size_t k = 0; k < a.metrics.size(); ++k) {
    CHECK(a.metrics[k].name == b.metrics[k].name);
    CHECK(sameNumbers(a.metrics[k].numbers, b.metrics[k].numbers));
  }
}

/// The reference: the spec run with --jobs 2 into `dir`, once per test executable.
const sweep::IndexTable& reference() {
  static const sweep::IndexTable table = [] {
    const fs::path dir = scratch("reference");
    const fs::path spec = writeSpec(dir, kSpec);
    const Run r = run("sweep " + spec.string() + " -o " + (dir / "out").string() + " --jobs 2 -q");
    REQUIRE(r.status == 3);
    return sweep::readIndexFile(dir / "out" / "index.h5");
  }();
  return table;
}

}  // namespace

TEST_CASE("acceptance E: a failing point is recorded with its message, the others complete") {
  const fs::path dir = scratch("fail");
  const fs::path spec = writeSpec(dir, kSpec);
  const fs::path out = dir / "out";
  const Run r = run("sweep " + spec.string() + " -o " + out.string() + " --jobs 2 -q");
  CHECK(r.status == 3);  // some points failed
  const sweep::IndexTable t = sweep::readIndexFile(out / "index.h5");
  REQUIRE(t.rows() == 8);
  for (std::size_t i = 0; i < 8; ++i) {
    CAPTURE(i);
    if (i < 4) {
      CHECK(t.status[i] == "complete");
      CHECK(t.exitStatus[i] == 0);
      CHECK(t.metrics[0].numbers[i] > 1.0);
      CHECK(t.error[i].empty());
      const ResultTree p = io::readResultFile(out / t.file[i]);
      CHECK(std::get<std::string>(p.groupAttrs().at("/").at("status")) == "complete");
    } else {
      CHECK(t.status[i] == "failed");
      CHECK(t.exitStatus[i] == 2);
      CHECK(t.error[i].find("must exceed gmin") != std::string::npos);
      CHECK(std::isnan(t.metrics[0].numbers[i]));
    }
  }
  // CSV export: a header and one row per point.
  const Run csv = run("sweep export " + out.string());
  CHECK(csv.status == 0);
  CHECK(csv.output.rfind("index,status,exit_status,model.gmax,model.v0,rate_ratio_v2,rate_ratio_v3,file,error\n", 0) == 0);
  CHECK(std::count(csv.output.begin(), csv.output.end(), '\n') >= 9);

  // Resume: only the failed points run again.
  const std::size_t before = logEvents(out).size();
  CHECK(run("sweep " + spec.string() + " -o " + out.string() + " -q").status == 3);
  const auto events = logEvents(out);
  std::size_t starts = 0;
  for (std::size_t k = before; k < events.size(); ++k) {
    if (events[k].first != "start") continue;
    ++starts;
    CHECK(events[k].second >= "p00004");
  }
  CHECK(starts == 4);
  fs::remove_all(dir);
}

TEST_CASE("acceptance F: bad specs fail before any point runs, naming the spec line") {
  const fs::path dir = scratch("badspec");
  const fs::path out = dir / "out";
  struct Case {
    std::string text, expect;
  };
  const std::vector<Case> cases{
      {"[sweep]\ncommand = \"devcie gate-iv\"\n[[axis]]\nname = \"model.v0\"\nvalues = [0.2]\n",
       "spec.toml:2: command: unknown subcommand 'devcie'"},
      {"[sweep]\ncommand = \"device\"\n[[axis]]\nname = \"model.v0\"\nvalues = [0.2]\n",
       "spec.toml:2: command: 'device' needs one of:"},
      {"[sweep]\ncommand = \"device gate-iv\"\n[[axis]]\nname = \"option.v-maxx\"\nvalues = [5]\n",
       "spec.toml:3: axis 'option.v-maxx': 'device gate-iv' has no option --v-maxx"},
      {"[sweep]\ncommand = \"device gate-iv\"\n[[axis]]\nname = \"param.r_line\"\nvalues = [5]\n",
       "spec.toml:3: axis 'param.r_line': 'device gate-iv' takes no --param"},
      {"[sweep]\ncommand = \"device gate-iv\"\n[[axis]]\nname = \"option.v-max\"\nvalues = [\"6V\", \"7\"]\n"
       "[[axis]]\nname = \"option.points\"\nvalues = [\"many\"]\n",
       "spec.toml:8: axis 'option.points': value 'many' is refused"},
      {"[sweep]\ncommand = \"device gate-iv --pionts 3\"\n[[axis]]\nname = \"model.v0\"\nvalues = [0.2]\n",
       "spec.toml:2: command: 'ecramsim device gate-iv --pionts 3 --set v0=0.2' is refused"},
      {"[sweep]\ncommand = \"device gate-iv\"\n[[axis]]\nname = \"model.p_upp\"\nvalues = [1]\n",
       "spec.toml:4: axis 'model.p_upp': unknown parameter 'p_upp'"},
      {"[sweep]\ncommand = \"device gate-iv\"\nmode = \"zip\"\n[[axis]]\nname = \"model.v0\"\nvalues = [0.2, 0.3]\n"
       "[[axis]]\nname = \"model.i0\"\nvalues = [1e-9]\n",
       "spec.toml:9: axis 'model.i0': zip axes of unequal length"},
      {"[sweep]\ncommand = \"device gate-iv\"\n[[axis]]\nname = \"model.v0\"\nvalues = []\n",
       "spec.toml:5: axis 'model.v0': empty axis"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const fs::path spec = writeSpec(dir, c.text);
    const Run r = run("sweep " + spec.string() + " -o " + out.string() + " -q");
    CAPTURE(r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find(spec.string().substr(0, spec.string().size() - 9) + c.expect) != std::string::npos);
    CHECK_FALSE(fs::exists(out));  // nothing ran, nothing written
  }
  // A changed spec on the same folder is refused.
  const fs::path spec = writeSpec(dir, "[sweep]\ncommand = \"device gate-iv --points 21\"\n"
                                       "[[axis]]\nname = \"model.v0\"\nvalues = [0.2]\n");
  REQUIRE(run("sweep " + spec.string() + " -o " + out.string() + " -q").status == 0);
  writeSpec(dir, "[sweep]\ncommand = \"device gate-iv --points 21\"\n"
                 "[[axis]]\nname = \"model.v0\"\nvalues = [0.3]\n");
  const Run changed = run("sweep " + spec.string() + " -o " + out.string() + " -q");
  CHECK(changed.status == 2);
  CHECK(changed.output.find("holds a sweep of another spec") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("acceptance B: killed (SIGKILL) and rerun, no point runs twice and every file reads") {
  const fs::path dir = scratch("kill");
  const fs::path spec = writeSpec(dir,
                                  "[sweep]\ncommand = \"device gate-iv --points 41\"\n"
                                  "[[axis]]\nname = \"model.v0\"\nlinspace = [0.2, 0.5, 14]\n");
  const fs::path out = dir / "out";
  const pid_t pid =
      start({"sweep", spec.string(), "-o", out.string(), "--jobs", "1", "-q"}, dir / "cli.log");
  // Kill after 4 points have completed.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    std::size_t done = 0;
    for (const auto& [what, point] : logEvents(out)) done += what == "complete";
    if (done >= 4 || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  CHECK(waitFor(pid) == 128 + SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the orphaned point dies with it

  // What the killed run completed, and when each of those files was made.
  std::map<std::string, fs::file_time_type> completed;
  for (const auto& e : fs::directory_iterator(out / "points")) {
    if (e.path().extension() != ".h5") continue;
    const ResultTree t = io::readResultFile(e.path());  // readable: written atomically
    if (std::get<std::string>(t.groupAttrs().at("/").at("status")) == "complete") {
      completed[e.path().stem().string()] = fs::last_write_time(e.path());
    }
  }
  CHECK(completed.size() >= 4);
  CHECK(completed.size() < 14);
  const std::size_t before = logEvents(out).size();

  const Run again = run("sweep " + spec.string() + " -o " + out.string() + " --jobs 1 -q");
  CHECK(again.status == 0);
  const auto events = logEvents(out);
  std::map<std::string, int> startedAgain;
  for (std::size_t k = before; k < events.size(); ++k) {
    if (events[k].first == "start") ++startedAgain[events[k].second];
  }
  for (const auto& [point, time] : completed) {
    CAPTURE(point);
    CHECK(startedAgain.count(point) == 0);  // not run twice
    CHECK(fs::last_write_time(out / "points" / (point + ".h5")) == time);
  }
  for (const auto& [point, n] : startedAgain) CHECK(n == 1);
  CHECK(startedAgain.size() + completed.size() == 14);
  CHECK(countTemporaries(out) == 0);
  const sweep::IndexTable t = sweep::readIndexFile(out / "index.h5");
  CHECK(sweep::countStatus(t).complete == 14);
  for (const auto& f : t.file) CHECK_NOTHROW((void)io::readResultFile(out / f));
  fs::remove_all(dir);
}

TEST_CASE("SIGINT stops a sweep with status 130 and a readable index, a rerun completes it") {
  const fs::path dir = scratch("sigint");
  const fs::path spec = writeSpec(dir,
                                  "[sweep]\ncommand = \"device gate-iv --points 41\"\n"
                                  "[[axis]]\nname = \"model.v0\"\nlinspace = [0.2, 0.5, 12]\n");
  const fs::path out = dir / "out";
  const pid_t pid =
      start({"sweep", spec.string(), "-o", out.string(), "--jobs", "2", "-q"}, dir / "cli.log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    std::size_t done = 0;
    for (const auto& [what, point] : logEvents(out)) done += what == "complete";
    if (done >= 2 || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGINT);
  CHECK(waitFor(pid) == 130);
  CHECK(countTemporaries(out) == 0);
  const sweep::IndexTable t = sweep::readIndexFile(out / "index.h5");
  const auto c = sweep::countStatus(t);
  CHECK(c.complete >= 2);
  for (std::size_t k = 0; k < t.rows(); ++k) {
    CAPTURE(t.file[k]);
    CAPTURE(t.exitStatus[k]);
    CAPTURE(t.error[k]);
    CHECK(t.status[k] != "failed");  // interrupted points are pending, not failed
  }
  CHECK(c.pending > 0);
  CHECK(run("sweep " + spec.string() + " -o " + out.string() + " -q").status == 0);
  CHECK(sweep::countStatus(sweep::readIndexFile(out / "index.h5")).complete == 12);
  fs::remove_all(dir);
}

TEST_CASE("acceptance C: shards 1/3, 2/3, 3/3 merged equal the unsharded index") {
  const fs::path dir = scratch("shards");
  const fs::path spec = writeSpec(dir, kSpec);
  std::string inputs;
  for (int k = 1; k <= 3; ++k) {
    const fs::path out = dir / ("s" + std::to_string(k));
    const Run r = run("sweep " + spec.string() + " -o " + out.string() + " --shard " +
                      std::to_string(k) + "/3 -q");
    CHECK((r.status == 0 || r.status == 3));
    CHECK(fs::exists(out / ("index.shard-" + std::to_string(k) + "-of-3.h5")));
    inputs += " " + out.string();
  }
  const Run m = run("sweep merge" + inputs + " -o " + (dir / "merged").string() + " -q");
  CHECK(m.status == 3);  // the merged sweep holds the failed points
  checkSameIndex(sweep::readIndexFile(dir / "merged" / "index.h5"), reference());

  // Shards sharing one folder, merged in place.
  for (int k = 1; k <= 2; ++k) {
    (void)run("sweep " + spec.string() + " -o " + (dir / "shared").string() + " --shard " +
              std::to_string(k) + "/2 -q");
  }
  CHECK(run("sweep merge " + (dir / "shared").string() + " -q").status == 3);
  checkSameIndex(sweep::readIndexFile(dir / "shared" / "index.h5"), reference());
  fs::remove_all(dir);
}

#ifdef ECRAMSIM_WITH_MPI
TEST_CASE("acceptance D: mpirun -n 2 gives the same index as --jobs 2") {
  const fs::path dir = scratch("mpi");
  const fs::path spec = writeSpec(dir, kSpec);
  const fs::path out = dir / "out";
  // Root in a container: --allow-run-as-root, no ssh agent, oversubscription allowed.
  const std::string cmd = std::string("env OMPI_MCA_plm_rsh_agent= OMPI_MCA_btl_vader_single_copy_mechanism=none ") +
                          ECRAMSIM_MPIEXEC + " --allow-run-as-root --oversubscribe -n 2 " +
                          ECRAMSIM_CLI_PATH + " sweep " + spec.string() + " -o " + out.string() +
                          " -q 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) output += buf.data();
  const int st = pclose(pipe);
  CAPTURE(output);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 3);  // rank 0 reports the failed points
  checkSameIndex(sweep::readIndexFile(out / "index.h5"), reference());
  // Both ranks ran points.
  std::set<std::string> who;
  std::ifstream log(out / "sweep.log");
  for (std::string line; std::getline(log, line);) {
    std::istringstream w(line);
    std::string time, host;
    w >> time >> host;
    who.insert(host);
  }
  CHECK(who.size() == 2);
  fs::remove_all(dir);
}
#endif

TEST_CASE("--jobs 0 says that --jobs must be at least 1, not a range up to 1.79e308") {
  const Run r = run("sweep nothing.toml --jobs 0");
  CAPTURE(r.output);
  CHECK(r.status == 2);
  CHECK(r.output.find("--jobs: must be at least 1 (got 0)") != std::string::npos);
  CHECK(r.output.find("1.79") == std::string::npos);
}

/// The sweep's dry parse (ECRAMSIM_SWEEP_DRY_PARSE=1) parses a point's command line in full and
/// runs nothing: every shipped example spec must pass it.
namespace {

const fs::path kRepo = fs::path(ECRAMSIM_TEST_DATA_DIR).parent_path();

std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

TEST_CASE("dry parse: every point's command line of every shipped example spec is accepted") {
  const fs::path dir = scratch("examples");
  std::vector<fs::path> specs;
  for (const auto& e : fs::directory_iterator(kRepo / "examples" / "sweeps")) {
    if (e.path().extension() == ".toml") specs.push_back(e.path());
  }
  std::sort(specs.begin(), specs.end());
  REQUIRE(specs.size() >= 6);
  for (const auto& file : specs) {
    CAPTURE(file.string());
    const sweep::Spec spec = sweep::parseSpecFile(file);
    const std::vector<sweep::Point> points = sweep::generatePoints(spec);
    REQUIRE_FALSE(points.empty());
    // The first points (the sweep dry-parses the first) and the last one.
    std::vector<std::size_t> picks;
    for (std::size_t i = 0; i < std::min<std::size_t>(points.size(), 3); ++i) picks.push_back(i);
    picks.push_back(points.size() - 1);
    for (std::size_t i : picks) {
      const fs::path out = dir / ("p" + std::to_string(i) + ".h5");
      std::string args;
      for (const auto& a : sweep::pointArguments(spec, points[i])) args += " " + shellQuote(a);
      const std::string cmd = "cd " + shellQuote(kRepo.string()) +
                              " && ECRAMSIM_SWEEP_DRY_PARSE=1 " + ECRAMSIM_CLI_PATH + args +
                              " -o " + shellQuote(out.string()) + " --quiet 2>&1";
      CAPTURE(cmd);
      std::string output;
      FILE* pipe = popen(cmd.c_str(), "r");
      REQUIRE(pipe != nullptr);
      char buf[4096];
      while (std::fgets(buf, sizeof buf, pipe) != nullptr) output += buf;
      const int st = pclose(pipe);
      CAPTURE(output);
      CHECK(WIFEXITED(st));
      CHECK(WEXITSTATUS(st) == 0);
      CHECK(output.empty());
      CHECK_FALSE(fs::exists(out));  // parsed, not run
    }
  }
  fs::remove_all(dir);
}

TEST_CASE("dry parse: a refused point still fails the parse (exit 2, the option named)") {
  const std::string r = "ECRAMSIM_SWEEP_DRY_PARSE=1 " + std::string(ECRAMSIM_CLI_PATH) +
                        " device pulses --counts 50 --seed x1 --quiet 2>&1; echo \"status=$?\"";
  FILE* pipe = popen(r.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) output += buf;
  pclose(pipe);
  CAPTURE(output);
  CHECK(output.find("status=0") == std::string::npos);
}

TEST_CASE("a sweep of the shipped c2c_pulses spec, cut to two points, completes") {
  const fs::path dir = scratch("c2c");
  std::ifstream in(kRepo / "examples" / "sweeps" / "c2c_pulses.toml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto lin = text.find("linspace = [0, 0.05, 6]");
  const auto seeds = text.find("values = [1, 2, 3]");
  REQUIRE(lin != std::string::npos);
  REQUIRE(seeds != std::string::npos);
  text.replace(seeds, 18, "values = [1]");
  text.replace(lin, 23, "linspace = [0, 0.05, 2]");
  {
    std::ofstream spec(dir / "c2c_pulses.toml");
    spec << text;
  }
  const test::Run r = test::run("sweep " + (dir / "c2c_pulses.toml").string() + " -o " +
                                (dir / "out").string() + " --jobs 2 --quiet");
  CAPTURE(r.output);
  CHECK(r.status == 0);
  CHECK(fs::exists(dir / "out" / "index.h5"));
  fs::remove_all(dir);
}

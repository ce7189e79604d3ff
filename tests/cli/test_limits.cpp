/// Hostile inputs, sizes and signals through the built CLI (issue 11 items 7, 11 and 12). Every
/// child is time-bounded (support/child.hpp): a regression fails instead of hanging.

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "../support/child.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace ecramsim::test;

namespace {

/// A fresh folder for one test case.
fs::path scratch(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("ecramsim_limits_" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

fs::path writeFile(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

/// Files named like an unfinished output (`NAME.tmp-PID`) left in `dir`.
int countTemporaries(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    n += e.path().filename().string().find(".tmp-") != std::string::npos;
  }
  return n;
}

bool has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

// A child capped at 2 GiB of address space: a run that allocates by a hostile size then fails
// (bad_alloc, exit 1) instead of taking the machine's memory, and the fixed code refuses it.
constexpr rlim_t kCap = rlim_t{2} << 30;

}  // namespace

TEST_CASE("a device, FIFO or directory as a top-level input is refused at once, naming it") {
  const fs::path dir = scratch("devices");
  const fs::path fifo = dir / "target.csv";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const fs::path fifoCard = dir / "card.model";
  REQUIRE(::mkfifo(fifoCard.c_str(), 0600) == 0);
  const std::string out = (dir / "out.h5").string();
  const fs::path cir = writeFile(dir / "rc.cir", "rc\nR1 a 0 1k\nV1 a 0 1\n.op\n.end\n");
  const std::vector<std::vector<std::string>> cases = {
      {"model", "show", "/dev/zero"},
      {"run", cir.string(), "-m", "/dev/zero", "-o", out},
      {"model", "show", fifoCard.string()},
      {"run", "/dev/zero", "-o", out},
      {"vmm", "--inputs", "/dev/zero", "-o", out, "-q"},
      {"train", "mushroom", "--data", "/dev/zero", "-o", out, "-q"},
      {"program", "--target", fifo.string(), "-o", out, "-q"},
      {"sweep", "/dev/zero", "-o", (dir / "sweep").string(), "-q"},
      {"run", dir.string(), "-o", out},
  };
  for (const auto& args : cases) {
    CAPTURE(args[0]);
    CAPTURE(args[args.size() > 2 ? 2 : 1]);
    const TimedRun r = runCli(args, dir / "log.txt", 5s);
    CAPTURE(r.output);
    CHECK(r.status == 2);
    CHECK((has(r.output, "not a regular file") || has(r.output, "is a directory")));
    CHECK(!fs::exists(out));
  }
  fs::remove_all(dir);
}

TEST_CASE("an input file over 64 MiB is refused before it is read") {
  const fs::path dir = scratch("big");
  const fs::path card = dir / "big.model";
  {
    std::ofstream(card) << ".model big ecram\n";
  }
  fs::resize_file(card, (std::uintmax_t{64} << 20) + 1);  // sparse: no 64 MiB written
  const TimedRun r = runCli({"model", "show", card.string()}, dir / "log.txt", 5s);
  CAPTURE(r.output);
  CHECK(r.status == 2);
  CHECK(has(r.output, card.string()));
  CHECK(has(r.output, "64 MiB"));
  fs::remove_all(dir);
}

TEST_CASE("a PGM header is checked against the pixel cap and the file size before allocating") {
  const fs::path dir = scratch("pgm");
  const std::string out = (dir / "out.h5").string();
  struct Case {
    std::string name, text, message;
  };
  const std::vector<Case> cases = {
      {"p2.pgm", "P2 30000 30000 255\n0 0 0\n", "exceeds the 16777216 pixels"},
      {"p5.pgm", "P5 100000 100000 255\n", "exceeds the 16777216 pixels"},
      {"short.pgm", "P5 2000 2000 255\n0123456789", "at least 4000000 bytes needed"},
      {"shortp2.pgm", "P2 1000 1000 255\n1 2 3\n", "at least 1999999 bytes needed"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const fs::path pgm = writeFile(dir / c.name, c.text);
    const TimedRun r = runCli({"program", "--target", pgm.string(), "-o", out, "-q"},
                              dir / "log.txt", 10s, kCap);
    CAPTURE(r.output);
    CHECK(r.status == 2);
    CHECK(has(r.output, c.message));
    CHECK(has(r.output, pgm.string()));
    CHECK(!fs::exists(out));
  }
  fs::remove_all(dir);
}

TEST_CASE("array and vector sizes beyond the memory budget are refused with the estimate") {
  const fs::path dir = scratch("sizes");
  const std::string out = (dir / "out.h5").string();
  struct Case {
    std::vector<std::string> args;
    std::string parameter;
  };
  const std::vector<Case> cases = {
      {{"vmm", "--rows", "100000", "--cols", "100000"}, "--rows/--cols"},
      {{"vmm", "--rows", "5000", "--cols", "5000"}, "--rows/--cols"},
      {{"vmm", "--vectors", "20000000"}, "--vectors"},
      {{"train", "mushroom", "--hidden", "100000000", "--epochs", "0"}, "--hidden"},
  };
  for (const auto& c : cases) {
    if (ecramsim::kAddressSanitizer && c.parameter == "--vectors") {
      // 2e7 vectors fit this machine's memory; only the 2 GiB cap, impossible under ASan,
      // makes them exceed the budget. The release stage of CI runs this case.
      MESSAGE("ASan build: --vectors 2e7 not tried without the address-space cap");
      continue;
    }
    std::vector<std::string> args = c.args;
    args.insert(args.end(), {"-o", out, "-q"});
    CAPTURE(args[0] + " " + args[1] + " " + args[2]);
    const TimedRun r = runCli(args, dir / "log.txt", 20s, kCap);
    CAPTURE(r.output);
    CHECK(r.status == 2);
    CHECK(has(r.output, c.parameter));
    CHECK(has(r.output, "needs about"));
    CHECK(has(r.output, "GiB"));
    CHECK(!fs::exists(out));
  }
  fs::remove_all(dir);
}

namespace {

/// Whether process `pid` has taken charge of signal `sig`: ecramsim's main blocks SIGINT and
/// SIGTERM for a thread that sigwaits on them (bit sig - 1 of SigBlk in /proc/PID/status), a
/// handler would show in SigCgt.
bool catches(pid_t pid, int sig) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  bool taken = false;
  while (std::getline(status, line)) {
    if (line.rfind("SigBlk:", 0) == 0 || line.rfind("SigCgt:", 0) == 0) {
      taken = taken || ((std::stoull(line.substr(7), nullptr, 16) >> (sig - 1)) & 1U) != 0;
    }
  }
  return taken;
}

/// Starts `args` (with -o inside `dir`), sends `sig` once `ready()` holds (or, when `ready` is
/// empty, 0.5 s after the child has installed its signal handlers: loading libtorch takes a
/// while before main runs), and checks the child exits 130 within 2 s leaving no temporary.
void checkSignalled(const fs::path& dir, const std::vector<std::string>& args, int sig,
                    const std::function<bool()>& ready = {}) {
  const Child c = startCli(args, dir / "log.txt");
  const auto start = std::chrono::steady_clock::now();
  if (ready) {
    while (!ready() && std::chrono::steady_clock::now() - start < 20s) {
      std::this_thread::sleep_for(2ms);
    }
  } else {
    while (!catches(c.pid, sig) && std::chrono::steady_clock::now() - start < 20s) {
      std::this_thread::sleep_for(2ms);
    }
    std::this_thread::sleep_for(500ms);
  }
  REQUIRE(::kill(c.pid, sig) == 0);
  const auto sent = std::chrono::steady_clock::now();
  // Under ASan, LeakSanitizer scans the heap (ngspice's too) when the process ends.
  const int status = waitFor(c, ecramsim::kAddressSanitizer ? 60s : 5s);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
  CAPTURE(c.output());
  CHECK(status == 130);
  CHECK(secs < (ecramsim::kAddressSanitizer ? 30.0 : 2.0));
  CHECK(countTemporaries(dir) == 0);
  CHECK(has(c.output(), "interrupted"));
}

// A transient that runs for minutes: 1 ns steps over 1 s of an RC low-pass.
const char* const kLongTransient =
    "long rc transient\n"
    "V1 in 0 SIN(0 1 1k)\n"
    "R1 in out 1k\n"
    "C1 out 0 1u\n"
    ".tran 1n 1\n"
    ".end\n";

}  // namespace

// The same with one co-simulated ECRAM cell under a long gate pulse train.
std::string longCosim() {
  const fs::path card = fs::path(ECRAMSIM_TEST_DATA_DIR) / ".." / "models" / "wox_ysz.model";
  return "long cosim\n.include " + fs::absolute(card).lexically_normal().string() +
         "\nVg g 0 PULSE(0 5 1m 1u 1u 1m 2m 1000000)\nVd d 0 DC 0.1\nN1 g d 0 wox_ysz\n"
         ".tran 10u 1000\n.end\n";
}

TEST_CASE("SIGINT and SIGTERM stop `run` (an ngspice transient) with 130 and no output") {
  for (const std::string& text : {std::string(kLongTransient), longCosim()}) {
    for (const int sig : {SIGINT, SIGTERM}) {
      CAPTURE(text);
      CAPTURE(sig);
      const fs::path dir = scratch("run_signal");
      const fs::path cir = writeFile(dir / "long.cir", text);
      const fs::path out = dir / "run.h5";
      checkSignalled(dir, {"run", cir.string(), "-o", out.string(), "-q"}, sig);
      CHECK(!fs::exists(out));
      fs::remove_all(dir);
    }
  }
}

TEST_CASE("SIGINT and SIGTERM stop `vmm` while computing with 130 and no output") {
  for (const int sig : {SIGINT, SIGTERM}) {
    CAPTURE(sig);
    const fs::path dir = scratch("vmm_signal");
    const fs::path out = dir / "vmm.h5";
    checkSignalled(dir,
                   // 250 x 250 on the exact read solver: several seconds of work, in steps
                   // (one read factorization per map state, well under a second each) short
                   // enough to stop within the 2 s (the fast solver would finish first).
                   {"vmm", "--rows", "250", "--cols", "250", "--vectors", "10",
                    "--read-solver", "exact", "-o", out.string(), "-q"},
                   sig);
    CHECK(!fs::exists(out));
    fs::remove_all(dir);
  }
}

TEST_CASE("SIGTERM while the HDF5 file is written removes the temporary and exits 130") {
  const fs::path dir = scratch("write_signal");
  const fs::path out = dir / "vmm.h5";
  // About 60 MB of datasets: the compressed write takes seconds; signal once it has begun.
  checkSignalled(dir,
                 {"vmm", "--rows", "16", "--cols", "16", "--vectors", "150000", "-o",
                  out.string(), "-q"},
                 SIGTERM, [&] { return countTemporaries(dir) > 0; });
  CHECK(!fs::exists(out));
  fs::remove_all(dir);
}

/// `ecramsim sweep SPEC.toml`: runs every point of a sweep spec as a child process of this
/// binary (`--jobs N` at a time), resumable, shardable (`--shard K/N`), and under MPI
/// (`mpirun -n P`, built with -DECRAMSIM_MPI=ON) spread over ranks. `sweep export` writes the
/// index as CSV, `sweep merge` joins shard outputs. Exit status: 0 every point complete,
/// 3 some points failed (recorded in the index), 2 bad spec, 130 interrupted.

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/common.hpp"
#include "cli/sweep_process.hpp"
#include "core/error.hpp"
#include "io/output_file.hpp"
#include "modelcard/ecram_table.hpp"
#include "sweep/index.hpp"
#include "sweep/points.hpp"
#include "sweep/spec.hpp"
#include "sweep/store.hpp"

#ifdef ECRAMSIM_WITH_MPI
#include <mpi.h>
#endif

namespace fs = std::filesystem;

namespace ecramsim::cli {

namespace {

using Clock = std::chrono::steady_clock;

/// Exit status of a sweep in which some points failed.
constexpr int kExitSomeFailed = 3;

struct SweepOptions {
  std::string spec;
  std::string out;
  std::size_t jobs = 0;  ///< 0: the core count (1 per rank under MPI)
  std::string shard = "1/1";
  CommonFlags flags;
};

std::size_t coreCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<std::size_t>(n);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

std::string hostName() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string duration(double s) {
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s / 3600),
                  static_cast<int>(s / 60) % 60);
  }
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Checks of a spec against the command line of this binary.

/// The subcommand a spec runs and how many of its command tokens name it.
struct Target {
  CLI::App* leaf = nullptr;
  std::size_t pathLength = 0;
};

std::vector<CLI::App*> subcommandsOf(CLI::App& app) {
  return app.get_subcommands([](CLI::App*) { return true; });
}

std::string namesOf(const std::vector<CLI::App*>& apps) {
  std::string out;
  for (auto* a : apps) {
    if (a->get_name() == "sweep") continue;
    out += (out.empty() ? "" : ", ") + a->get_name();
  }
  return out;
}

Target resolveTarget(CLI::App& root, const sweep::Spec& spec) {
  Target t;
  t.leaf = &root;
  const SourceLocation at{spec.file, spec.commandLine};
  for (const auto& token : spec.command) {
    if (token.empty() || token[0] == '-') break;
    CLI::App* next = nullptr;
    for (auto* sub : subcommandsOf(*t.leaf)) {
      if (sub->get_name() == token) next = sub;
    }
    if (next == nullptr) {
      if (t.pathLength == 0) {
        throw InputError(at, "command",
                         "unknown subcommand '" + echoToken(token) +
                             "' (one of: " + namesOf(subcommandsOf(root)) + ")");
      }
      break;  // an argument of the subcommand (a netlist, ...)
    }
    t.leaf = next;
    ++t.pathLength;
  }
  if (t.pathLength == 0) throw InputError(at, "command", "no subcommand named");
  if (spec.command.front() == "sweep") {
    throw InputError(at, "command", "a sweep cannot run sweeps");
  }
  if (t.leaf->get_option_no_throw("--out") == nullptr) {
    const auto subs = subcommandsOf(*t.leaf);
    if (!subs.empty()) {
      throw InputError(at, "command",
                       "'" + t.leaf->get_name() + "' needs one of: " + namesOf(subs) +
                           " (e.g. command = \"" + t.leaf->get_name() + " " +
                           subs.front()->get_name() + "\")");
    }
    throw InputError(at, "command",
                     "'" + t.leaf->get_name() + "' writes no result file (-o), so it cannot be swept");
  }
  return t;
}

std::string optionList(CLI::App& leaf) {
  std::string out;
  for (const CLI::Option* o : leaf.get_options()) {
    for (const auto& n : o->get_lnames()) {
      if (sweep::isReservedFlag(n)) continue;
      out += (out.empty() ? "--" : ", --") + n;
    }
  }
  return out;
}

/// In-process checks of every axis against the subcommand's options.
void checkAxes(const Target& t, const sweep::Spec& spec) {
  const std::string cmd = sweep::joinArguments(
      {spec.command.begin(), spec.command.begin() + static_cast<long>(t.pathLength)});
  for (const auto& a : spec.axes) {
    const SourceLocation at{spec.file, a.line};
    const std::string what = "axis '" + echoToken(a.name) + "'";
    switch (a.kind) {
      case sweep::AxisKind::Model:
        if (t.leaf->get_option_no_throw("--set") == nullptr) {
          throw InputError(at, what, "'" + cmd + "' takes no --set (no model card to change)");
        }
        break;
      case sweep::AxisKind::Param:
        if (t.leaf->get_option_no_throw("--param") == nullptr) {
          throw InputError(at, what, "'" + cmd + "' takes no --param (no netlist .param)");
        }
        break;
      case sweep::AxisKind::Option: {
        const std::string flag = (a.key.size() == 1 ? "-" : "--") + a.key;
        if (t.leaf->get_option_no_throw(flag) == nullptr) {
          throw InputError(at, what,
                           "'" + cmd + "' has no option " + flag + " (its options: " +
                               optionList(*t.leaf) + ")");
        }
        break;
      }
    }
  }
}

/// The first lines of a refused command line's message, without CLI11's "Run with --help".
std::string refusal(const std::string& output) {
  std::string out;
  std::size_t start = 0;
  while (start < output.size()) {
    std::size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    std::string line = output.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line.rfind("Run with --help", 0) == 0) continue;
    if (line.rfind("ecramsim: error: ", 0) == 0) line = line.substr(17);
    out += (out.empty() ? "" : "; ") + line;
  }
  return out.empty() ? "refused" : out;
}

/// Parses the first point's command line in a child without running it; on refusal finds the
/// spec line to blame: the axis whose removal makes the arguments acceptable, else the command.
void dryParseFirstPoint(const std::string& exe, const sweep::Spec& spec,
                        const std::vector<sweep::Point>& points) {
  if (points.empty()) return;
  const std::vector<std::string> tail{"-o", "/dev/null", "--quiet"};
  auto accepted = [&](const sweep::Spec& sp, const sweep::Point& p, std::string* why) {
    std::vector<std::string> args = sweep::pointArguments(sp, p);
    args.insert(args.end(), tail.begin(), tail.end());
    const DryParse r = dryParse(exe, args);
    if (r.status != 0 && why != nullptr) *why = refusal(r.output);
    return r.status == 0;
  };
  std::string why;
  const sweep::Point& first = points.front();
  if (accepted(spec, first, &why)) return;
  for (std::size_t a = 0; a < spec.axes.size(); ++a) {
    sweep::Spec without = spec;
    sweep::Point p = first;
    without.axes.erase(without.axes.begin() + static_cast<long>(a));
    p.values.erase(p.values.begin() + static_cast<long>(a));
    if (accepted(without, p, nullptr)) {
      throw InputError({spec.file, spec.axes[a].valuesLine},
                       "axis '" + echoToken(spec.axes[a].name) + "'",
                       "value '" + echoToken(first.values[a].text) + "' is refused: " + why);
    }
  }
  throw InputError({spec.file, spec.argsLine}, "command",
                   "'ecramsim " +
                       echoWords(sweep::joinArguments(sweep::pointArguments(spec, first))) +
                       "' is refused: " + why);
}

// ---------------------------------------------------------------------------------------------
// Progress bar.

class SweepBar {
 public:
  SweepBar(bool enabled, std::size_t total) : enabled_(enabled), total_(total), tty_(::isatty(2)) {}

  /// done/failed over the whole selection; finishedNow/toRun over this run. A terminal gets a
  /// redrawn line (at once when `force`, else at most 5 per second); a log file a line every
  /// 5 s and the final one.
  void update(std::size_t done, std::size_t failed, std::size_t running, std::size_t finishedNow,
              std::size_t toRun, bool force) {
    if (!enabled_ || finalShown_) return;
    const double now = std::chrono::duration<double>(Clock::now() - start_).count();
    const bool final = running == 0 && finishedNow >= toRun;
    const double gap = tty_ ? (force ? 0.0 : 0.2) : 5.0;
    if (!final && last_ >= 0 && now - last_ < gap) return;
    finalShown_ = final;
    last_ = now;
    const int width = 24;
    const std::size_t filled = total_ ? (done + failed) * width / total_ : width;
    std::string bar(filled, '#');
    bar.resize(width, '.');
    std::string left = "--";
    if (finishedNow > 0 && toRun >= finishedNow) {
      left = "~" + duration(now / static_cast<double>(finishedNow) *
                            static_cast<double>(toRun - finishedNow)) + " left";
    } else if (toRun == 0) {
      left = "0s left";
    }
    std::fprintf(stderr, "%ssweep [%s] %zu/%zu done, %zu failed, %zu running, %s elapsed, %s%s",
                 tty_ ? "\r\033[K" : "", bar.c_str(), done, total_, failed, running,
                 duration(now).c_str(), left.c_str(), tty_ ? "" : "\n");
    std::fflush(stderr);
    dirty_ = tty_;
  }
  void finish() {
    if (enabled_ && dirty_) std::fputc('\n', stderr);
    dirty_ = false;
  }

 private:
  bool enabled_;
  std::size_t total_;
  bool tty_;
  bool dirty_ = false;
  bool finalShown_ = false;
  Clock::time_point start_ = Clock::now();
  double last_ = -1.0;
};

// ---------------------------------------------------------------------------------------------
// The run.

extern "C" void onSigterm(int) { globalCancelToken().cancel(); }

/// Everything about one sweep run.
struct Sweep {
  sweep::Spec spec;
  std::vector<sweep::Point> all;       ///< every point of the sweep
  std::vector<std::size_t> selected;   ///< this shard's point indices
  std::vector<sweep::PointRecord> records;  ///< per selected point
  std::string hash;
  sweep::Shard shard;
  fs::path dir;
  std::string exe;

  [[nodiscard]] fs::path indexPath() const { return dir / sweep::indexFileName(shard); }

  void appendLog(const std::string& what) const {
    std::ofstream log(dir / "sweep.log", std::ios::app);
    log << io::isoTimeNow() << " " << hostName() << ":" << ::getpid() << " " << what << "\n";
  }

  void rescan() {
    for (std::size_t s = 0; s < selected.size(); ++s) {
      records[s] = sweep::readPointRecord(dir, spec, all[selected[s]], all.size());
    }
  }

  [[nodiscard]] sweep::IndexTable table() const {
    std::vector<sweep::Point> pts;
    for (std::size_t i : selected) pts.push_back(all[i]);
    return sweep::buildIndexTable(spec, pts, records, hash, shard, all.size());
  }

  void writeIndex(const std::string& status) const {
    io::writeResultFile(sweep::indexTree(table()), indexPath(),
                        {context().commandLine, spec.seed, io::isoTimeNow(), status});
  }
};

/// Validates the spec against the folder, removes stray temporaries, reads every selected
/// point's state and writes the first index. Returns the slots (into selected) to run.
std::vector<std::size_t> prepare(Sweep& s) {
  std::error_code ec;
  fs::create_directories(s.dir / "points", ec);
  if (ec) throw IoError(s.dir.string() + ": cannot create the sweep folder: " + ec.message());
  sweep::checkFolderSpec(s.dir, s.hash);
  sweep::removeStrayTemporaries(s.dir, s.selected, s.all.size(), sweep::indexFileName(s.shard));
  s.rescan();
  std::vector<std::size_t> toRun;
  for (std::size_t k = 0; k < s.selected.size(); ++k) {
    if (s.records[k].status != sweep::PointStatus::Complete) toRun.push_back(k);
  }
  s.writeIndex(toRun.empty() ? "complete" : "running");
  return toRun;
}

struct RunStats {
  std::size_t finished = 0;  ///< points that ended (complete or failed) in this run
  bool interrupted = false;
};

/// Runs the slots `toRun` of `s`, `jobs` at a time; updates s.records and the index.
RunStats runPoints(Sweep& s, const std::vector<std::size_t>& toRun, std::size_t jobs,
                   SweepBar& bar, bool writeIndexes) {
  struct Running {
    pid_t pid;
    std::size_t slot;
    Clock::time_point start;
  };
  std::deque<std::size_t> queue(toRun.begin(), toRun.end());
  std::vector<Running> running;
  RunStats stats;
  CancelToken& cancel = globalCancelToken();
  bool forwarded = false;
  Clock::time_point cancelAt{};
  Clock::time_point lastIndex = Clock::now();
  const std::size_t total = s.all.size();

  auto counts = [&] {
    std::size_t done = 0, failed = 0;
    for (const auto& r : s.records) {
      done += r.status == sweep::PointStatus::Complete;
      failed += r.status == sweep::PointStatus::Failed;
    }
    return std::pair{done, failed};
  };
  auto show = [&](bool force) {
    const auto [done, failed] = counts();
    bar.update(done, failed, running.size(), stats.finished, toRun.size(), force);
  };

  auto finish = [&](const Running& r, int waitStatus) {
    const std::size_t i = s.selected[r.slot];
    const sweep::Point& p = s.all[i];
    const std::string stem = fs::path(sweep::pointFileName(i, total)).stem().string();
    const fs::path log = s.dir / sweep::logFileName(i, total);
    const int code = exitCodeOf(waitStatus);
    const double secs = std::chrono::duration<double>(Clock::now() - r.start).count();
    sweep::PointRecord rec = sweep::readPointRecord(s.dir, s.spec, p, total);
    const sweep::PointEnd end =
        sweep::classifyPointEnd(cancel.cancelled(), code, WIFSIGNALED(waitStatus),
                                rec.status == sweep::PointStatus::Complete);
    if (end == sweep::PointEnd::Interrupted) {
      s.records[r.slot] = std::move(rec);
      s.appendLog("end " + stem + " interrupted");
      return;
    }
    if (end == sweep::PointEnd::Complete) {
      sweep::clearFailure(s.dir, i, total);
      rec.error.clear();
      std::error_code ec;
      if (fs::file_size(log, ec) == 0 && !ec) fs::remove(log, ec);
      s.appendLog("end " + stem + " complete " + duration(secs));
    } else {
      std::string msg = sweep::lastLines(log, 3);
      if (msg.empty()) {
        msg = WIFSIGNALED(waitStatus)
                  ? "killed by signal " + std::to_string(WTERMSIG(waitStatus))
                  : "exited with status " + std::to_string(code) + " and no message";
      }
      if (code == 0) msg = "exited with status 0 but wrote no complete result file; " + msg;
      rec.status = sweep::PointStatus::Failed;
      rec.exitStatus = code == 0 ? 1 : code;
      rec.error = msg;
      rec.metrics.clear();
      sweep::writeFailure(s.dir, i, total, rec.exitStatus, msg);
      s.appendLog("end " + stem + " failed status " + std::to_string(rec.exitStatus));
    }
    s.records[r.slot] = std::move(rec);
    ++stats.finished;
  };

  show(true);
  while (!queue.empty() || !running.empty()) {
    if (cancel.cancelled()) {
      stats.interrupted = true;
      queue.clear();
      if (!forwarded) {
        for (const auto& r : running) ::kill(r.pid, SIGINT);
        forwarded = true;
        cancelAt = Clock::now();
      } else if (Clock::now() - cancelAt > std::chrono::seconds(10)) {
        for (const auto& r : running) ::kill(r.pid, SIGKILL);
        cancelAt = Clock::now();
      }
    }
    while (!cancel.cancelled() && running.size() < jobs && !queue.empty()) {
      const std::size_t slot = queue.front();
      queue.pop_front();
      const std::size_t i = s.selected[slot];
      const fs::path file = s.dir / sweep::pointFileName(i, total);
      std::vector<std::string> args = sweep::pointArguments(s.spec, s.all[i]);
      args.insert(args.end(), {"-o", file.string(), "--quiet"});
      std::error_code ec;
      fs::remove(file, ec);  // a stale or foreign file must not count as this run's result
      const pid_t pid = spawnPoint(s.exe, args, s.dir / sweep::logFileName(i, total));
      s.appendLog("start " + fs::path(file).stem().string() + " pid " + std::to_string(pid));
      running.push_back({pid, slot, Clock::now()});
      show(false);
    }
    bool reaped = false;
    for (std::size_t k = 0; k < running.size();) {
      int st = 0;
      const pid_t got = ::waitpid(running[k].pid, &st, WNOHANG);
      if (got == running[k].pid || (got < 0 && errno == ECHILD)) {
        const Running r = running[k];
        running.erase(running.begin() + static_cast<long>(k));
        finish(r, got < 0 ? (255 << 8) : st);
        reaped = true;
      } else {
        ++k;
      }
    }
    if (reaped) {
      show(true);
      if (writeIndexes && Clock::now() - lastIndex > std::chrono::milliseconds(500)) {
        s.writeIndex("running");
        lastIndex = Clock::now();
      }
    } else {
      show(false);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  show(true);
  bar.finish();
  return stats;
}

/// MPI: a session when the process was started by mpirun (or srun with PMI); none otherwise.
struct MpiSession {
  int rank = 0;
  int size = 1;
  bool active = false;

  MpiSession() {
#ifdef ECRAMSIM_WITH_MPI
    const bool launched = std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr ||
                          std::getenv("PMI_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr;
    if (!launched) return;
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SINGLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    active = true;
#endif
  }
  ~MpiSession() {
#ifdef ECRAMSIM_WITH_MPI
    if (active) MPI_Finalize();
#endif
  }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  /// Rank 0's list of slots to run (or -1 when rank 0 failed) to every rank.
  void broadcast(std::vector<long long>& values) const {
#ifdef ECRAMSIM_WITH_MPI
    long long n = static_cast<long long>(values.size());
    MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
    values.resize(static_cast<std::size_t>(n));
    if (n > 0) MPI_Bcast(values.data(), static_cast<int>(n), MPI_LONG_LONG, 0, MPI_COMM_WORLD);
#else
    (void)values;
#endif
  }
  void barrier() const {
#ifdef ECRAMSIM_WITH_MPI
    if (active) MPI_Barrier(MPI_COMM_WORLD);
#endif
  }
  /// The sum of `n` over the ranks.
  [[nodiscard]] std::size_t sum(std::size_t n) const {
#ifdef ECRAMSIM_WITH_MPI
    if (!active) return n;
    unsigned long long in = n, out = 0;
    MPI_Allreduce(&in, &out, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    return static_cast<std::size_t>(out);
#else
    return n;
#endif
  }
  /// True when any rank was interrupted.
  [[nodiscard]] bool anyOf(bool flag) const {
#ifdef ECRAMSIM_WITH_MPI
    if (!active) return flag;
    int in = flag ? 1 : 0, out = 0;
    MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return out != 0;
#else
    return flag;
#endif
  }
};

/// Runs a sweep; returns the exit status (0, or kExitSomeFailed). Throws Interrupted.
int runSweep(CLI::App& root, const SweepOptions& o) {
  Sweep s;
  s.spec = sweep::parseSpecFile(o.spec);
  const Target target = resolveTarget(root, s.spec);
  checkAxes(target, s.spec);
  s.all = sweep::generatePoints(s.spec);
  s.hash = sweep::specHash(s.spec, s.all);
  s.shard = sweep::parseShard(o.shard);
  s.exe = selfExecutable();
  s.dir = o.out.empty() ? fs::path("sweep_" + fs::path(o.spec).stem().string()) : fs::path(o.out);
  for (std::size_t i = 0; i < s.all.size(); ++i) {
    if (s.shard.contains(i)) s.selected.push_back(i);
  }
  s.records.resize(s.selected.size());
  MpiSession mpi;
  const std::size_t jobs = o.jobs > 0 ? o.jobs : (mpi.active ? 1 : coreCount());
  const bool lead = mpi.rank == 0;
  std::signal(SIGTERM, onSigterm);

  // Rank 0 (or the only process) checks and prepares; the others wait for its list.
  std::vector<long long> plan;
  if (lead) {
    try {
      dryParseFirstPoint(s.exe, s.spec, s.all);
      for (std::size_t slot : prepare(s)) plan.push_back(static_cast<long long>(slot));
    } catch (...) {
      if (!mpi.active) throw;
      plan.assign(1, -1);
      mpi.broadcast(plan);
      throw;
    }
  }
  if (mpi.active) {
    mpi.broadcast(plan);
    if (plan.size() == 1 && plan.front() < 0) {
      throw InputError("sweep: rank 0 refused the sweep (see its message)");
    }
  }
  std::vector<std::size_t> mine;
  for (std::size_t k = 0; k < plan.size(); ++k) {
    if (static_cast<int>(k % static_cast<std::size_t>(mpi.size)) == mpi.rank) {
      mine.push_back(static_cast<std::size_t>(plan[k]));
    }
  }

  const auto t0 = Clock::now();
  SweepBar bar(!o.flags.quiet && lead && !mpi.active, s.selected.size());
  if (lead && !o.flags.quiet) {
    const std::size_t have = s.selected.size() - plan.size();
    std::fprintf(stderr, "sweep: %zu points%s, %zu already complete, %zu to run (%zu %s%s) in %s\n",
                 s.selected.size(),
                 s.shard.whole() ? "" : (" (shard " + o.shard + " of " + std::to_string(s.all.size()) + " points)").c_str(),
                 have, plan.size(), mpi.active ? static_cast<std::size_t>(mpi.size) : jobs,
                 mpi.active ? "MPI ranks" : (jobs == 1 ? "job" : "jobs"),
                 mpi.active && jobs > 1 ? (", " + std::to_string(jobs) + " jobs each").c_str() : "",
                 s.dir.string().c_str());
  }
  RunStats stats = runPoints(s, mine, jobs, bar, !mpi.active);
  const bool interrupted = mpi.anyOf(stats.interrupted);
  stats.finished = mpi.sum(stats.finished);
  mpi.barrier();
  if (!lead) {
    if (interrupted) throw Interrupted();
    return 0;
  }
  if (mpi.active) s.rescan();  // the other ranks' points
  const sweep::IndexTable table = s.table();
  const sweep::StatusCounts c = sweep::countStatus(table);
  s.writeIndex(interrupted ? "interrupted" : (c.pending == 0 ? "complete" : "running"));
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();

  for (const auto& m : s.spec.metrics) {
    bool found = false;
    for (const auto& col : table.metrics) {
      if (col.name != m) continue;
      for (double v : col.numbers) found = found || !std::isnan(v);
    }
    if (!found && c.complete > 0 && !o.flags.quiet) {
      std::fprintf(stderr, "sweep: warning: %s:%d: metric '%s' is in no complete point file\n",
                   s.spec.file.c_str(), s.spec.metricsLine, m.c_str());
    }
  }
  if (!o.flags.quiet) {
    std::size_t shown = 0;
    for (std::size_t k = 0; k < table.rows() && shown < 5; ++k) {
      if (table.status[k] != "failed") continue;
      std::fprintf(stderr, "sweep: %s failed (status %lld): %s\n", table.file[k].c_str(),
                   static_cast<long long>(table.exitStatus[k]), table.error[k].c_str());
      ++shown;
    }
    if (c.failed > shown) std::fprintf(stderr, "sweep: ... %zu more failed points\n", c.failed - shown);
  }
  if (o.flags.json) {
    std::cout << "{\"folder\": " << jsonQuote(s.dir.string())
              << ", \"index\": " << jsonQuote(s.indexPath().string())
              << ", \"points\": " << table.rows() << ", \"complete\": " << c.complete
              << ", \"failed\": " << c.failed << ", \"pending\": " << c.pending
              << ", \"ran\": " << stats.finished << ", \"seconds\": " << jsonNumber(secs) << "}"
              << std::endl;
  } else {
    std::printf("sweep: %zu points: %zu complete, %zu failed, %zu pending (%zu run in %.1f s)\n",
                table.rows(), c.complete, c.failed, c.pending, stats.finished, secs);
    std::printf("index: %s\n", s.indexPath().string().c_str());
  }
  if (interrupted) throw Interrupted();
  return c.failed > 0 ? kExitSomeFailed : 0;
}

/// The index file of a folder (index.h5, else its only index*.h5) or the file given.
fs::path indexOf(const fs::path& input) {
  std::error_code ec;
  if (!fs::is_directory(input, ec)) {
    if (!fs::exists(input, ec)) throw InputError({input.string(), 0}, "", "no such file or folder");
    return input;
  }
  if (fs::exists(input / "index.h5", ec)) return input / "index.h5";
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator(input, ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("index", 0) == 0 && e.path().extension() == ".h5") found.push_back(e.path());
  }
  if (found.size() != 1) {
    throw InputError({input.string(), 0}, "",
                     found.empty() ? "no index.h5 in this folder"
                                   : "several shard indexes and no index.h5: run `ecramsim sweep "
                                     "merge` first, or name one index file");
  }
  return found.front();
}

void exitWith(int status) {
  std::fflush(stdout);
  std::fflush(stderr);
  std::exit(status);
}

}  // namespace

void addSweepCommand(CLI::App& app) {
  setUpSweepChild(app);
  auto o = std::make_shared<SweepOptions>();
  auto* cmd = app.add_subcommand(
      "sweep",
      "Run a parameter sweep (SPEC.toml: a subcommand, axes over model.<key>, param.<name>, "
      "option.<flag>; grid, zip or random) as parallel processes, resumable and shardable.\n"
      "Writes DIR/points/pNNNNN.h5 per point and DIR/index.h5. Exit status: 0 all points "
      "complete, 3 some failed, 2 bad spec, 130 interrupted");
  cmd->add_option("SPEC", o->spec, "Sweep spec (TOML); see README.md, 'Sweeps'");
  cmd->add_option("-o,--out", o->out, "Sweep folder (default: sweep_<spec name>)");
  cmd->add_option("-j,--jobs", o->jobs,
                  "Points run at once, each in its own process (default: the core count; 1 per "
                  "rank under MPI)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            long long n = 0;
            if (!CLI::detail::lexical_cast(text, n)) {
              return "expected a whole number, got '" + echoToken(text) + "'";
            }
            return n >= 1 ? std::string{} : "must be at least 1 (got " + text + ")";
          },
          "INT>=1"));
  cmd->add_option("--shard", o->shard,
                  "Run only the K-th of N disjoint parts (K/N; point i is in part i mod N + 1)")
      ->default_str("1/1");
  addCommonFlags(*cmd, o->flags);

  auto* exp = cmd->add_subcommand("export", "Write a sweep index as CSV (stdout or -o FILE)");
  auto input = std::make_shared<std::string>();
  auto csvOut = std::make_shared<std::string>();
  exp->add_option("INPUT", *input, "Sweep folder or index file")->required();
  exp->add_option("-o,--out", *csvOut, "CSV file to write (default: stdout)");
  exp->callback([input, csvOut] {
    const sweep::IndexTable t = sweep::readIndexFile(indexOf(*input));
    const std::string csv = sweep::indexCsv(t);
    if (csvOut->empty()) {
      std::cout << csv << std::flush;
      return;
    }
    io::writeTextFile(*csvOut, csv);
  });

  auto* merge = cmd->add_subcommand(
      "merge", "Join shard outputs (folders or index files) into one folder with index.h5");
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto mergeOut = std::make_shared<std::string>();
  auto mergeFlags = std::make_shared<CommonFlags>();
  merge->add_option("INPUT", *inputs, "Shard folders or index files")->required();
  merge->add_option("-o,--out", *mergeOut,
                    "Merged sweep folder (default: the input folder, when there is one)");
  addCommonFlags(*merge, *mergeFlags);
  merge->callback([inputs, mergeOut, mergeFlags] {
    std::vector<fs::path> in(inputs->begin(), inputs->end());
    fs::path out = *mergeOut;
    if (out.empty()) {
      std::error_code ec;
      if (in.size() != 1 || !fs::is_directory(in.front(), ec)) {
        throw InputError({}, "-o", "name the merged folder (several inputs)");
      }
      out = in.front();
    }
    const sweep::MergeResult m = sweep::mergeInto(in, out);
    std::vector<sweep::PointRecord> records;
    for (const auto& p : m.points) records.push_back(sweep::readPointRecord(out, m.spec, p, m.points.size()));
    const sweep::IndexTable t =
        sweep::buildIndexTable(m.spec, m.points, records, m.hash, {}, m.points.size());
    const sweep::StatusCounts c = sweep::countStatus(t);
    io::writeResultFile(sweep::indexTree(t), out / "index.h5",
                        {context().commandLine, m.spec.seed, io::isoTimeNow(),
                         c.pending == 0 ? "complete" : "running"});
    if (mergeFlags->json) {
      std::cout << "{\"index\": " << jsonQuote((out / "index.h5").string())
                << ", \"points\": " << t.rows() << ", \"complete\": " << c.complete
                << ", \"failed\": " << c.failed << ", \"pending\": " << c.pending
                << ", \"copied\": " << m.copied << "}" << std::endl;
    } else {
      std::printf("merged %zu points (%zu files copied): %zu complete, %zu failed, %zu pending\n",
                  t.rows(), m.copied, c.complete, c.failed, c.pending);
      std::printf("index: %s\n", (out / "index.h5").string().c_str());
    }
    if (!m.unreadable.empty()) {  // the rest is merged; status 1 names the skipped indexes
      std::string all;
      for (const auto& e : m.unreadable) all += (all.empty() ? "" : "\n") + e;
      throw IoError(all);
    }
    if (c.failed > 0 || c.pending > 0) exitWith(kExitSomeFailed);
  });

  CLI::App* root = &app;
  cmd->callback([o, cmd, root] {
    if (!cmd->get_subcommands().empty()) return;  // export or merge ran
    if (o->spec.empty()) {
      throw InputError({}, "SPEC", "missing: ecramsim sweep SPEC.toml (or sweep export / merge)");
    }
    const int status = runSweep(*root, *o);
    if (status != 0) exitWith(status);
  });
}

}  // namespace ecramsim::cli

#include "sweep/runner.hpp"

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <thread>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "io/hdf5.hpp"
#include "sweep/store.hpp"

#ifdef ECRAMSIM_WITH_MPI
#include <mpi.h>
#endif

namespace fs = std::filesystem;

namespace ecramsim::sweep {

namespace {

using Clock = std::chrono::steady_clock;


std::string hostName() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

/// Parses the first point's command line without running it; on refusal finds the spec line
/// to blame: the axis whose removal makes the arguments acceptable, else the command.
void checkFirstPoint(const Spec& spec, const std::vector<Point>& points, const RunHooks& hooks) {
  if (points.empty()) return;
  const std::vector<std::string> tail{"-o", "/dev/null", "--quiet"};
  auto refusal = [&](const Spec& sp, const Point& p) {
    std::vector<std::string> args = pointArguments(sp, p);
    args.insert(args.end(), tail.begin(), tail.end());
    return hooks.refusal(args);
  };
  const Point& first = points.front();
  const std::string why = refusal(spec, first);
  if (why.empty()) return;
  for (std::size_t a = 0; a < spec.axes.size(); ++a) {
    Spec without = spec;
    Point p = first;
    without.axes.erase(without.axes.begin() + static_cast<long>(a));
    p.values.erase(p.values.begin() + static_cast<long>(a));
    if (refusal(without, p).empty()) {
      throw InputError({spec.file, spec.axes[a].valuesLine},
                       "axis '" + echoToken(spec.axes[a].name) + "'",
                       "value '" + echoToken(first.values[a].text) + "' is refused: " + why);
    }
  }
  throw InputError({spec.file, spec.argsLine}, "command",
                   "'ecramsim " + echoWords(joinArguments(pointArguments(spec, first))) +
                       "' is refused: " + why);
}

/// Everything about one sweep run.
struct Sweep {
  const Spec& spec;
  std::vector<Point> all;             ///< every point of the sweep
  std::vector<std::size_t> selected;  ///< this shard's point indices
  std::vector<PointRecord> records;   ///< per selected point
  std::string hash;
  Shard shard;
  fs::path dir;
  std::string commandLine;

  [[nodiscard]] fs::path indexPath() const { return dir / indexFileName(shard); }

  void appendLog(const std::string& what) const {
    std::ofstream log(dir / "sweep.log", std::ios::app);
    log << io::isoTimeNow() << " " << hostName() << ":" << ::getpid() << " " << what << "\n";
  }

  void rescan() {
    for (std::size_t s = 0; s < selected.size(); ++s) {
      records[s] = readPointRecord(dir, spec, all[selected[s]], all.size());
    }
  }

  [[nodiscard]] IndexTable table() const {
    std::vector<Point> pts;
    for (std::size_t i : selected) pts.push_back(all[i]);
    return buildIndexTable(spec, pts, records, hash, shard, all.size());
  }

  void writeIndex(const std::string& status) const {
    io::writeResultFile(indexTree(table()), indexPath(),
                        {commandLine, spec.seed, io::isoTimeNow(), status});
  }
};

/// Validates the spec against the folder, removes stray temporaries, reads every selected
/// point's state and writes the first index. Returns the slots (into selected) to run.
std::vector<std::size_t> prepare(Sweep& s) {
  std::error_code ec;
  fs::create_directories(s.dir / "points", ec);
  if (ec) throw IoError(s.dir.string() + ": cannot create the sweep folder: " + ec.message());
  checkFolderSpec(s.dir, s.hash);
  removeStrayTemporaries(s.dir, s.selected, s.all.size(), indexFileName(s.shard));
  s.rescan();
  std::vector<std::size_t> toRun;
  for (std::size_t k = 0; k < s.selected.size(); ++k) {
    if (s.records[k].status != PointStatus::Complete) toRun.push_back(k);
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
                   const RunHooks& hooks, bool report, bool writeIndexes) {
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

  auto show = [&](bool force) {
    if (!report || !hooks.progress) return;
    std::size_t done = 0, failed = 0;
    for (const auto& r : s.records) {
      done += r.status == PointStatus::Complete;
      failed += r.status == PointStatus::Failed;
    }
    hooks.progress(done, failed, running.size(), stats.finished, toRun.size(), force);
  };

  auto finish = [&](const Running& r, int waitStatus) {
    const std::size_t i = s.selected[r.slot];
    const Point& p = s.all[i];
    const std::string stem = fs::path(pointFileName(i, total)).stem().string();
    const fs::path log = s.dir / logFileName(i, total);
    const int code = exitCodeOf(waitStatus);
    const double secs = std::chrono::duration<double>(Clock::now() - r.start).count();
    PointRecord rec = readPointRecord(s.dir, s.spec, p, total);
    const PointEnd end = classifyPointEnd(cancel.cancelled(), code, WIFSIGNALED(waitStatus),
                                          rec.status == PointStatus::Complete);
    if (end == PointEnd::Interrupted) {
      s.records[r.slot] = std::move(rec);
      s.appendLog("end " + stem + " interrupted");
      return;
    }
    if (end == PointEnd::Complete) {
      clearFailure(s.dir, i, total);
      rec.error.clear();
      std::error_code ec;
      if (fs::file_size(log, ec) == 0 && !ec) fs::remove(log, ec);
      s.appendLog("end " + stem + " complete " + formatDuration(secs));
    } else {
      std::string msg = lastLines(log, 3);
      if (msg.empty()) {
        msg = WIFSIGNALED(waitStatus)
                  ? "killed by signal " + std::to_string(WTERMSIG(waitStatus))
                  : "exited with status " + std::to_string(code) + " and no message";
      }
      if (code == 0) msg = "exited with status 0 but wrote no complete result file; " + msg;
      rec.status = PointStatus::Failed;
      rec.exitStatus = code == 0 ? 1 : code;
      rec.error = msg;
      rec.metrics.clear();
      writeFailure(s.dir, i, total, rec.exitStatus, msg);
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
      const fs::path file = s.dir / pointFileName(i, total);
      std::vector<std::string> args = pointArguments(s.spec, s.all[i]);
      args.insert(args.end(), {"-o", file.string(), "--quiet"});
      std::error_code ec;
      fs::remove(file, ec);  // a stale or foreign file must not count as this run's result
      const pid_t pid = hooks.spawn(args, s.dir / logFileName(i, total));
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

}  // namespace

std::size_t coreCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<std::size_t>(n);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

int exitCodeOf(int waitStatus) {
  if (WIFEXITED(waitStatus)) return WEXITSTATUS(waitStatus);
  if (WIFSIGNALED(waitStatus)) return 128 + WTERMSIG(waitStatus);
  return 255;
}

std::string formatDuration(double s) {
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

RunOutcome runSweep(const Spec& spec, const RunSettings& settings, const RunHooks& hooks) {
  Sweep s{spec, generatePoints(spec), {}, {}, {}, parseShard(settings.shard), settings.dir,
          settings.commandLine};
  s.hash = specHash(spec, s.all);
  for (std::size_t i = 0; i < s.all.size(); ++i) {
    if (s.shard.contains(i)) s.selected.push_back(i);
  }
  s.records.resize(s.selected.size());
  MpiSession mpi;
  const std::size_t jobs = settings.jobs > 0 ? settings.jobs : (mpi.active ? 1 : coreCount());
  RunOutcome out;
  out.lead = mpi.rank == 0;
  out.mpi = mpi.active;

  // Rank 0 (or the only process) checks and prepares; the others wait for its list.
  std::vector<long long> plan;
  if (out.lead) {
    try {
      checkFirstPoint(spec, s.all, hooks);
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
  if (out.lead && hooks.planned) {
    hooks.planned(s.selected.size(), s.all.size(), plan.size(), jobs, mpi.active ? mpi.size : 0);
  }
  RunStats stats = runPoints(s, mine, jobs, hooks, out.lead && !mpi.active, !mpi.active);
  out.interrupted = mpi.anyOf(stats.interrupted);
  out.ran = mpi.sum(stats.finished);
  mpi.barrier();
  if (!out.lead) return out;
  if (mpi.active) s.rescan();  // the other ranks' points
  out.table = s.table();
  out.counts = countStatus(out.table);
  out.index = s.indexPath();
  s.writeIndex(out.interrupted ? "interrupted"
                               : (out.counts.pending == 0 ? "complete" : "running"));
  out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  for (const auto& m : spec.metrics) {
    bool found = false;
    for (const auto& col : out.table.metrics) {
      if (col.name != m) continue;
      for (double v : col.numbers) found = found || !std::isnan(v);
    }
    if (!found && out.counts.complete > 0) out.missingMetrics.push_back(m);
  }
  return out;
}

fs::path findIndexFile(const fs::path& input) {
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

IndexTable writeMergedIndex(const MergeResult& m, const fs::path& outDir,
                            const std::string& commandLine) {
  std::vector<PointRecord> records;
  for (const auto& p : m.points) {
    records.push_back(readPointRecord(outDir, m.spec, p, m.points.size()));
  }
  IndexTable t = buildIndexTable(m.spec, m.points, records, m.hash, {}, m.points.size());
  const StatusCounts c = countStatus(t);
  io::writeResultFile(indexTree(t), outDir / "index.h5",
                      {commandLine, m.spec.seed, io::isoTimeNow(),
                       c.pending == 0 ? "complete" : "running"});
  return t;
}

}  // namespace ecramsim::sweep

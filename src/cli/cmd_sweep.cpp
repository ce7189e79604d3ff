/// `ecramsim sweep SPEC.toml`: runs every point of a sweep spec as a child process of this
/// binary (`--jobs N` at a time), resumable, shardable (`--shard K/N`), and under MPI
/// (`mpirun -n P`, built with -DECRAMSIM_MPI=ON) spread over ranks. `sweep export` writes the
/// index as CSV, `sweep merge` joins shard outputs. Exit status: 0 every point complete,
/// 3 some points failed (recorded in the index), 2 bad spec, 130 interrupted. This file checks
/// the spec against the command line, starts the point processes and prints; the scheduling,
/// resume and MPI logic is sweep/runner.hpp.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "cli/common.hpp"
#include "cli/sweep_process.hpp"
#include "core/error.hpp"
#include "io/output_file.hpp"
#include "sweep/index.hpp"
#include "sweep/runner.hpp"
#include "sweep/spec.hpp"
#include "sweep/store.hpp"

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
      left = "~" + sweep::formatDuration(now / static_cast<double>(finishedNow) *
                            static_cast<double>(toRun - finishedNow)) + " left";
    } else if (toRun == 0) {
      left = "0s left";
    }
    std::fprintf(stderr, "%ssweep [%s] %zu/%zu done, %zu failed, %zu running, %s elapsed, %s%s",
                 tty_ ? "\r\033[K" : "", bar.c_str(), done, total_, failed, running,
                 sweep::formatDuration(now).c_str(), left.c_str(), tty_ ? "" : "\n");
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
// The run (scheduling, resume and MPI: sweep/runner.hpp).

extern "C" void onSigterm(int) { globalCancelToken().cancel(); }

/// Runs a sweep; returns the exit status (0, or kExitSomeFailed). Throws Interrupted.
int runSweep(CLI::App& root, const SweepOptions& o) {
  const sweep::Spec spec = sweep::parseSpecFile(o.spec);
  checkAxes(resolveTarget(root, spec), spec);
  const fs::path dir =
      o.out.empty() ? fs::path("sweep_" + fs::path(o.spec).stem().string()) : fs::path(o.out);
  const std::string exe = selfExecutable();
  std::signal(SIGTERM, onSigterm);

  std::optional<SweepBar> bar;
  sweep::RunHooks hooks;
  hooks.spawn = [&exe](const std::vector<std::string>& args, const fs::path& log) {
    return spawnPoint(exe, args, log);
  };
  hooks.refusal = [&exe](const std::vector<std::string>& args) {
    const DryParse r = dryParse(exe, args);
    return r.status == 0 ? std::string() : refusal(r.output);
  };
  hooks.planned = [&](std::size_t selected, std::size_t total, std::size_t toRun,
                      std::size_t jobs, int ranks) {
    // Points run side by side, each a process: unless the user chose, their parallel loops
    // (core/parallel.hpp) share the cores instead of each taking all of them.
    if (jobs > 1 && std::getenv("OMP_NUM_THREADS") == nullptr) {
      const std::size_t threads = std::max<std::size_t>(1, sweep::coreCount() / jobs);
      ::setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 0);
    }
    bar.emplace(!o.flags.quiet && ranks == 0, selected);
    if (o.flags.quiet) return;
    const std::size_t units = ranks > 0 ? static_cast<std::size_t>(ranks) : jobs;
    std::fprintf(stderr, "sweep: %zu points%s, %zu already complete, %zu to run (%zu %s%s) in %s\n",
                 selected,
                 sweep::parseShard(o.shard).whole()
                     ? ""
                     : (" (shard " + o.shard + " of " + std::to_string(total) + " points)").c_str(),
                 selected - toRun, toRun, units,
                 ranks > 0 ? "MPI ranks" : (jobs == 1 ? "job" : "jobs"),
                 ranks > 0 && jobs > 1 ? (", " + std::to_string(jobs) + " jobs each").c_str() : "",
                 dir.string().c_str());
  };
  hooks.progress = [&bar](std::size_t done, std::size_t failed, std::size_t running,
                          std::size_t finished, std::size_t toRun, bool force) {
    if (bar) bar->update(done, failed, running, finished, toRun, force);
  };
  const sweep::RunOutcome r =
      sweep::runSweep(spec, {dir, o.jobs, o.shard, context().commandLine}, hooks);
  if (bar) bar->finish();
  if (!r.lead) {
    if (r.interrupted) throw Interrupted();
    return 0;
  }
  const sweep::IndexTable& table = r.table;
  const sweep::StatusCounts& c = r.counts;
  if (!o.flags.quiet) {
    for (const auto& m : r.missingMetrics) {
      std::fprintf(stderr, "sweep: warning: %s:%d: metric '%s' is in no complete point file\n",
                   spec.file.c_str(), spec.metricsLine, m.c_str());
    }
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
    std::cout << "{\"folder\": " << jsonQuote(dir.string())
              << ", \"index\": " << jsonQuote(r.index.string())
              << ", \"points\": " << table.rows() << ", \"complete\": " << c.complete
              << ", \"failed\": " << c.failed << ", \"pending\": " << c.pending
              << ", \"ran\": " << r.ran << ", \"seconds\": " << jsonNumber(r.seconds) << "}"
              << std::endl;
  } else {
    std::printf("sweep: %zu points: %zu complete, %zu failed, %zu pending (%zu run in %.1f s)\n",
                table.rows(), c.complete, c.failed, c.pending, r.ran, r.seconds);
    std::printf("index: %s\n", r.index.string().c_str());
  }
  if (r.interrupted) throw Interrupted();
  return c.failed > 0 ? kExitSomeFailed : 0;
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
      ->check(wholeNumberAtLeast(1));
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
    const sweep::IndexTable t = sweep::readIndexFile(sweep::findIndexFile(*input));
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
    const sweep::IndexTable t = sweep::writeMergedIndex(m, out, context().commandLine);
    const sweep::StatusCounts c = sweep::countStatus(t);
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

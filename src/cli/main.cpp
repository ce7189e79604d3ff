/// ecramsim: the command-line shell over the library. Parses argv, calls the library, prints.
/// Exit status: 0 success, 1 simulation or I/O failure, 2 bad input, 130 interrupted.

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "cli/common.hpp"
#include "core/error.hpp"
#include "core/version.hpp"

namespace {

/// SIGINT and SIGTERM are blocked in every thread (threads and libngspice inherit the mask, so
/// ngspice's own SIGINT handlers never run) and taken by one watcher thread: the first sets the
/// global cancel token (long loops then throw Interrupted, temporaries are removed, exit 130);
/// a second ends the process at once with status 130. Children spawned with posix_spawn get an
/// empty mask back (cli/sweep_process.cpp, cli/plots.cpp).
void watchSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (ecramsim::globalCancelToken().cancelled()) std::_Exit(130);
      ecramsim::globalCancelToken().cancel();
    }
  }).detach();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ecramsim;
  for (int i = 0; i < argc; ++i) {
    cli::context().commandLine += (i ? " " : "") + std::string(argv[i]);
  }
  CLI::App app{
      "ecramsim: circuit-level simulation of ECRAM analog in-memory computing arrays.\n"
      "Quantities take SPICE syntax with SI units (5, 100ms, 2.5u). Every run writes one HDF5\n"
      "file; `ecramsim inspect FILE.h5` shows what it holds. Exit status: 0 ok, 1 simulation or\n"
      "I/O failure, 2 bad input, 130 interrupted (SIGINT or SIGTERM: the run stops within a\n"
      "second, completed files are kept, temporaries removed; a second signal ends it at once).\n"
      "Input files (netlists, model cards, sweep specs, CSV, PGM) must be regular files of at\n"
      "most 64 MiB. A run whose memory estimate exceeds the physical memory (or ulimit -v/-d\n"
      "when lower) is refused with the estimate (exit 2).",
      "ecramsim"};
  app.set_version_flag("--version", std::string("ecramsim ") + kToolVersion);
  app.require_subcommand(1);
  // CLI11's messages quote the offending value in full: shorten long ones.
  app.failure_message([](const CLI::App* a, const CLI::Error& e) {
    return echoWords(CLI::FailureMessage::simple(a, e));
  });
  cli::addDeviceCommand(app);
  cli::addModelCommand(app);
  cli::addInspectCommand(app);
  cli::addResultExportCommand(app);
  cli::addPaperCommand(app);
  cli::addProgramCommand(app);
  cli::addSweepCommand(app);
  cli::addRunCommand(app);
  cli::addNetlistCommand(app);
  cli::addTrainCommand(app);
  cli::addVmmCommand(app);
  cli::addFitCommand(app);

  watchSignals();
  try {
    app.parse(argc, argv);
    // A signal that arrived after the last cancellation check still ends the run as interrupted.
    globalCancelToken().throwIfCancelled();
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  } catch (const InputError& e) {
    std::fprintf(stderr, "ecramsim: error: %s\n", e.what());
    return 2;
  } catch (const Interrupted&) {
    std::fprintf(stderr, "ecramsim: interrupted; completed files were kept\n");
    return 130;
  } catch (const Error& e) {
    std::fprintf(stderr, "ecramsim: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ecramsim: internal error: %s\n", e.what());
    return 1;
  }
  return 0;
}

/// ecramsim: the command-line shell over the library. Parses argv, calls the library, prints.
/// Exit status: 0 success, 1 simulation or I/O failure, 2 bad input, 130 interrupted.

#include <csignal>
#include <cstdio>

#include "cli/common.hpp"
#include "core/error.hpp"
#include "core/version.hpp"

namespace {

extern "C" void onSigint(int) { ecramsim::globalCancelToken().cancel(); }

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
      "I/O failure, 2 bad input, 130 interrupted.",
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
  cli::addPaperCommand(app);
  cli::addProgramCommand(app);
  cli::addSweepCommand(app);
  cli::addRunCommand(app);
  cli::addNetlistCommand(app);
  cli::addTrainCommand(app);
  cli::addVmmCommand(app);

  std::signal(SIGINT, onSigint);
  try {
    app.parse(argc, argv);
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

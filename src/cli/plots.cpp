#include "cli/plots.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

#include "app/cards.hpp"

extern char** environ;

namespace ecramsim::cli {

int runPlotScript(const std::string& script, const std::vector<std::string>& args, bool quiet) {
  const char* env = std::getenv("ECRAMSIM_PYTHON");
  const std::string python = (env != nullptr && *env != '\0') ? env : ECRAMSIM_PYTHON;
  const std::string path = (app::projectRoot() / "tools" / "plot" / script).string();
  std::vector<std::string> argv{python, path};
  argv.insert(argv.end(), args.begin(), args.end());
  if (quiet) argv.push_back("--quiet");
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);  // keep stdout clean
  // The child starts with an empty signal mask (main blocks SIGINT and SIGTERM in this process).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, python.c_str(), &actions, &attr, cargv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return 127;
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

}  // namespace ecramsim::cli

#include "cli/sweep_process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>

#include "cli/common.hpp"
#include "core/error.hpp"
#include "sweep/runner.hpp"

extern char** environ;

namespace ecramsim::cli {

std::string selfExecutable() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec && !p.empty()) return p.string();
  const std::string& cl = context().commandLine;
  return cl.substr(0, cl.find(' '));
}

namespace {

/// This process's environment without the sweep's variables, plus `extra`.
std::vector<std::string> childEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string v = *e;
    if (v.rfind("ECRAMSIM_SWEEP_", 0) == 0) continue;
    env.push_back(v);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

/// posix_spawn with the given file actions; throws IoError.
pid_t spawn(const std::string& exe, const std::vector<std::string>& args,
            const std::vector<std::string>& extraEnv, posix_spawn_file_actions_t* actions) {
  std::vector<std::string> argv{exe};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> env = childEnvironment(extraEnv);
  auto cargv = pointers(argv);
  auto cenv = pointers(env);
  // The child starts with default SIGINT handling and an empty signal mask.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, def;
  sigemptyset(&none);
  sigemptyset(&def);
  sigaddset(&def, SIGINT);
  sigaddset(&def, SIGTERM);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &def);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, exe.c_str(), actions, &attr, cargv.data(), cenv.data());
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw IoError(exe + ": cannot start a point process: " + std::strerror(rc));
  return pid;
}

}  // namespace

pid_t spawnPoint(const std::string& exe, const std::vector<std::string>& args,
                 const std::filesystem::path& stderrFile) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderrFile.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  try {
    const pid_t pid =
        spawn(exe, args, {std::string(kSweepParentEnv) + "=" + std::to_string(::getpid())}, &actions);
    posix_spawn_file_actions_destroy(&actions);
    return pid;
  } catch (...) {
    posix_spawn_file_actions_destroy(&actions);
    throw;
  }
}

DryParse dryParse(const std::string& exe, const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe(fds) != 0) throw IoError("cannot create a pipe for the dry parse");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  pid_t pid = 0;
  try {
    pid = spawn(exe, args,
                {std::string(kSweepDryParseEnv) + "=1",
                 std::string(kSweepParentEnv) + "=" + std::to_string(::getpid())},
                &actions);
  } catch (...) {
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[0]);
    ::close(fds[1]);
    throw;
  }
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  DryParse r;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    r.output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  r.status = sweep::exitCodeOf(st);
  return r;
}

void setUpSweepChild(CLI::App& app) {
  if (const char* parent = std::getenv(kSweepParentEnv); parent != nullptr && *parent != '\0') {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != static_cast<pid_t>(std::atol(parent))) std::raise(SIGTERM);  // already gone
  }
  if (const char* dry = std::getenv(kSweepDryParseEnv); dry != nullptr && dry[0] == '1') {
    // The root's parse-complete callback runs after every option has been parsed, converted and
    // checked and before any subcommand callback (CLI11 2.x run_callback order). Ending there
    // leaves the callbacks, and the option storage they own, alive: CLI::Success exits 0.
    app.parse_complete_callback([] { throw CLI::Success(); });
  }
}

}  // namespace ecramsim::cli

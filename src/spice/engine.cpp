#include "spice/engine.hpp"

#include <dlfcn.h>
#include <ngspice/sharedspice.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <regex>
#include <system_error>
#include <thread>

#include "core/progress.hpp"
#include "core/units.hpp"

#ifndef ECRAMSIM_NGSPICE_LIB
#define ECRAMSIM_NGSPICE_LIB "libngspice.so.0"
#endif

namespace ecramsim::spice {

std::string_view failureKindName(FailureKind kind) {
  switch (kind) {
    case FailureKind::ParseError: return "parse error";
    case FailureKind::NoConvergence: return "no convergence";
    case FailureKind::TimestepTooSmall: return "timestep too small";
    case FailureKind::SingularMatrix: return "singular matrix";
    case FailureKind::ControlledExit: return "controlled exit";
    case FailureKind::Aborted: return "run aborted";
    case FailureKind::HookFailed: return "hook failed";
  }
  return "unknown";
}

namespace {

std::string formatSpiceError(FailureKind kind, const SourceLocation& where,
                             const std::string& detail) {
  std::string out;
  const std::string loc = where.str();
  if (!loc.empty()) out += loc + ": ";
  out += "ngspice ";
  out += failureKindName(kind);
  if (!detail.empty()) out += ": " + detail;
  return out;
}

}  // namespace

SpiceError::SpiceError(FailureKind kind, SourceLocation where, int netlistLine, std::string detail,
                       std::vector<std::string> log)
    : SimulationError(formatSpiceError(kind, where, detail)),
      kind_(kind),
      where_(std::move(where)),
      netlistLine_(netlistLine),
      detail_(std::move(detail)),
      log_(std::move(log)) {}

namespace {

/// Maps "v(x)" to "x" and "i(v1)" to "v1#branch"; lower-cases.
std::string canonicalVectorName(std::string_view name) {
  std::string n = toLower(name);
  if (n.size() > 3 && n.back() == ')' && n[1] == '(' && n.find(',') == std::string::npos) {
    const std::string inner = n.substr(2, n.size() - 3);
    if (n[0] == 'v') return inner;
    if (n[0] == 'i') return inner + "#branch";
  }
  return n;
}

}  // namespace

bool RunResult::has(std::string_view name) const {
  return vectors.count(canonicalVectorName(name)) > 0;
}

const std::vector<double>& RunResult::vec(std::string_view name) const {
  const auto it = vectors.find(canonicalVectorName(name));
  if (it == vectors.end()) {
    throw SimulationError("ngspice plot " + plotName + " has no vector '" + std::string(name) +
                          "'");
  }
  return it->second;
}

double RunResult::last(std::string_view name) const {
  const auto& v = vec(name);
  if (v.empty()) throw SimulationError("ngspice vector '" + std::string(name) + "' is empty");
  return v.back();
}

namespace {

/// Function pointers into one loaded copy of libngspice.
struct Library {
  void* handle = nullptr;
  decltype(&ngSpice_Init) init = nullptr;
  decltype(&ngSpice_Init_Sync) initSync = nullptr;
  decltype(&ngSpice_Command) command = nullptr;
  decltype(&ngGet_Vec_Info) vecInfo = nullptr;
  decltype(&ngSpice_Circ) circ = nullptr;
  decltype(&ngSpice_CurPlot) curPlot = nullptr;
  decltype(&ngSpice_AllVecs) allVecs = nullptr;
};

template <typename Fn>
Fn symbol(void* handle, const char* name, const std::string& path) {
  void* p = dlsym(handle, name);
  if (p == nullptr) {
    throw SimulationError("ngspice library " + path + " lacks symbol " + name);
  }
  return reinterpret_cast<Fn>(p);
}

std::string librarySourcePath() {
  if (const char* env = std::getenv("ECRAMSIM_NGSPICE_LIB"); env != nullptr && *env != '\0') {
    return env;
  }
  return ECRAMSIM_NGSPICE_LIB;
}

/// Copies the library file to a fresh temporary name and dlopens it RTLD_LOCAL, so that it is
/// an instance of its own; the copy is unlinked once mapped.
Library loadPrivateCopy() {
  const std::string source = librarySourcePath();
  std::error_code ec;
  const std::filesystem::path resolved = std::filesystem::canonical(source, ec);
  if (ec) throw SimulationError("ngspice library not found: " + source + " (" + ec.message() + ")");
  const char* tmpEnv = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmpEnv != nullptr && *tmpEnv != '\0' ? tmpEnv : "/tmp") +
      "/ecramsim-libngspice-XXXXXX.so";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  const int fd = mkstemps(name.data(), 3);
  if (fd < 0) throw SimulationError("cannot create a temporary copy of " + source);
  ::close(fd);
  const std::string copy(name.data());
  std::filesystem::copy_file(resolved, copy, std::filesystem::copy_options::overwrite_existing,
                             ec);
  if (ec) {
    std::filesystem::remove(copy, ec);
    throw SimulationError("cannot copy " + resolved.string() + " to " + copy + ": " +
                          ec.message());
  }
  void* handle = dlopen(copy.c_str(), RTLD_NOW | RTLD_LOCAL);
  const char* dlError = handle == nullptr ? dlerror() : nullptr;
  std::filesystem::remove(copy, ec);  // the mapping stays valid
  if (handle == nullptr) {
    throw SimulationError("dlopen of ngspice copy failed: " +
                          std::string(dlError != nullptr ? dlError : "?"));
  }
  Library lib;
  lib.handle = handle;
  lib.init = symbol<decltype(lib.init)>(handle, "ngSpice_Init", source);
  lib.initSync = symbol<decltype(lib.initSync)>(handle, "ngSpice_Init_Sync", source);
  lib.command = symbol<decltype(lib.command)>(handle, "ngSpice_Command", source);
  lib.vecInfo = symbol<decltype(lib.vecInfo)>(handle, "ngGet_Vec_Info", source);
  lib.circ = symbol<decltype(lib.circ)>(handle, "ngSpice_Circ", source);
  lib.curPlot = symbol<decltype(lib.curPlot)>(handle, "ngSpice_CurPlot", source);
  lib.allVecs = symbol<decltype(lib.allVecs)>(handle, "ngSpice_AllVecs", source);
  return lib;
}

constexpr std::size_t kMaxLogLines = 20000;  ///< beyond this the middle of a run's log is cut

/// Whitespace-collapsed lower-case text, to match ngspice's echo of a netlist line.
std::string normalizeLine(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

bool containsNoCase(std::string_view text, std::string_view what) {
  return contains(toLower(text), toLower(what));
}

}  // namespace

struct Engine::Impl {
  Library lib;
  bool alive = false;
  int loaded = 0;
  std::vector<std::string> initLog;

  // State of the run in progress.
  std::atomic<std::thread::id> runThread{};
  const RunHooks* hooks = nullptr;
  std::vector<std::string>* log = nullptr;
  bool exited = false;
  bool transient = false;
  int timeIndex = -1;
  std::vector<std::string> outNames;
  std::vector<double> values;
  int accepted = 0;
  int rejected = 0;
  std::exception_ptr hookError;
  bool interrupted = false;  ///< globalCancelToken() was seen set during the run

  /// True once the process was asked to stop (SIGINT, SIGTERM); the run is then ended early.
  bool checkCancel() {
    if (!interrupted && globalCancelToken().cancelled()) interrupted = true;
    return interrupted;
  }

  void appendLog(std::string line) {
    if (log == nullptr) return;
    if (log->size() >= kMaxLogLines) {
      const auto first = log->begin() + static_cast<std::ptrdiff_t>(kMaxLogLines / 4);
      const auto lastCut = log->begin() + static_cast<std::ptrdiff_t>(3 * kMaxLogLines / 4);
      log->erase(first, lastCut);
      log->insert(first, "stdout [ecramsim: log lines cut]");
    }
    log->push_back(std::move(line));
  }

  void hookFailed() {
    if (!hookError) hookError = std::current_exception();
  }

  [[nodiscard]] bool hooksActive() const { return hooks != nullptr && !hookError; }

  static Impl* self(void* user) { return static_cast<Impl*>(user); }

  static int onSendChar(char* text, int /*id*/, void* user) {
    if (text != nullptr) self(user)->appendLog(text);
    return 0;
  }
  static int onSendStat(char* /*text*/, int /*id*/, void* /*user*/) { return 0; }
  static int onControlledExit(int /*status*/, NG_BOOL /*immediate*/, NG_BOOL /*quit*/, int /*id*/,
                              void* user) {
    self(user)->exited = true;
    return 0;
  }
  static int onSendData(pvecvaluesall data, int count, int /*id*/, void* user) {
    Impl* s = self(user);
    ++s->accepted;
    if (s->checkCancel()) return 0;
    if (!s->hooksActive() || !s->hooks->acceptedPoint || data == nullptr) return 0;
    const int n = std::min(count, data->veccount);
    s->values.resize(static_cast<std::size_t>(std::max(n, 0)));
    for (int i = 0; i < n; ++i) s->values[static_cast<std::size_t>(i)] = data->vecsa[i]->creal;
    const double t = (s->timeIndex >= 0 && s->timeIndex < n)
                         ? s->values[static_cast<std::size_t>(s->timeIndex)]
                         : 0.0;
    try {
      s->hooks->acceptedPoint(t, std::span<const double>(s->values));
    } catch (...) {
      s->hookFailed();
    }
    return 0;
  }
  static int onSendInitData(pvecinfoall info, int /*id*/, void* user) {
    Impl* s = self(user);
    s->outNames.clear();
    s->timeIndex = -1;
    s->transient = false;
    if (info == nullptr) return 0;
    const std::string plotName = info->name != nullptr ? info->name : "";
    const std::string plotType = info->type != nullptr ? info->type : "";
    s->transient = containsNoCase(plotName, "transient") || plotType.rfind("tran", 0) == 0;
    for (int i = 0; i < info->veccount; ++i) {
      const char* n = info->vecs[i]->vecname;
      s->outNames.emplace_back(n != nullptr ? toLower(n) : std::string{});
      if (s->transient && s->outNames.back() == "time") s->timeIndex = i;
    }
    if (s->hooksActive() && s->hooks->outputVectors) {
      try {
        s->hooks->outputVectors(std::span<const std::string>(s->outNames));
      } catch (...) {
        s->hookFailed();
      }
    }
    return 0;
  }
  static int onBgThreadRunning(NG_BOOL /*running*/, int /*id*/, void* /*user*/) { return 0; }

  static int onExternalVoltage(double* value, double time, char* name, int /*id*/, void* user) {
    Impl* s = self(user);
    *value = 0.0;
    if (s->hookError || s->checkCancel()) {
      *value = std::numeric_limits<double>::quiet_NaN();  // makes ngspice give up
    } else if (s->hooks != nullptr && s->hooks->externalVoltage) {
      try {
        *value = s->hooks->externalVoltage(time, name != nullptr ? name : "");
      } catch (...) {
        s->hookFailed();
        *value = std::numeric_limits<double>::quiet_NaN();
      }
    }
    return 0;
  }
  static int onExternalCurrent(double* value, double time, char* name, int /*id*/, void* user) {
    Impl* s = self(user);
    *value = 0.0;
    if (s->hookError || s->checkCancel()) {
      *value = std::numeric_limits<double>::quiet_NaN();
    } else if (s->hooks != nullptr && s->hooks->externalCurrent) {
      try {
        *value = s->hooks->externalCurrent(time, name != nullptr ? name : "");
      } catch (...) {
        s->hookFailed();
        *value = std::numeric_limits<double>::quiet_NaN();
      }
    }
    return 0;
  }

  void applyLimit(double time, double* delta) {
    if (!hooks->limitStep) return;
    const double wanted = hooks->limitStep(time, *delta);
    if (std::isfinite(wanted) && wanted > 0.0 && wanted < *delta) *delta = wanted;
  }

  /// GetSyncData. loc 0: before a step from the accepted time `time`; ngspice ignores the return
  /// value. loc 1 with redo = 0: the point at `time` converged (step oldDelta); returning 1 makes
  /// ngspice subtract oldDelta and redo with *delta. loc 1 with redo = 1: ngspice rejected the
  /// point itself and already moved `time` back; *delta is its retry step.
  /// When the run is cancelled, every point at loc 1 is redone with a zero step: ngspice clamps
  /// it to its minimum step once and then ends the transient with "Timestep too small".
  static int onSync(double time, double* delta, double oldDelta, int redo, int /*id*/, int loc,
                    void* user) {
    Impl* s = self(user);
    if (s->transient && s->checkCancel()) {
      if (loc != 1) return 0;
      *delta = 0.0;
      return redo != 0 ? 0 : 1;
    }
    if (!s->transient || !s->hooksActive()) return 0;
    try {
      if (loc == 0 || redo != 0) {
        s->applyLimit(time, delta);
        return 0;
      }
      if (loc == 1 && s->hooks->rejectStep) {
        const std::optional<double> retry = s->hooks->rejectStep(time, oldDelta);
        if (retry && std::isfinite(*retry) && *retry > 0.0 && *retry < oldDelta) {
          *delta = *retry;
          s->applyLimit(time - oldDelta, delta);
          ++s->rejected;
          return 1;
        }
      }
    } catch (...) {
      s->hookFailed();
    }
    return 0;
  }

  void ensureLoaded() {
    if (alive) return;
    if (lib.handle != nullptr) dlclose(lib.handle);
    lib = loadPrivateCopy();
    ++loaded;
    std::vector<std::string> initLines;
    log = &initLines;
    exited = false;
    lib.init(&onSendChar, &onSendStat, &onControlledExit, &onSendData, &onSendInitData,
             &onBgThreadRunning, this);
    int ident = 0;
    lib.initSync(&onExternalVoltage, &onExternalCurrent, &onSync, &ident, this);
    log = nullptr;
    initLog = std::move(initLines);
    if (exited) throw SimulationError("ngspice exited during initialisation");
    alive = true;
  }

  void command(const char* text) {
    if (!exited) lib.command(const_cast<char*>(text));
  }
};

namespace {

struct Diagnosis {
  std::optional<FailureKind> kind;
  int sentLine = 0;           ///< 1-based line of the netlist as sent, 0 if none named
  std::string echoedLine;     ///< ngspice's echo of the offending line, if any
  std::vector<std::string> errorLines;
};

std::string_view stripStream(std::string_view line) {
  if (line.rfind("stderr ", 0) == 0 || line.rfind("stdout ", 0) == 0) line.remove_prefix(7);
  return line;
}

int rank(FailureKind kind) {
  switch (kind) {
    case FailureKind::ParseError: return 6;
    case FailureKind::HookFailed: return 5;
    case FailureKind::SingularMatrix: return 4;
    case FailureKind::TimestepTooSmall: return 3;
    case FailureKind::NoConvergence: return 2;
    case FailureKind::ControlledExit: return 1;
    case FailureKind::Aborted: return 0;
  }
  return 0;
}

void raise(Diagnosis& d, FailureKind kind) {
  if (!d.kind || rank(kind) > rank(*d.kind)) d.kind = kind;
}

/// Reads ngspice's log: `loadLines` were printed by ngSpice_Circ, `runLines` by `run`.
Diagnosis diagnose(std::span<const std::string> log, std::size_t loadLines,
                   bool failOnSingular) {
  static const std::regex lineNumber(R"((?:Error on line|Netlist line no\.)\s*(\d+))",
                                     std::regex::icase);
  Diagnosis d;
  bool expectEcho = false;
  for (std::size_t i = 0; i < log.size(); ++i) {
    const std::string& raw = log[i];
    const bool isErr = raw.rfind("stderr ", 0) == 0;
    const std::string_view text = stripStream(raw);
    const std::string lower = toLower(text);
    bool relevant = false;
    std::smatch m;
    const std::string textCopy(text);
    if (std::regex_search(textCopy, m, lineNumber)) {
      if (d.sentLine == 0) d.sentLine = std::stoi(m[1].str());
      raise(d, FailureKind::ParseError);
      relevant = true;
      expectEcho = contains(lower, "error on line");
    } else if (expectEcho) {
      if (d.echoedLine.empty()) d.echoedLine = std::string(text);
      expectEcho = false;
      relevant = true;
    } else if (contains(lower, "can't find model") && i + 1 < log.size()) {
      if (d.echoedLine.empty()) d.echoedLine = std::string(stripStream(log[i + 1]));
    }
    if (contains(lower, "circuit not parsed") || contains(lower, "unknown subckt") ||
        contains(lower, "no job") || contains(lower, "unimplemented") ||
        contains(lower, "pterror") || contains(lower, "end statement is missing") ||
        contains(lower, "cannot compute substitute") || contains(lower, "undefined parameter") ||
        (isErr && i < loadLines && contains(lower, "error"))) {
      raise(d, FailureKind::ParseError);
      relevant = true;
      if (contains(lower, "unknown subckt") && d.echoedLine.empty()) {
        const auto colon = text.find(':', text.find("subckt"));
        if (colon != std::string_view::npos) d.echoedLine = std::string(text.substr(colon + 1));
      }
    }
    if (contains(lower, "singular matrix")) {
      if (failOnSingular) raise(d, FailureKind::SingularMatrix);
      relevant = failOnSingular;
    }
    if (contains(lower, "timestep too small")) {
      if (contains(lower, "tran:")) {
        raise(d, FailureKind::TimestepTooSmall);
      } else {
        raise(d, FailureKind::NoConvergence);
      }
      relevant = true;
    }
    if (contains(lower, "dc solution failed") || contains(lower, "transient op failed") ||
        contains(lower, "iteration limit reached") || contains(lower, "no convergence")) {
      raise(d, FailureKind::NoConvergence);
      relevant = true;
    }
    if (contains(lower, "simulation(s) aborted") || contains(lower, "simulation interrupted") ||
        (isErr && i >= loadLines && contains(lower, "error"))) {
      raise(d, FailureKind::Aborted);
      relevant = true;
    }
    const bool header = std::regex_search(textCopy, lineNumber);  // the location says it
    if (relevant && !header && d.errorLines.size() < 8 &&
        std::find(d.errorLines.begin(), d.errorLines.end(), text) == d.errorLines.end()) {
      d.errorLines.emplace_back(text);
    }
  }
  return d;
}

std::string joinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) out += " | ";
    std::string_view v = l;
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
    out += v;
  }
  return out;
}

bool isBlank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

Engine::Engine() : impl_(std::make_unique<Impl>()) {}
Engine::~Engine() = default;

Engine& Engine::instance() {
  static Engine engine;
  return engine;
}

int Engine::instancesLoaded() const {
  std::lock_guard lock(mutex_);
  return impl_->loaded;
}

std::vector<std::string> Engine::initLog() const {
  std::lock_guard lock(mutex_);
  return impl_->initLog;
}

RunResult Engine::run(const std::vector<std::string>& netlist, const RunOptions& options) {
  if (impl_->runThread.load() == std::this_thread::get_id()) {
    throw SimulationError("Engine::run called from inside a run hook");
  }
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  globalCancelToken().throwIfCancelled();

  // Lines as sent: blank lines dropped (ngspice does not count them), mapped back to the caller.
  std::vector<std::string> sent;
  std::vector<std::size_t> callerIndex;
  for (std::size_t i = 0; i < netlist.size(); ++i) {
    if (i > 0 && isBlank(netlist[i])) continue;
    if (netlist[i].find_first_of("\r\n") != std::string::npos) {
      throw SimulationError("netlist line " + std::to_string(i + 1) + " contains a line break");
    }
    if (netlist[i].find('\0') != std::string::npos) {
      throw SimulationError("netlist line " + std::to_string(i + 1) + " contains a NUL byte");
    }
    sent.push_back(netlist[i]);
    callerIndex.push_back(i);
  }
  if (sent.size() < 2 || normalizeLine(sent.back()) != ".end") {
    throw SpiceError(FailureKind::ParseError, {}, 0,
                     "a netlist needs a title line and must end with .end", {});
  }
  // ngspice 39.3 crashes on a netlist without an element line (title, .op, .end).
  bool element = false, control = false;
  for (std::size_t i = 1; i < sent.size() && !element; ++i) {
    const std::string line = normalizeLine(sent[i]);
    if (line.rfind(".control", 0) == 0) control = true;
    if (line.rfind(".endc", 0) == 0) control = false;
    element = !control && !line.empty() && std::isalpha(static_cast<unsigned char>(line[0]));
  }
  if (!element) {
    throw SpiceError(FailureKind::ParseError, {}, 0, "the netlist has no element line", {});
  }

  s.ensureLoaded();

  RunResult result;
  s.log = &result.log;
  s.hooks = &options.hooks;
  s.exited = false;
  s.transient = false;
  s.timeIndex = -1;
  s.outNames.clear();
  s.accepted = 0;
  s.rejected = 0;
  s.hookError = nullptr;
  s.interrupted = false;
  s.runThread.store(std::this_thread::get_id());

  std::vector<std::vector<char>> buffers;
  buffers.reserve(sent.size());
  std::vector<char*> pointers;
  pointers.reserve(sent.size() + 1);
  for (const auto& line : sent) {
    buffers.emplace_back(line.begin(), line.end());
    buffers.back().push_back('\0');
    pointers.push_back(buffers.back().data());
  }
  pointers.push_back(nullptr);

  // Whatever happens below, the instance is left clean and the run state reset.
  bool cleaned = false;
  auto cleanup = [&s, &cleaned] {
    if (cleaned) return;
    cleaned = true;
    s.log = nullptr;
    if (!s.exited) {  // never talk to an instance that has exited
      s.command("destroy all");
      s.command("remcirc");
      s.lib.command(nullptr);
    }
    if (s.exited) s.alive = false;
    s.hooks = nullptr;
    s.hookError = nullptr;
    s.runThread.store(std::thread::id{});
  };
  struct Guard {
    decltype(cleanup)& f;
    ~Guard() { f(); }
  } guard{cleanup};

  s.lib.circ(pointers.data());
  const std::size_t loadLines = result.log.size();
  Diagnosis diag = diagnose(result.log, loadLines, options.failOnSingularMatrix);
  if (!s.exited && !(diag.kind && *diag.kind == FailureKind::ParseError)) {
    s.lib.command(const_cast<char*>("run"));
    diag = diagnose(result.log, loadLines, options.failOnSingularMatrix);
  }

  // Copy the plot out before cleaning up.
  if (!s.exited && !diag.kind) {
    const char* plot = s.lib.curPlot();
    result.plotName = plot != nullptr ? plot : "";
    if (result.plotName.empty() || result.plotName == "const") {
      diag.kind = FailureKind::Aborted;
      diag.errorLines.emplace_back("the run produced no plot");
    } else {
      char** names = s.lib.allVecs(const_cast<char*>(result.plotName.c_str()));
      std::vector<std::string> nameList;
      for (int i = 0; names != nullptr && names[i] != nullptr; ++i) nameList.emplace_back(names[i]);
      std::size_t length = 0;
      for (const auto& name : nameList) {
        const std::string qualified = result.plotName + "." + name;
        pvector_info info = s.lib.vecInfo(const_cast<char*>(qualified.c_str()));
        if (info == nullptr) continue;
        const auto n = static_cast<std::size_t>(std::max(info->v_length, 0));
        std::vector<double> data(n);
        if (info->v_realdata != nullptr) {
          std::copy(info->v_realdata, info->v_realdata + n, data.begin());
        } else if (info->v_compdata != nullptr) {
          for (std::size_t k = 0; k < n; ++k) data[k] = info->v_compdata[k].cx_real;
        }
        const std::string key = toLower(name);
        if (result.names.empty()) length = n;
        if (n != length || n == 0) {
          diag.kind = FailureKind::Aborted;
          diag.errorLines.push_back("vector " + key + " has " + std::to_string(n) +
                                    " points, expected " + std::to_string(length));
        }
        result.names.push_back(key);
        result.vectors.emplace(key, std::move(data));
      }
      if (result.names.empty()) {
        diag.kind = FailureKind::Aborted;
        diag.errorLines.emplace_back("plot " + result.plotName + " has no vectors");
      }
    }
  }

  result.acceptedPoints = s.accepted;
  result.rejectedByHook = s.rejected;
  const bool exited = s.exited;
  std::exception_ptr hookError = s.hookError;
  const bool interrupted = s.interrupted;

  cleanup();

  if (interrupted) throw Interrupted();

  if (hookError) {
    try {
      std::rethrow_exception(hookError);
    } catch (...) {
      std::string what = "a run hook threw";
      try {
        throw;
      } catch (const std::exception& e) {
        what += std::string(": ") + e.what();
      } catch (...) {
      }
      std::throw_with_nested(
          SpiceError(FailureKind::HookFailed, {}, 0, what, std::move(result.log)));
    }
  }
  if (exited && (!diag.kind || *diag.kind != FailureKind::ParseError)) {
    diag.kind = FailureKind::ControlledExit;
    diag.errorLines.emplace_back("ngspice requested detaching; a fresh instance will be loaded");
  }
  if (!diag.kind) return result;

  // Map the offending line back to the caller.
  int callerLine = 0;
  if (diag.sentLine > 0 && static_cast<std::size_t>(diag.sentLine) <= sent.size()) {
    callerLine = static_cast<int>(callerIndex[static_cast<std::size_t>(diag.sentLine - 1)]) + 1;
  } else if (!diag.echoedLine.empty()) {
    const std::string echo = normalizeLine(diag.echoedLine);
    for (std::size_t i = 1; i < netlist.size() && !echo.empty(); ++i) {
      const std::string line = normalizeLine(netlist[i]);
      if (!line.empty() && (line == echo || (line.size() > 4 && contains(echo, line)))) {
        callerLine = static_cast<int>(i) + 1;
        break;
      }
    }
  }
  SourceLocation where;
  if (callerLine > 0) {
    const auto idx = static_cast<std::size_t>(callerLine - 1);
    if (idx < options.lineMap.size() &&
        (!options.lineMap[idx].file.empty() || options.lineMap[idx].line > 0)) {
      where = options.lineMap[idx];
    } else {
      where = SourceLocation{"netlist", callerLine};
    }
  }
  throw SpiceError(*diag.kind, std::move(where), callerLine, joinLines(diag.errorLines),
                   std::move(result.log));
}

}  // namespace ecramsim::spice

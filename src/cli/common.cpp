#include "cli/common.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "core/error.hpp"
#include "core/units.hpp"

namespace ecramsim::cli {

Context& context() {
  static Context ctx;
  return ctx;
}

CLI::Validator wholeNumberAtLeast(long long min) {
  return CLI::Validator(
      [min](std::string& text) -> std::string {
        long long n = 0;
        if (!CLI::detail::lexical_cast(text, n)) {
          return "expected a whole number, got '" + echoToken(text) + "'";
        }
        return n >= min ? std::string{}
                        : "must be at least " + std::to_string(min) + " (got " + text + ")";
      },
      "INT>=" + std::to_string(min));
}

void addCommonFlags(CLI::App& cmd, CommonFlags& flags) {
  cmd.add_flag("--json", flags.json, "Print one JSON object (file and metrics) on stdout");
  cmd.add_flag("-q,--quiet", flags.quiet, "No progress messages on stderr");
}

namespace {
double parseQuantity(const std::string& name, const std::string& text) {
  const auto v = parseSpiceNumber(text);
  if (!v) {
    throw CLI::ValidationError(
        name, "malformed number '" + echoToken(text) + "' (SPICE syntax: 5, 2.5u, 100ms, 1e-3)");
  }
  return *v;
}
}  // namespace

CLI::Option* addQuantity(CLI::App& cmd, const std::string& name, double& target,
                         const std::string& unit, const std::string& help) {
  auto* opt = cmd.add_option_function<std::string>(
      name, [name, &target](const std::string& s) { target = parseQuantity(name, s); },
      help + " [" + unit + "]");
  opt->type_name("VALUE");
  opt->default_str(formatSpice(target, unit));
  return opt;
}

CLI::Option* addQuantityList(CLI::App& cmd, const std::string& name, std::vector<double>& target,
                             const std::string& unit, const std::string& help) {
  auto* opt = cmd.add_option_function<std::vector<std::string>>(
      name,
      [name, &target](const std::vector<std::string>& items) {
        target.clear();
        for (const auto& s : items) target.push_back(parseQuantity(name, s));
      },
      help + " [" + unit + ", comma-separated]");
  opt->delimiter(',');
  opt->type_name("LIST");
  std::string def;
  for (double v : target) def += (def.empty() ? "" : ",") + formatSpice(v, unit);
  opt->default_str(def);
  return opt;
}

void addArrayOptions(CLI::App& cmd, ArrayOptions& o, const CrossbarGeometry& defaults,
                     bool bias, bool threads) {
  o.r_seg = defaults.r_row_seg;
  o.r_drv = defaults.r_drv;
  cmd.add_option("--engine", o.engine,
                 "Array engine: nodal (Eigen nodal solver) or spice (ngspice co-simulation of the "
                 "generated crossbar netlist; slow, meant for cross-checks on arrays up to ~32x32)")
      ->check(CLI::IsMember({"nodal", "spice"}))
      ->default_str("nodal");
  addQuantity(cmd, "--r-seg,--r-line", o.r_seg, "Ohm", "Line resistance per cell segment, all lines");
  addQuantity(cmd, "--r-drv", o.r_drv, "Ohm", "Driver output resistance");
  cmd.add_flag("--ideal-lines", o.ideal_lines, "Zero line, driver and sense resistance");
  cmd.add_option("--wiring", o.wiring,
                 "Where the source lines run: source-rows (along the rows beside the gate lines; "
                 "the selected cell sees V at its drain end only) or source-cols (along the "
                 "columns beside the drain lines; a write holds each column's channel ends at "
                 "one potential, so the selected cell sees V along its whole channel, but the "
                 "array cannot be read: reads, VMMs and verify are refused). Example: "
                 "--wiring source-cols")
      ->check(CLI::IsMember({"source-rows", "source-cols"}))
      ->default_str("source-rows");
  if (bias) {
    cmd.add_option("--bias", o.bias, "Bias scheme: v2 (V/2) or v3 (V/3)")
        ->check(CLI::IsMember({"v2", "v3"}))
        ->default_str("v2");
    cmd.add_option("--unselected", o.unselected, "Unselected lines: grounded or floating")
        ->check(CLI::IsMember({"grounded", "floating"}))
        ->default_str("grounded");
    cmd.add_option("--write-solver", o.write_solver,
                   "Write network solver of the nodal engine: fast (reuses factorizations and "
                   "solutions between the segments of a write, re-evaluates only the gate "
                   "currents that changed) or exact (fresh Newton solve of every segment, the "
                   "reference; fast agrees with it to 0.02 % of the window). Example: "
                   "--write-solver exact")
        ->check(CLI::IsMember({"fast", "exact"}))
        ->default_str("fast");
  }
  if (threads) {
    cmd.add_option("--threads", o.threads,
                   "Threads of the fast write solver on arrays of 64 x 64 cells and more "
                   "(0: every core this process may run on, or OMP_NUM_THREADS). The results "
                   "do not depend on it. Example: --threads 1")
        ->check(wholeNumberAtLeast(0))
        ->default_str("0");
  }
}

void applyArrayOptions(const ArrayOptions& o, CrossbarGeometry& geo) {
  if (!(o.r_seg >= 0.0)) throw InputError({}, "--r-seg", "line resistance must be >= 0 Ohm");
  if (!(o.r_drv >= 0.0)) throw InputError({}, "--r-drv", "driver resistance must be >= 0 Ohm");
  geo.r_gate_seg = geo.r_row_seg = geo.r_col_seg = o.r_seg;
  geo.r_drv = o.r_drv;
  geo.wiring = parseWiring(o.wiring);
  if (o.ideal_lines) geo.r_gate_seg = geo.r_row_seg = geo.r_col_seg = geo.r_drv = geo.r_sense = 0.0;
}

BiasScheme biasScheme(const ArrayOptions& o) {
  return {o.bias == "v3" ? BiasFraction::Third : BiasFraction::Half,
          o.unselected == "floating" ? UnselectedLines::Floating : UnselectedLines::Grounded,
          parseWiring(o.wiring)};
}

WriteSolverKind writeSolverKind(const ArrayOptions& o) {
  return o.write_solver == "exact" ? WriteSolverKind::Exact : WriteSolverKind::Fast;
}

void StderrProgress::update(std::string_view stage, std::size_t done, std::size_t total) {
  if (quiet_) return;
  using clock = std::chrono::steady_clock;
  static const auto start = clock::now();
  const double now = std::chrono::duration<double>(clock::now() - start).count();
  if (stage != stage_) {
    stage_ = stage;
    stageStart_ = now;
  }
  if (done != total && now - lastPrint_ < 0.25) return;
  lastPrint_ = now;
  // The stage's remaining time at its mean rate so far, once a tenth of a second is measured.
  const double spent = now - stageStart_;
  if (done > 0 && done < total && spent > 0.1) {
    const double eta = spent * static_cast<double>(total - done) / static_cast<double>(done);
    std::fprintf(stderr, "[%.*s] %zu/%zu  (%.1f s, ETA %.0f s)\n",
                 static_cast<int>(stage.size()), stage.data(), done, total, now, eta);
    return;
  }
  std::fprintf(stderr, "[%.*s] %zu/%zu  (%.1f s)\n", static_cast<int>(stage.size()), stage.data(),
               done, total, now);
}

void StderrProgress::note(std::string_view message) {
  if (quiet_) return;
  std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());
}

void writeResult(const ResultTree& tree, const std::filesystem::path& path, std::uint64_t seed) {
  io::writeResultFile(tree, path, {context().commandLine, seed, io::isoTimeNow(), "complete",
                                   &globalCancelToken()});
}

void printJsonSummary(const std::filesystem::path& path, const ResultTree& tree) {
  std::cout << "{\"file\": " << jsonQuote(path.string()) << ", \"metrics\": " << tree.metricsJson()
            << "}" << std::endl;
}

void printMetrics(const ResultTree& tree) {
  std::size_t width = 0;
  for (const auto& m : tree.metrics()) width = std::max(width, m.name.size());
  for (const auto& m : tree.metrics()) {
    std::printf("  %-*s = %-14.6g %s\n", static_cast<int>(width), m.name.c_str(), m.value,
                m.unit.c_str());
  }
}

}  // namespace ecramsim::cli

/// `ecramsim model export` (issue 16, acceptance A-E). Each check states its tolerance; the
/// measured figures are printed with MESSAGE.

#include <doctest/doctest.h>

#include "../support/cli.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "app/run_job.hpp"
#include "core/rng.hpp"
#include "cosim/cosim.hpp"
#include "device/bench.hpp"
#include "device/physics.hpp"
#include "export/export.hpp"
#include "core/sha256.hpp"
#include "modelcard/ecram_table.hpp"
#include "modelcard/modelcard.hpp"
#include "netlist/crossbar.hpp"

namespace fs = std::filesystem;
using namespace ecramsim;
using namespace ecramsim::modelexport;

namespace {

const fs::path kModels = fs::path(ECRAMSIM_SOURCE_DIR) / "models";
const fs::path kDefaultCard = kModels / "wox_ysz.model";

fs::path scratch(const std::string& tag) {
  const fs::path dir =
      fs::temp_directory_path() / ("ecramsim_export_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string readText(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void writeText(const fs::path& file, const std::string& text) {
  std::ofstream out(file);
  out << text;
  REQUIRE(out.good());
}

/// Exit status of a shell command (its output goes to `log`).
int shell(const std::string& command, const fs::path& log) {
  const int st = std::system((command + " > '" + log.string() + "' 2>&1").c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::vector<fs::path> shippedCards() {
  std::vector<fs::path> cards;
  for (const fs::path& dir : {kModels, kModels / "windows"}) {
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".model") cards.push_back(e.path());
    }
  }
  std::sort(cards.begin(), cards.end());
  return cards;
}

/// Linear interpolation of (t, y) at tq, t increasing, clamped at the ends.
double interp(const std::vector<double>& t, const std::vector<double>& y, double tq) {
  if (tq <= t.front()) return y.front();
  if (tq >= t.back()) return y.back();
  const auto k = static_cast<std::size_t>(std::upper_bound(t.begin(), t.end(), tq) - t.begin());
  const double f = (tq - t[k - 1]) / (t[k] - t[k - 1]);
  return y[k - 1] + f * (y[k] - y[k - 1]);
}

/// The vectors of an ngspice binary rawfile (`ngspice -b -r FILE`), by lower-case name.
std::map<std::string, std::vector<double>> readRawfile(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string line;
  std::vector<std::string> names;
  std::size_t points = 0;
  while (std::getline(in, line) && line != "Binary:") {
    if (line.rfind("No. Points:", 0) == 0) points = std::stoul(line.substr(11));
    if (!line.empty() && line[0] == '\t') {
      std::istringstream f(line);
      std::string index, name;
      f >> index >> name;
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      names.push_back(name);
    }
  }
  REQUIRE(line == "Binary:");
  std::map<std::string, std::vector<double>> vectors;
  for (std::size_t k = 0; k < points; ++k) {
    for (const auto& n : names) {
      double v = 0.0;
      in.read(reinterpret_cast<char*>(&v), sizeof v);
      vectors[n].push_back(v);
    }
  }
  REQUIRE(in.good());
  return vectors;
}

/// Runs plain `ngspice -b bench.cir -r bench.raw` on `lines` (which include the exported
/// subcircuit) saving the state nodes of `instances` (lower-case X names); returns time, then
/// one x column per instance.
std::vector<std::vector<double>> runNgspice(const fs::path& dir,
                                            const std::vector<std::string>& lines,
                                            const std::vector<std::string>& instances) {
  std::string text;
  for (const auto& l : lines) {
    if (l == ".end") break;
    text += l + "\n";
  }
  text += ".save";
  for (const auto& n : instances) text += " v(" + n + ".x)";
  text += "\n.end\n";
  writeText(dir / "bench.cir", text);
  const int rc = shell("cd '" + dir.string() + "' && ngspice -b bench.cir -r bench.raw",
                       dir / "ngspice.log");
  INFO(readText(dir / "ngspice.log"));
  REQUIRE(rc == 0);
  auto vectors = readRawfile(dir / "bench.raw");
  std::vector<std::vector<double>> cols{vectors.at("time")};
  for (const auto& n : instances) cols.push_back(vectors.at("v(" + n + ".x)"));
  return cols;
}

/// Co-simulates `netlistText` (ecram instances of the default card, no variation) with
/// `ecramsim run`'s library path.
cosim::Result coSimulate(const fs::path& dir, const std::string& netlistText) {
  writeText(dir / "native.cir", netlistText);
  app::RunJob job;
  job.netlist = dir / "native.cir";
  job.model = kDefaultCard;
  job.noVariation = true;
  const app::PreparedRun prepared = app::prepareRun(job);
  return cosim::simulate(prepared.built.circuit, job.options);
}

/// The number after `key` in `text` (after position `from`).
double numberAfter(const std::string& text, const std::string& key, std::size_t from = 0) {
  const std::size_t at = text.find(key, from);
  REQUIRE_MESSAGE(at != std::string::npos, key);
  return std::stod(text.substr(at + key.size()));
}

std::vector<double> arrayAfter(const std::string& text, const std::string& key, std::size_t from) {
  const std::size_t at = text.find(key, from);
  REQUIRE(at != std::string::npos);
  const std::size_t open = text.find('[', at);
  const std::size_t close = text.find(']', open);
  std::string body = text.substr(open + 1, close - open - 1);
  std::replace(body.begin(), body.end(), ',', ' ');
  std::istringstream s(body);
  std::vector<double> v;
  double x = 0.0;
  while (s >> x) v.push_back(x);
  return v;
}

}  // namespace

TEST_CASE("sha256: FIPS 180-2 vectors and coreutils' sha256sum agree") {
  CHECK(sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const fs::path dir = scratch("sha");
  const fs::path log = dir / "sum.txt";
  REQUIRE(shell("sha256sum '" + kDefaultCard.string() + "'", log) == 0);
  CHECK(readText(log).substr(0, 64) == sha256Hex(readText(kDefaultCard)));
  fs::remove_all(dir);
}

TEST_CASE("acceptance A: admsXml parses the verilog-a export of every shipped card") {
  const fs::path dir = scratch("va");
  const auto cards = shippedCards();
  REQUIRE(cards.size() >= 10);
  for (const auto& file : cards) {
    const ModelCard card = loadModelCard(file);
    const std::string text = verilogAModule(card);
    CHECK(missingVerilogAParams(text).empty());
    const fs::path va = dir / (card.name + ".va");
    writeText(va, text);
    const int rc = shell("cd '" + dir.string() + "' && admsXml '" + va.filename().string() + "'",
                         dir / "adms.log");
    INFO(file.string() << ": " << readText(dir / "adms.log"));
    CHECK(rc == 0);
  }
  MESSAGE("A: admsXml parsed the verilog-a export of " << cards.size() << " cards");
  // admsXml itself fails on a broken module (so the check above can fail).
  const std::string bad = verilogAModule(loadModelCard(kDefaultCard));
  std::string broken = bad;
  broken.replace(broken.find("rate = iion"), 11, "rate = = iion");
  writeText(dir / "broken.va", broken);
  CHECK(shell("cd '" + dir.string() + "' && admsXml broken.va", dir / "adms.log") != 0);
  fs::remove_all(dir);
}

TEST_CASE("acceptance A: a parameter of the table missing from the module is found") {
  const std::string text = verilogAModule(loadModelCard(kDefaultCard));
  const fs::path dir = scratch("va_missing");
  for (const auto& spec : ecramParamTable()) {
    const std::string decl = "parameter real " + std::string(spec.key) + " =";
    const std::size_t at = text.find(decl);
    REQUIRE(at != std::string::npos);
    std::string cut = text;
    cut.erase(at, cut.find('\n', at) - at);
    CHECK(missingVerilogAParams(cut) == std::vector<std::string>{std::string(spec.key)});
    // A parameter the equations use is also an undeclared identifier to admsXml.
    const bool used = text.find(std::string(spec.key) + " ", text.find("analog begin")) !=
                          std::string::npos ||
                      text.find(std::string(spec.key) + ")", text.find("analog begin")) !=
                          std::string::npos ||
                      text.find(std::string(spec.key) + ";", text.find("analog begin")) !=
                          std::string::npos;
    if (used) {
      writeText(dir / "cut.va", cut);
      CHECK_MESSAGE(shell("cd '" + dir.string() + "' && admsXml cut.va", dir / "adms.log") != 0,
                    spec.key);
    }
  }
  fs::remove_all(dir);
}

TEST_CASE("acceptance B: spice subcircuit in plain ngspice against the co-simulated cell") {
  // 20 up and 20 down +-5 V / 100 ms pulses, period 200 ms, drain read bias 0.1 V; default card
  // without variation. Tolerance: 0.5 % of the G range at every sample of both grids.
  const fs::path dir = scratch("b1");
  ModelCard card = loadModelCard(kDefaultCard);
  writeText(dir / "ecram.sub", spiceSubcircuit(card));
  const std::vector<std::string> drive{
      "Vup gu 0 PULSE(0 5 10m 1u 1u 100m 200m 20)", "Vdn g gu PULSE(0 -5 4.01 1u 1u 100m 200m 20)",
      "Vd d 0 DC 0.1", ".tran 1m 8.02"};
  std::vector<std::string> native{"export acceptance B: one native cell"};
  native.insert(native.end(), drive.begin(), drive.end());
  native.push_back("N1 g d 0 wox_ysz");
  native.push_back(".end");
  std::string nativeText;
  for (const auto& l : native) nativeText += l + "\n";
  const cosim::Result co = coSimulate(dir, nativeText);
  const std::vector<double> gCo = co.cellColumn(co.g_s, 0);

  std::vector<std::string> sub{"export acceptance B: the exported subcircuit",
                               ".include ecram.sub"};
  sub.insert(sub.end(), drive.begin(), drive.end());
  sub.push_back("X1 g d 0 ecram");
  sub.push_back(".end");
  const auto cols = runNgspice(dir, sub, {"x1"});
  const CellParams p = cellParams(card.params);
  std::vector<double> gSub;
  for (double x : cols[1]) gSub.push_back(physics::conductance(p, x));
  const double range = *std::max_element(gCo.begin(), gCo.end()) -
                       *std::min_element(gCo.begin(), gCo.end());
  REQUIRE(range > 0.1 * (p.gmax - p.gmin));
  double worst = 0.0;
  for (std::size_t k = 0; k < co.points(); ++k) {
    worst = std::max(worst, std::abs(gCo[k] - interp(cols[0], gSub, co.time_s[k])));
  }
  for (std::size_t k = 0; k < cols[0].size(); ++k) {
    worst = std::max(worst, std::abs(interp(co.time_s, gCo, cols[0][k]) - gSub[k]));
  }
  MESSAGE("B (cell): max |G_ngspice - G_cosim| = " << worst << " S = " << 100.0 * worst / range
                                                    << " % of the G range " << range << " S");
  CHECK(worst <= 0.005 * range);
  fs::remove_all(dir);
}

TEST_CASE("acceptance B: 4x4 array of subcircuits against the co-simulated array, one V/2 pulse") {
  // Cell (1,2) selected, +5 V / 100 ms under V/2, 10 Ohm line segments, 100 Ohm drivers.
  // Tolerance: every cell's dG within 1 % of the selected cell's dG.
  const fs::path dir = scratch("b4");
  const ModelCard card = loadModelCard(kDefaultCard);
  writeText(dir / "ecram.sub", spiceSubcircuit(card));
  netlist::CrossbarSpec spec;
  spec.rows = spec.cols = 4;
  spec.model = "wox_ysz";
  spec.analysis = ".tran 1m 0.11";
  spec.gateSegment_ohm = spec.sourceSegment_ohm = spec.drainSegment_ohm = 10.0;
  spec.driverResistance_ohm = 100.0;
  netlist::ProgramSpec prog;
  prog.row = 1;
  prog.col = 2;
  prog.delay_s = 1e-3;
  spec.program = prog;
  const std::vector<std::string> lines = netlist::crossbarLines(spec);
  std::string nativeText;
  std::vector<std::string> sub;
  std::vector<std::string> instances;
  for (const auto& l : lines) {
    nativeText += l + "\n";
    if (!l.empty() && (l[0] == 'N' || l[0] == 'n')) {
      std::istringstream f(l);
      std::string name, g, d, s;
      f >> name >> g >> d >> s;
      sub.push_back("X" + name + " " + g + " " + d + " " + s + " ecram");
      std::string lower = "x" + name;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      instances.push_back(lower);
    } else {
      sub.push_back(l);
      if (sub.size() == 1) sub.push_back(".include ecram.sub");
    }
  }
  REQUIRE(instances.size() == 16);
  const cosim::Result co = coSimulate(dir, nativeText);
  const auto cols = runNgspice(dir, sub, instances);
  const CellParams p = cellParams(card.params);
  std::map<std::string, double> dgCo;
  for (std::size_t j = 0; j < co.cellNames.size(); ++j) {
    const auto g = co.cellColumn(co.g_s, j);
    dgCo["x" + co.cellNames[j]] = g.back() - g.front();
  }
  double selected = 0.0;
  double worst = 0.0;
  for (std::size_t j = 0; j < instances.size(); ++j) {
    const auto& x = cols[j + 1];
    const double dg = physics::conductance(p, x.back()) - physics::conductance(p, x.front());
    REQUIRE(dgCo.count(instances[j]) == 1);
    if (instances[j] == "xn1_2") selected = dgCo[instances[j]];
    worst = std::max(worst, std::abs(dg - dgCo[instances[j]]));
  }
  REQUIRE(selected > 0.0);
  MESSAGE("B (4x4): selected dG " << selected << " S; max |dG_ngspice - dG_cosim| over the 16 "
                                  << "cells = " << 100.0 * worst / selected
                                  << " % of the selected dG");
  CHECK(worst <= 0.01 * selected);
  fs::remove_all(dir);
}

TEST_CASE("spice: every shipped card and the structural variants follow the single-device bench") {
  // 5 up and 5 down +-5 V / 100 ms pulses (period 200 ms), then 100 s with the gate grounded;
  // drain and source grounded. ngspice -b of the subcircuit against device/bench.hpp (Odeint)
  // after every pulse and after the hold. Variants: rs = 0 and tau_ret > 0 change the
  // subcircuit's structure; x0, c3 and p = 0 its values. Tolerance: 1 % of the largest state
  // excursion of the run.
  const fs::path dir = scratch("cards");
  std::vector<std::pair<ModelCard, std::string>> cards;
  for (const auto& file : shippedCards()) cards.emplace_back(loadModelCard(file), "");
  const std::vector<std::pair<std::string, std::string>> variants{
      {"rs", "0"}, {"tau_ret", "20"}, {"x0", "0.6"}, {"c3", "0.5"}, {"p_up", "0"}};
  for (const auto& [key, text] : variants) {
    ModelCard c = loadModelCard(kDefaultCard);
    setCardParam(c, key, text, {"variant", 0});
    cards.emplace_back(c, key + "=" + text);
  }
  double worstRel = 0.0;
  for (const auto& [card, variant] : cards) {
    writeText(dir / "ecram.sub", spiceSubcircuit(card));
    const auto cols = runNgspice(
        dir,
        {"spice export bench", ".include ecram.sub", "X1 g 0 0 ecram",
         "Vup gu 0 PULSE(0 5 10m 1u 1u 100m 200m 5)", "Vdn g gu PULSE(0 -5 1.01 1u 1u 100m 200m 5)",
         ".tran 10m 102.01 0 50m", ".end"},
        {"x1"});
    EcramParams params = card.params;
    params.dg_c2c = 0.0;
    Rng rng(1);
    CellBench bench(params, DeviceVariation{}, rng);
    std::vector<std::pair<double, double>> expected;  // (time, x)
    bench.idle(0.01, GateMode::Grounded);
    for (double v : {5.0, -5.0}) {
      for (int k = 0; k < 5; ++k) {
        bench.pulse(v, 0.1);
        bench.idle(0.1, GateMode::Grounded);
        expected.emplace_back(bench.time(), bench.x());
      }
    }
    bench.idle(100.0, GateMode::Grounded);
    expected.emplace_back(bench.time(), bench.x());
    double excursion = 0.0;
    double worst = 0.0;
    for (const auto& [t, x] : expected) {
      excursion = std::max(excursion, std::abs(x - params.x0));
      worst = std::max(worst, std::abs(interp(cols[0], cols[1], t) - x));
    }
    INFO(card.name << " " << variant << ": excursion " << excursion << ", worst " << worst);
    REQUIRE(excursion > 1e-3);
    CHECK(worst <= 0.01 * excursion);
    worstRel = std::max(worstRel, worst / excursion);
  }
  MESSAGE("spice: " << cards.size() << " cards and variants, max |x_ngspice - x_bench| = "
                    << 100.0 * worstRel << " % of the run's state excursion");
  fs::remove_all(dir);
}

TEST_CASE("acceptance C: aihwkit PiecewiseStepDevice rule reproduces the 100-up/100-down trace") {
  // aihwkit's PiecewiseStepDevice (aihwkit docs, "PiecewiseStepDevice"; rpu_piecewisestep_device):
  // an up pulse adds dw_min (1 + up_down) * s_up(w), a down pulse subtracts
  // dw_min (1 - up_down) * s_down(w), s interpolated linearly between the piecewise_up/down
  // nodes spaced evenly over [w_min, w_max]; w is clipped to [w_min, w_max]. Tolerance: 3 % of
  // the window, on every shipped card.
  for (const auto& file : shippedCards()) {
    const ModelCard card = loadModelCard(file);
    const PulseProtocol pr;
    const auto files = aihwkitConfig(card, pr);
    const std::string& json = files.at(0).text;
    const std::size_t at = json.find("\"PiecewiseStepDevice\"");
    REQUIRE(at != std::string::npos);
    const double dwMin = numberAfter(json, "\"dw_min\": ", at);
    const double upDown = numberAfter(json, "\"up_down\": ", at);
    const double wMin = numberAfter(json, "\"w_min\": ", at);
    const double wMax = numberAfter(json, "\"w_max\": ", at);
    const auto up = arrayAfter(json, "\"piecewise_up\"", at);
    const auto dn = arrayAfter(json, "\"piecewise_down\"", at);
    const double gLo = numberAfter(json, "\"g_at_w_minus_1_s\": ");
    const double gHi = numberAfter(json, "\"g_at_w_plus_1_s\": ");
    auto scale = [&](const std::vector<double>& nodes, double w) {
      const double pos = (w - wMin) / (wMax - wMin) * static_cast<double>(nodes.size() - 1);
      const auto i = static_cast<std::size_t>(std::clamp(std::floor(pos), 0.0,
                                                         static_cast<double>(nodes.size() - 2)));
      const double t = pos - static_cast<double>(i);
      return (1.0 - t) * nodes[i] + t * nodes[i + 1];
    };
    const std::vector<double> trace = pulseTrace(card.params, pr);
    double w = 2.0 * (trace.front() - gLo) / (gHi - gLo) - 1.0;
    double worst = 0.0;
    for (std::size_t k = 1; k < trace.size(); ++k) {
      const bool upPulse = k <= static_cast<std::size_t>(pr.pulses);
      w += upPulse ? dwMin * (1.0 + upDown) * scale(up, w) : -dwMin * (1.0 - upDown) * scale(dn, w);
      w = std::clamp(w, wMin, wMax);
      const double g = gLo + 0.5 * (w + 1.0) * (gHi - gLo);
      worst = std::max(worst, std::abs(g - trace[k]));
    }
    const double window = gHi - gLo;
    MESSAGE("C (aihwkit PiecewiseStep, " << card.name << "): max |G_rule - G_card| = "
                                          << 100.0 * worst / window << " % of the window");
    CHECK(worst <= 0.03 * window);
    // SoftBoundsReference, for the record.
    const std::size_t sb = json.find("\"SoftBoundsReferenceDevice\"");
    const double sDw = numberAfter(json, "\"dw_min\": ", sb);
    const double sUd = numberAfter(json, "\"up_down\": ", sb);
    const double sMin = numberAfter(json, "\"w_min\": ", sb);
    const double sMax = numberAfter(json, "\"w_max\": ", sb);
    w = 2.0 * (trace.front() - gLo) / (gHi - gLo) - 1.0;
    double worstSb = 0.0;
    for (std::size_t k = 1; k < trace.size(); ++k) {
      const bool upPulse = k <= static_cast<std::size_t>(pr.pulses);
      w += upPulse ? sDw * (1.0 + sUd) * (1.0 - w / sMax) : -sDw * (1.0 - sUd) * (1.0 - w / sMin);
      w = std::clamp(w, sMin, sMax);
      worstSb = std::max(worstSb, std::abs(gLo + 0.5 * (w + 1.0) * window - trace[k]));
    }
    MESSAGE("C (aihwkit SoftBoundsReference, " << card.name << ", not checked): max deviation "
            << 100.0 * worstSb / window << " % of the window");
  }
}

TEST_CASE("acceptance C: NeuroSim's exponential rule reproduces the 100-up/100-down trace") {
  // NeuroSim (MLP+NeuroSim Cell.cpp, RealDevice::Write; NeuroSim manual): G(P) = B (1 -
  // exp(-P/A)) + Gmin, B = (Gmax - Gmin) / (1 - exp(-maxNumLevel/A)); a pulse takes P from the
  // inverse of the present G to P +- 1 on the LTP (LTD) curve, G clipped to [Gmin, Gmax].
  // Tolerance: 3 % of the window, on every shipped card but one (below).
  for (const auto& cardFile : shippedCards()) {
    const ModelCard card = loadModelCard(cardFile);
    const PulseProtocol pr;
    const ExportFile file = neuroSimParams(card, pr);
    const std::string& text = file.text;
    const double gMax = numberAfter(text, "maxConductance = ");
    const double gMin = numberAfter(text, "minConductance = ");
    const double nLtp = numberAfter(text, "maxNumLevelLTP = ");
    const double nLtd = numberAfter(text, "maxNumLevelLTD = ");
    const double aLtp = numberAfter(text, "paramALTP = ");
    const double aLtd = numberAfter(text, "paramALTD = ");
    auto curve = [&](double pulses, double a, double n) {
      const double b = (gMax - gMin) / (1.0 - std::exp(-n / a));
      return b * (1.0 - std::exp(-pulses / a)) + gMin;
    };
    auto inverse = [&](double g, double a, double n) {
      const double b = (gMax - gMin) / (1.0 - std::exp(-n / a));
      return -a * std::log(1.0 - (g - gMin) / b);
    };
    const std::vector<double> trace = pulseTrace(card.params, pr);
    double g = trace.front();
    double worst = 0.0;
    double sumSq[2] = {0.0, 0.0};
    for (std::size_t k = 1; k < trace.size(); ++k) {
      const bool upPulse = k <= static_cast<std::size_t>(pr.pulses);
      const double a = upPulse ? aLtp : aLtd;
      const double n = upPulse ? nLtp : nLtd;
      g = std::clamp(curve(inverse(g, a, n) + (upPulse ? 1.0 : -1.0), a, n), gMin, gMax);
      worst = std::max(worst, std::abs(g - trace[k]));
      sumSq[upPulse ? 0 : 1] += (g - trace[k]) * (g - trace[k]);
    }
    const double window = *std::max_element(trace.begin(), trace.end()) -
                          *std::min_element(trace.begin(), trace.end());
    MESSAGE("C (NeuroSim, " << card.name << "): A_LTP " << aLtp << ", A_LTD " << aLtd
                            << ", maxNumLevelLTD " << nLtd << "; max |G_rule - G_card| = "
                            << 100.0 * worst / window << " % of the window");
    // strong_nonlinear's (1 - x)^3 and x^3 soft bounds are power laws that NeuroSim's single
    // exponential cannot follow (measured 7.3 %); it is held to 10 % so a worse fit still fails,
    // and its file must say that the fit is poor.
    CHECK(worst <= (card.name == "strong_nonlinear" ? 0.10 : 0.03) * window);
    // The file's own fit figures (3 significant digits) equal this replay's RMSE per branch.
    const double rmse[2] = {100.0 * std::sqrt(sumSq[0] / pr.pulses) / window,
                            100.0 * std::sqrt(sumSq[1] / pr.pulses) / window};
    const auto fitAt = text.find("misses the card's trace by an RMSE of\n// ");
    REQUIRE(fitAt != std::string::npos);
    const double stated[2] = {numberAfter(text, "RMSE of\n// ", fitAt),
                              numberAfter(text, "(LTP) and ", fitAt)};
    for (int b = 0; b < 2; ++b) CHECK(stated[b] == doctest::Approx(rmse[b]).epsilon(6e-3));
    const bool poor = rmse[0] > 3.0 || rmse[1] > 3.0;
    const bool capped = nLtp >= 1e6 || nLtd >= 1e6;
    CHECK(file.warnings.empty() == !(poor || capped));
    CHECK((text.find("// WARNING: ") != std::string::npos) == (poor || capped));
    if (card.name == "strong_nonlinear") CHECK(poor);
    // sigmaCtoC is dg_c2c times the mean LTP step, in S.
    const double step = std::abs(trace[pr.pulses] - trace[0]) / pr.pulses;
    CHECK(numberAfter(text, "\nsigmaCtoC = ") ==
          doctest::Approx(card.params.dg_c2c * step).epsilon(1e-12));
  }
}

TEST_CASE("acceptance D: crosssim-lut median dG against G matches the simulated pulse response") {
  // The median row (CDF 0.5) of each table against the noise-free trace's step at the same G
  // (bins inside the branch's range). Tolerance: 2 % of the largest step, on every shipped card.
  for (const auto& file : shippedCards()) {
    const ModelCard card = loadModelCard(file);
    const PulseProtocol pr;
    const auto files = crossSimLut(card, pr);
    REQUIRE(files.size() == 2);
    const std::vector<double> trace = pulseTrace(card.params, pr);
    const auto n = static_cast<std::size_t>(pr.pulses);
    double largest = 0.0;
    for (std::size_t k = 0; k + 1 < trace.size(); ++k) {
      largest = std::max(largest, std::abs(trace[k + 1] - trace[k]));
    }
    for (std::size_t f = 0; f < 2; ++f) {
      std::istringstream in(files[f].text);
      std::vector<std::vector<double>> rows;
      std::string line;
      while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream s(line);
        std::vector<double> r;
        double v = 0.0;
        while (s >> v) r.push_back(v);
        rows.push_back(r);
      }
      const auto& bins = rows.at(0);
      const auto& cdf = rows.at(1);
      REQUIRE(rows.size() == cdf.size() + 2);
      const auto mid =
          static_cast<std::size_t>(std::find(cdf.begin(), cdf.end(), 0.5) - cdf.begin());
      REQUIRE(mid < cdf.size());
      // The branch as (G before the pulse, step), increasing in G.
      std::vector<std::pair<double, double>> pts;
      for (std::size_t k = f * n; k < (f + 1) * n; ++k) {
        pts.emplace_back(trace[k], trace[k + 1] - trace[k]);
      }
      std::sort(pts.begin(), pts.end());
      std::vector<double> gs, steps;
      for (const auto& [g, dg] : pts) {
        if (gs.empty() || g > gs.back()) {
          gs.push_back(g);
          steps.push_back(dg);
        }
      }
      double worst = 0.0;
      int compared = 0;
      for (std::size_t b = 0; b < bins.size(); ++b) {
        if (bins[b] < gs.front() || bins[b] > gs.back()) continue;
        worst = std::max(worst, std::abs(rows[2 + mid][b] - interp(gs, steps, bins[b])));
        ++compared;
      }
      MESSAGE("D (" << card.name << ", " << files[f].name << "): " << compared
                    << " bins, max |median dG - dG_card| = "
                    << 100.0 * worst / largest << " % of the largest step " << largest << " S");
      CHECK(compared >= 8);
      CHECK(worst <= 0.02 * largest);
    }
  }
}

TEST_CASE("acceptance E: exported files start with the provenance header, bad input exits 2") {
  const fs::path dir = scratch("e");
  const std::string sha = sha256Hex(readText(kDefaultCard));
  const std::string card = "'" + kDefaultCard.string() + "'";
  for (auto name : formatNames()) {
    const fs::path out = dir / std::string(name);
    const auto r = test::run("model export " + card + " --format " + std::string(name) + " -o '" +
                             (name == "aihwkit" ? out.string() + ".json" : out.string()) + "'");
    INFO(name << ": " << r.output);
    REQUIRE(r.status == 0);
  }
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    ++files;
    std::ifstream in(e.path());
    std::string head, line;
    for (int i = 0; i < 3 && std::getline(in, line); ++i) head += line + "\n";
    INFO(e.path().string() << ":\n" << head);
    CHECK(head.find(std::string("ecramsim ") + ECRAMSIM_VERSION + " model export") !=
          std::string::npos);
    CHECK(head.find("wox_ysz") != std::string::npos);
    CHECK(head.find(sha) != std::string::npos);
  }
  CHECK(files == 7);  // spice, verilog-a, neurosim, 2 aihwkit, 2 crosssim-lut
  // The aihwkit JSON is JSON and its snippet is Python.
  const std::string check = std::string(ECRAMSIM_PYTHON) +
                            " -c \"import ast, json, sys; json.load(open(sys.argv[1])); "
                            "ast.parse(open(sys.argv[2]).read())\" '" +
                            (dir / "aihwkit.json").string() + "' '" +
                            (dir / "aihwkit.py").string() + "'";
  CHECK(shell(check, dir / "python.log") == 0);
  // A poor NeuroSim fit is written, and said on stderr.
  const fs::path strong = kModels / "strong_nonlinear.model";
  const auto warned = test::run("model export '" + strong.string() + "' --format neurosim -o '" +
                                (dir / "strong_neurosim.cpp").string() + "'");
  CHECK(warned.status == 0);
  CHECK(warned.output.find("warning: neurosim: the LTD branch of strong_nonlinear") !=
        std::string::npos);
  CHECK(fs::exists(dir / "strong_neurosim.cpp"));
  // Bad input: exit 2 and no file.
  const fs::path bad = dir / "bad.model";
  writeText(bad, ".model bad ecram (gmin=2u gmax=1u)\n");
  const fs::path none = dir / "none";
  auto r = test::run("model export '" + bad.string() + "' --format spice -o '" + none.string() +
                     "'");
  CHECK(r.status == 2);
  CHECK(r.output.find("gmax") != std::string::npos);
  r = test::run("model export " + card + " --format hspice -o '" + none.string() + "'");
  CHECK(r.status == 2);
  CHECK(r.output.find("hspice") != std::string::npos);
  r = test::run("model export '" + (dir / "missing.model").string() + "' --format spice -o '" +
                none.string() + "'");
  CHECK(r.status == 2);
  r = test::run("model export " + card + " --format neurosim --amplitude 0.1 -o '" +
                none.string() + "'");  // no pulse response to fit
  CHECK(r.status == 2);
  CHECK(r.output.find("--amplitude") != std::string::npos);
  r = test::run("model export " + card + " --format crosssim-lut");  // needs -o
  CHECK(r.status == 2);
  CHECK_FALSE(fs::exists(none));
  fs::remove_all(dir);
}

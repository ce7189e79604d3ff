#include "cosim/stub.hpp"

#include <cctype>
#include <set>

#include "core/units.hpp"
#include "device/physics.hpp"

namespace ecramsim::cosim {

namespace {

constexpr std::string_view kPrefix = "ecr_";

std::string num(double v) { return formatExact(v); }

/// "v(a)" or "0" for ground.
std::string volt(const std::string& node) { return node == "0" ? std::string("0") : "v(" + node + ")"; }

/// "(v(a) - v(b))" with ground terms left out.
std::string vdiff(const std::string& a, const std::string& b) {
  if (b == "0") return volt(a);
  if (a == "0") return "(-" + volt(b) + ")";
  return "(" + volt(a) + " - " + volt(b) + ")";
}

std::string internal(const Cell& c, const char* what) {
  return std::string(kPrefix) + c.name + "_" + what;
}

/// Writes a series resistor of `ohm` from the gate to `inner` (branch form for a floating gate).
void seriesResistor(const Cell& c, const std::string& tag, const std::string& inner, double ohm,
                    std::vector<std::string>& out) {
  const std::string rName = internal(c, ("r" + tag).c_str());
  if (c.gate_floats) {
    out.push_back("h" + rName + " " + c.gate + " m" + rName + " v" + rName + " " + num(ohm));
    out.push_back("v" + rName + " m" + rName + " " + inner + " dc 0");
  } else {
    out.push_back("r" + rName + " " + c.gate + " " + inner + " " + num(ohm));
  }
}

/// GateModel::TwoPoint: per channel end a resistor 2 rs and 0.5 i0 sinh.
void twoPointGate(const Cell& c, std::vector<std::string>& out) {
  const CellParams& p = c.params;
  const std::string uoc = internal(c, "uoc");
  for (const auto& [tag, end] : {std::pair<std::string, std::string>{"s", c.source},
                                 std::pair<std::string, std::string>{"d", c.drain}}) {
    std::string inner = c.gate;
    if (p.rs > 0.0) {
      inner = internal(c, ("g" + tag).c_str());
      seriesResistor(c, tag, inner, 2.0 * p.rs, out);
    }
    out.push_back("b" + internal(c, ("f" + tag).c_str()) + " " + inner + " " + end + " i = " +
                  num(0.5 * p.i0) + " * sinh((" + vdiff(inner, end) + " - v(" + uoc + ")) / " +
                  num(p.v0) + ")");
  }
}

/// Distributed gate, rs > 0: per Gauss-Legendre node k (fraction xi_k of the channel from the
/// source, weight w_k) a resistor rs / w_k to an inner node and a Faradaic current
/// w_k i0 sinh((v(inner) - v_ch(xi_k) - U_oc) / v0), v_ch = (1 - xi_k) v(s) + xi_k v(d), drawn
/// (1 - xi_k) into the source and xi_k into the drain: physics::gateQuadrature.
void quadratureGate(const Cell& c, std::vector<std::string>& out) {
  const CellParams& p = c.params;
  const std::string uoc = internal(c, "uoc");
  const physics::GaussRule& rule = physics::gaussRule(p.gate_points);
  for (std::size_t k = 0; k < rule.node.size(); ++k) {
    const double xi = rule.node[k], w = rule.weight[k];
    const std::string tag = std::to_string(k);
    const std::string inner = internal(c, ("g" + tag).c_str());
    seriesResistor(c, tag, inner, p.rs / w, out);
    std::string channel = "0";
    if (c.source != "0" && c.drain != "0") {
      channel = "(" + num(1.0 - xi) + " * " + volt(c.source) + " + " + num(xi) + " * " +
                volt(c.drain) + ")";
    } else if (c.source != "0") {
      channel = "(" + num(1.0 - xi) + " * " + volt(c.source) + ")";
    } else if (c.drain != "0") {
      channel = "(" + num(xi) + " * " + volt(c.drain) + ")";
    }
    const std::string arg = "sinh((" + volt(inner) + " - " + channel + " - v(" + uoc + ")) / " +
                            num(p.v0) + ")";
    out.push_back("b" + internal(c, ("f" + tag + "s").c_str()) + " " + inner + " " + c.source +
                  " i = " + num((1.0 - xi) * w * p.i0) + " * " + arg);
    out.push_back("b" + internal(c, ("f" + tag + "d").c_str()) + " " + inner + " " + c.drain +
                  " i = " + num(xi * w * p.i0) + " * " + arg);
  }
}

/// Distributed gate, rs = 0: physics::gateClosedForm as two currents, gate to source and gate
/// to drain, with the series of sinhc and gateMoment where their closed forms cancel.
void closedFormGate(const Cell& c, std::vector<std::string>& out) {
  const CellParams& p = c.params;
  const std::string us = vdiff(c.gate, c.source), ud = vdiff(c.gate, c.drain);
  const std::string m = "((0.5 * (" + us + " + " + ud + ") - v(" + internal(c, "uoc") + ")) / " +
                        num(p.v0) + ")";
  const std::string h = "((" + us + " - " + ud + ") / " + num(2.0 * p.v0) + ")";
  const std::string sinhc = "(abs(" + h + ") < 0.001 ? 1 + " + h + " * " + h + " * (" +
                            num(1.0 / 6.0) + " + " + h + " * " + h + " / 120) : sinh(" + h +
                            ") / " + h + ")";
  // Horner form of the series: h (c_1 + h^2 (c_2 + ... + h^2 c_8)), c_k = k / (2k+1)!.
  std::vector<double> coef;
  double factorial = 6.0;
  for (int k = 1; k <= 8; ++k) {
    coef.push_back(k / factorial);
    factorial *= (2.0 * k + 2.0) * (2.0 * k + 3.0);
  }
  std::string series = num(coef.back());
  for (std::size_t k = coef.size() - 1; k-- > 0;) {
    series = num(coef[k]) + " + " + h + " * " + h + " * (" + series + ")";
  }
  series = h + " * (" + series + ")";
  const std::string moment = "(abs(" + h + ") < 0.5 ? " + series + " : (" + h + " * cosh(" + h +
                             ") - sinh(" + h + ")) / (2 * " + h + " * " + h + "))";
  const std::string half = num(0.5 * p.i0) + " * sinh(" + m + ") * " + sinhc;
  const std::string mom = num(p.i0) + " * cosh(" + m + ") * " + moment;
  out.push_back("b" + internal(c, "fs") + " " + c.gate + " " + c.source + " i = " + half + " + " +
                mom);
  out.push_back("b" + internal(c, "fd") + " " + c.gate + " " + c.drain + " i = " + half + " - " +
                mom);
}

}  // namespace

std::vector<std::string> lineFields(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : line) {
    if (std::isspace(static_cast<unsigned char>(ch)) || ch == '(' || ch == ')' || ch == ',' ||
        ch == '=') {
      if (!cur.empty()) out.push_back(toLower(cur));
      cur.clear();
    } else {
      cur += ch;
    }
  }
  if (!cur.empty()) out.push_back(toLower(cur));
  return out;
}

std::string conductanceSource(const Cell& cell) { return "v" + internal(cell, "gx"); }
std::string potentialSource(const Cell& cell) { return "v" + internal(cell, "uoc"); }

bool isStubName(std::string_view n) {
  if (n.rfind(kPrefix, 0) == 0) return true;
  // element names: one type letter, then the prefix
  return n.size() > kPrefix.size() && n.substr(1, kPrefix.size()) == kPrefix;
}

std::vector<std::string> stubLines(const Cell& c) {
  const CellParams& p = c.params;
  const std::string gx = internal(c, "gx");
  const std::string uoc = internal(c, "uoc");
  std::vector<std::string> out;
  out.push_back("* ecram " + c.name + " (" + c.gate + " " + c.drain + " " + c.source + " " +
                c.model + "): ecramsim stub, state in C++");
  out.push_back(conductanceSource(c) + " " + gx + " 0 external");
  out.push_back(potentialSource(c) + " " + uoc + " 0 external");
  const std::string vds = vdiff(c.drain, c.source);
  std::string ch = "b" + internal(c, "ch") + " " + c.drain + " " + c.source + " i = v(" + gx +
                   ") * " + vds;
  if (p.c3 != 0.0) ch += " * (1 + " + num(p.c3) + " * " + vds + " * " + vds + ")";
  out.push_back(ch);
  const struct {
    const char* tag;
    const std::string& end;
  } halves[] = {{"s", c.source}, {"d", c.drain}};
  if (p.gate == GateModel::TwoPoint) {
    twoPointGate(c, out);
  } else if (p.rs > 0.0) {
    quadratureGate(c, out);
  } else {
    closedFormGate(c, out);
  }
  for (const auto& h : halves) {
    out.push_back("r" + internal(c, (std::string("l") + h.tag).c_str()) + " " + c.gate + " " +
                  h.end + " " + num(2.0 * p.r_leak));
  }
  for (const auto& h : halves) {
    out.push_back("c" + internal(c, (std::string("c") + h.tag).c_str()) + " " + c.gate + " " +
                  h.end + " " + num(0.5 * p.c_dl));
  }
  return out;
}

Expanded expand(const Circuit& circuit) {
  if (circuit.lines.size() < 2) throw InputError("co-simulation: the netlist is empty");
  // The reserved prefix must not appear in the user's lines (element or node names).
  for (std::size_t i = 1; i < circuit.lines.size(); ++i) {
    for (const auto& w : lineFields(circuit.lines[i])) {
      if (isStubName(w) && w.find(kPrefix) != std::string::npos) {
        const SourceLocation where = i < circuit.lineMap.size() ? circuit.lineMap[i] : SourceLocation{};
        throw InputError(where, w, "names starting with 'ecr_' are reserved for the ECRAM stubs");
      }
    }
  }
  std::set<std::string> seen;
  for (const auto& c : circuit.cells) {
    if (c.name.empty() || c.gate.empty() || c.drain.empty() || c.source.empty()) {
      throw InputError(c.origin, c.name, "an ecram cell needs a name and three nodes");
    }
    if (!seen.insert(c.name).second) throw InputError(c.origin, c.name, "duplicate cell name");
  }
  bool hasSave = false;
  std::size_t endIndex = circuit.lines.size() - 1;
  for (std::size_t i = 1; i < circuit.lines.size(); ++i) {
    const auto w = lineFields(circuit.lines[i]);
    if (w.empty()) continue;
    if (w[0] == ".save") hasSave = true;
    if (w[0] == ".end") {
      endIndex = i;
      break;
    }
  }
  auto origin = [&](std::size_t i) {
    return i < circuit.lineMap.size() ? circuit.lineMap[i] : SourceLocation{};
  };
  Expanded out;
  for (std::size_t i = 0; i < endIndex; ++i) {
    out.lines.push_back(circuit.lines[i]);
    out.lineMap.push_back(origin(i));
  }
  for (const auto& c : circuit.cells) {
    for (auto& l : stubLines(c)) {
      out.lines.push_back(std::move(l));
      out.lineMap.push_back(c.origin);
    }
    if (hasSave) {
      std::string save = ".save";
      for (const auto* n : {&c.gate, &c.drain, &c.source}) {
        if (*n != "0") save += " v(" + *n + ")";
      }
      out.lines.push_back(save);
      out.lineMap.push_back(c.origin);
    }
  }
  out.lines.push_back(circuit.lines[endIndex]);
  out.lineMap.push_back(origin(endIndex));
  return out;
}

}  // namespace ecramsim::cosim

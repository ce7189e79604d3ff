#include "cosim/stub.hpp"

#include <cctype>
#include <set>

#include "core/units.hpp"

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
  for (const auto& h : halves) {
    std::string inner = c.gate;
    if (p.rs > 0.0) {
      inner = internal(c, (std::string("g") + h.tag).c_str());
      const std::string rName = internal(c, (std::string("r") + h.tag).c_str());
      if (c.gate_floats) {
        out.push_back("h" + rName + " " + c.gate + " m" + rName + " v" + rName + " " +
                      num(2.0 * p.rs));
        out.push_back("v" + rName + " m" + rName + " " + inner + " dc 0");
      } else {
        out.push_back("r" + rName + " " + c.gate + " " + inner + " " + num(2.0 * p.rs));
      }
    }
    out.push_back("b" + internal(c, (std::string("f") + h.tag).c_str()) + " " + inner + " " +
                  h.end + " i = " + num(0.5 * p.i0) + " * sinh((" + vdiff(inner, h.end) +
                  " - v(" + uoc + ")) / " + num(p.v0) + ")");
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

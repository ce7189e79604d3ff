#include "export/export.hpp"

#include <array>
#include <sstream>

#include "core/error.hpp"
#include "core/units.hpp"
#include "core/version.hpp"
#include "core/sha256.hpp"
#include "device/physics.hpp"
#include "modelcard/ecram_table.hpp"

namespace ecramsim::modelexport {

namespace {

constexpr std::array<std::string_view, 5> kFormatNames{"spice", "verilog-a", "crosssim-lut",
                                                       "aihwkit", "neurosim"};

/// The range of a spec as "(0, 1]" (separator ", ") or a Verilog-A "from (0:1]" (":").
std::string range(const ParamSpec& s, std::string_view separator) {
  const std::string hi = s.max >= 1e300 ? std::string("inf") : shortest(s.max);
  return std::string(s.minOpen ? "(" : "[") + shortest(s.min) + std::string(separator) + hi +
         (s.maxOpen ? ")" : "]");
}

/// One comment line per parameter of the table: key, card value, unit, range, default,
/// description.
std::string parameterComments(const ModelCard& card, std::string_view prefix) {
  std::ostringstream o;
  o << prefix << " Parameters (the card's value; unit; allowed range; table default; meaning):\n";
  for (const auto& s : ecramParamTable()) {
    o << prefix << "   " << s.key << " = " << shortest(card.params.*s.member) << "; " << s.unit
      << "; " << range(s, ", ") << "; default " << shortest(s.defaultValue) << "; "
      << s.description << "\n";
  }
  return o.str();
}

}  // namespace

std::string shortest(double value) { return formatShort(value, 17); }

std::span<const std::string_view> formatNames() { return kFormatNames; }

std::string_view formatName(Format format) {
  return kFormatNames[static_cast<std::size_t>(format)];
}

Format parseFormat(std::string_view name) {
  const std::string lower = toLower(name);
  for (std::size_t i = 0; i < kFormatNames.size(); ++i) {
    if (kFormatNames[i] == lower) return static_cast<Format>(i);
  }
  std::string known;
  for (auto n : kFormatNames) known += (known.empty() ? "" : ", ") + std::string(n);
  throw InputError({}, "--format", "unknown format '" + std::string(name) + "' (known: " +
                                       known + ")");
}

Provenance provenance(const ModelCard& card, std::string_view format) {
  return {std::string("ecramsim ") + kToolVersion + " model export --format " + std::string(format),
          card.name + (card.where.file.empty() ? std::string() : " from " + card.where.file),
          sha256Hex(card.sourceText)};
}

std::string provenanceHeader(const ModelCard& card, std::string_view prefix,
                             std::string_view format) {
  const Provenance p = provenance(card, format);
  std::ostringstream o;
  o << prefix << " " << p.tool << "\n"
    << prefix << " card: " << p.card << "\n"
    << prefix << " card sha256: " << p.sha256 << "\n";
  return o.str();
}

std::vector<std::string> missingVerilogAParams(std::string_view text) {
  std::vector<std::string> missing;
  for (const auto& s : ecramParamTable()) {
    if (text.find("parameter real " + std::string(s.key) + " =") == std::string_view::npos) {
      missing.emplace_back(s.key);
    }
  }
  return missing;
}

std::string spiceSubcircuit(const ModelCard& card) {
  const EcramParams& p = card.params;
  std::ostringstream o;
  o << provenanceHeader(card, "*", "spice")
    << "* The ecram model (DESIGN.md section 3) as a plain SPICE subcircuit: no co-simulation.\n"
    << "* Instance: X1 gate drain source ecram [param=value ...]. The state x in [0, 1] is the\n"
    << "* voltage of the internal node x (1 V = x of 1) on a 1 F capacitor, fed by the\n"
    << "* behavioural current dx/dt = I_ion/q_c * window - (x - x_eq)/tau_ret; `.ic` inside the\n"
    << "* subcircuit starts it at x0. The gate is distributed along the channel: gate_points\n"
    << "* segments k at the Gauss-Legendre nodes xi_k (fraction of the channel from the source)\n"
    << "* with weights w_k, each a resistor rs/w_k (segment k: Rg<k>) in series with\n"
    << "* w_k i0 sinh((V - U_oc)/v0) against the channel potential (1 - xi_k) V(s) + xi_k V(d),\n"
    << "* returned (1 - xi_k) at the source and xi_k at the drain, so SPICE solves each\n"
    << "* segment's rs drop itself (ecramsim's physics::gateQuadrature); 0 V sources vms and vmd\n"
    << "* measure the source and drain shares. With rs = 0 ecramsim uses the closed form, which\n"
    << "* these segments approximate to the order gate_points. Leakage 2 r_leak and c_dl/2 per\n"
    << "* channel end; channel G(x) Vds (1 + c3 Vds^2). Soft bounds: window\n"
    << "* (1 - x)^p_up up, x^p_dn down, zero beyond the range. Not in the subcircuit:\n"
    << "* cycle-to-cycle and device-to-device variation (the _c2c and _d2d parameters are listed\n"
    << "* for the record). Structure follows the card: gate_points fixes the segments, rs = 0\n"
    << "* leaves out the series resistors and tau_ret = 0 the retention term, so changing any of\n"
    << "* them between zero and nonzero, or gate_points, needs a new export.\n"
    << "* Portability: B-sources use only sinh, pow, max, u() and i() of a subcircuit source,\n"
    << "* which ngspice and LTspice share; `.ic` inside a .subckt is ngspice syntax (in LTspice\n"
    << "* give `.ic V(X1:x)=x0` at the top level instead).\n"
    << parameterComments(card, "*") << ".subckt ecram g d s params:";
  int onLine = 0;
  for (const auto& s : ecramParamTable()) {
    if (onLine == 0) o << "\n+";
    o << " " << s.key << "=" << shortest(p.*s.member);
    onLine = (onLine + 1) % 5;
  }
  o << "\n";
  const bool series = p.rs > 0.0;
  const std::string uoc = "k_oc*(v(x) - x_eq)";
  o << "Bch d s I = (gmin + (gmax - gmin)*v(x))*v(d,s)*(1 + c3*v(d,s)*v(d,s))\n";
  const physics::GaussRule& rule = physics::gaussRule(static_cast<int>(p.gate_points));
  for (std::size_t k = 0; k < rule.node.size(); ++k) {
    const double xi = rule.node[k], w = rule.weight[k];
    const std::string node = series ? "g" + std::to_string(k) : std::string("g");
    if (series) o << "Rg" << k << " g " << node << " {rs/" << shortest(w) << "}\n";
    const std::string arg = "sinh((v(" + node + ",s) - " + shortest(xi) + "*v(d,s) - " + uoc +
                            ")/v0)";
    o << "Bf" << k << "s " << node << " ms I = " << shortest((1.0 - xi) * w) << "*i0*" << arg
      << "\n"
      << "Bf" << k << "d " << node << " md I = " << shortest(xi * w) << "*i0*" << arg << "\n";
  }
  o << "Vms ms s 0\n"
    << "Vmd md d 0\n"
    << "Rls g s {2*r_leak}\n"
    << "Rld g d {2*r_leak}\n"
    << "Cs g s {c_dl/2}\n"
    << "Cd g d {c_dl/2}\n";
  // The 1e-12 floor keeps pow's derivative finite at the bounds, where u() zeroes the window.
  const std::string ion = "(i(vms) + i(vmd))";
  o << "Bx 0 x I = " << ion << "/q_c*(u(" << ion << ")*u(1 - v(x))*pow(max(1 - v(x), 1e-12), p_up)"
    << "\n+ + u(-" << ion << ")*u(v(x))*pow(max(v(x), 1e-12), p_dn))";
  if (p.tau_ret > 0.0) o << "\n+ - (v(x) - x_eq)/tau_ret";
  o << "\nCx x 0 1\n"
    << ".ic v(x)={x0}\n"
    << ".ends ecram\n";
  return o.str();
}

std::string verilogAModule(const ModelCard& card) {
  std::ostringstream o;
  o << provenanceHeader(card, "//", "verilog-a")
    << "// The ecram model (DESIGN.md section 3). The state x in [0, 1] is the potential of the\n"
    << "// internal node x: a unit capacitor charged by dx/dt = I_ion/q_c * window - (x - x_eq) /\n"
    << "// tau_ret, held at x0 in the DC (static) analysis. Gate: distributed along the channel\n"
    << "// as gate_points segments k at the Gauss-Legendre nodes xi_k (fraction of the channel\n"
    << "// from the source) with weights w_k, each a resistor rs/w_k to the inner node g<k> in\n"
    << "// series with w_k i0 sinh((V - U_oc)/v0) against the channel potential at xi_k, returned\n"
    << "// (1 - xi_k) at the source and xi_k at the drain (ecramsim's physics::gateQuadrature;\n"
    << "// with rs = 0 ecramsim uses the closed form, which the segments approximate). The\n"
    << "// segments are fixed at export from the card's gate_points: the parameter gate_points\n"
    << "// below is for the record. Leakage 2 r_leak and c_dl/2 per channel end. Channel:\n"
    << "// G(x) Vds (1 + c3 Vds^2). Variation (_c2c, _d2d) is not modelled here; those\n"
    << "// parameters are declared so that every key of the table has a place.\n"
    << parameterComments(card, "//") << "\n"
    << "`include \"disciplines.vams\"\n"
    << "`include \"constants.vams\"\n\n"
    << "module ecram(g, d, s);\n"
    << "  inout g, d, s;\n"
    << "  electrical g, d, s;\n"
    << "  electrical x;\n";
  const physics::GaussRule& rule = physics::gaussRule(static_cast<int>(card.params.gate_points));
  const std::size_t n = rule.node.size();
  o << "  electrical";
  for (std::size_t k = 0; k < n; ++k) o << (k ? ", g" : " g") << k;
  o << ";\n";
  for (const auto& s : ecramParamTable()) {
    o << "  (* desc=\"" << s.description << "\", units=\"" << s.unit << "\" *)\n"
      << "  parameter real " << s.key << " = " << shortest(card.params.*s.member) << " from "
      << range(s, ":") << ";\n";
  }
  o << "  real vds, xs, uoc, j, iion, w, rate;\n\n"
    << "  analog begin\n"
    << "    vds = V(d, s);\n"
    << "    xs = V(x);\n"
    << "    I(d, s) <+ (gmin + (gmax - gmin) * xs) * vds * (1.0 + c3 * vds * vds);\n"
    << "    uoc = k_oc * (xs - x_eq);\n"
    << "    iion = 0.0;\n";
  for (std::size_t k = 0; k < n; ++k) {
    const std::string g = "g" + std::to_string(k);
    const double xi = rule.node[k], wk = rule.weight[k];
    o << "    if (rs > 0.0) I(g, " << g << ") <+ V(g, " << g << ") * " << shortest(wk)
      << " / rs;\n"
      << "    else V(g, " << g << ") <+ 0.0;\n"
      << "    j = " << shortest(wk) << " * i0 * sinh((V(" << g << ", s) - " << shortest(xi)
      << " * V(d, s) - uoc) / v0);\n"
      << "    I(" << g << ", s) <+ " << shortest(1.0 - xi) << " * j;\n"
      << "    I(" << g << ", d) <+ " << shortest(xi) << " * j;\n"
      << "    iion = iion + j;\n";
  }
  o << "    I(g, s) <+ V(g, s) / (2.0 * r_leak) + 0.5 * c_dl * ddt(V(g, s));\n"
    << "    I(g, d) <+ V(g, d) / (2.0 * r_leak) + 0.5 * c_dl * ddt(V(g, d));\n"
    << "    if (iion > 0.0) begin\n"
    << "      if (xs < 1.0) w = pow(1.0 - xs, p_up); else w = 0.0;\n"
    << "    end else begin\n"
    << "      if (xs > 0.0) w = pow(xs, p_dn); else w = 0.0;\n"
    << "    end\n"
    << "    rate = iion / q_c * w;\n"
    << "    if (tau_ret > 0.0) rate = rate - (xs - x_eq) / tau_ret;\n"
    << "    if (analysis(\"static\"))\n"
    << "      V(x) <+ x0;\n"
    << "    else\n"
    << "      I(x) <+ ddt(V(x)) - rate;\n"
    << "  end\n"
    << "endmodule\n";
  return o.str();
}

std::vector<ExportFile> exportModel(const ModelCard& card, Format format,
                                    const PulseProtocol& protocol) {
  switch (format) {
    case Format::Spice:
      return {{card.name + ".sub", spiceSubcircuit(card), {}}};
    case Format::VerilogA:
      return {{card.name + ".va", verilogAModule(card), {}}};
    case Format::CrossSimLut:
      return crossSimLut(card, protocol);
    case Format::Aihwkit:
      return aihwkitConfig(card, protocol);
    case Format::NeuroSim:
      return {neuroSimParams(card, protocol)};
  }
  return {};
}

}  // namespace ecramsim::modelexport

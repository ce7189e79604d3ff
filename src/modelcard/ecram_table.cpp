#include "modelcard/ecram_table.hpp"

#include <array>
#include <cmath>
#include <string>

#include "core/units.hpp"

namespace ecramsim {

namespace {

// Defaults are the calibrated W/YSZ/WOx device of models/wox_ysz.model (2-4 uS window,
// +-5 V / 100 ms pulses); that card documents where each value comes from.
constexpr double kInf = 1e300;
constexpr std::array<ParamSpec, 21> kTable{{
    {"gmin", &EcramParams::gmin, 2e-6, "S", 0.0, 1.0, true, false,
     "channel conductance at x = 0"},
    {"gmax", &EcramParams::gmax, 4e-6, "S", 0.0, 1.0, true, false,
     "channel conductance at x = 1 (must exceed gmin)"},
    {"c3", &EcramParams::c3, 0.0, "1/V^2", -10.0, 10.0, false, false,
     "cubic read nonlinearity, I = G V (1 + c3 V^2)"},
    {"i0", &EcramParams::i0, 1e-16, "A", 0.0, 1e-3, true, false,
     "exchange current of the gate's ionic (Faradaic) branch"},
    {"v0", &EcramParams::v0, 0.25, "V", 1e-3, 10.0, false, false,
     "voltage scale of the sinh gate kinetics (sets the threshold sharpness)"},
    {"rs", &EcramParams::rs, 1e5, "Ohm", 0.0, 1e12, false, false,
     "series resistance of the ionic branch (electrolyte)"},
    {"r_leak", &EcramParams::r_leak, 1e12, "Ohm", 1e3, 1e18, false, false,
     "electronic leakage resistance between gate and channel"},
    {"c_dl", &EcramParams::c_dl, 2.5e-12, "F", 0.0, 1e-6, true, false,
     "double-layer capacitance between gate and channel"},
    {"q_c", &EcramParams::q_c, 2.1624e-7, "C", 0.0, 1.0, true, false,
     "ionic charge that moves the state across its full range"},
    {"k_oc", &EcramParams::k_oc, 0.02, "V", -5.0, 5.0, false, false,
     "slope of the open-circuit potential, U_oc = k_oc (x - x_eq)"},
    {"x_eq", &EcramParams::x_eq, 0.5, "1", 0.0, 1.0, false, false,
     "state at which the open-circuit potential vanishes"},
    {"p_up", &EcramParams::p_up, 0.1, "1", 0.0, 10.0, false, false,
     "soft-bound exponent for potentiation, window (1 - x)^p_up"},
    {"p_dn", &EcramParams::p_dn, 0.1, "1", 0.0, 10.0, false, false,
     "soft-bound exponent for depression, window x^p_dn"},
    {"tau_ret", &EcramParams::tau_ret, 0.0, "s", 0.0, kInf, false, true,
     "relaxation time of the state towards x_eq (0: off)"},
    {"x0", &EcramParams::x0, 0.0, "1", 0.0, 1.0, false, false, "initial state"},
    {"dg_c2c", &EcramParams::dg_c2c, 0.02, "1", 0.0, 1.0, false, false,
     "cycle-to-cycle relative sigma of each pulse's state change"},
    {"gmin_d2d", &EcramParams::gmin_d2d, 0.01, "1", 0.0, 0.5, false, false,
     "device-to-device relative sigma of gmin"},
    {"gmax_d2d", &EcramParams::gmax_d2d, 0.01, "1", 0.0, 0.5, false, false,
     "device-to-device relative sigma of gmax"},
    {"i0_d2d", &EcramParams::i0_d2d, 0.03, "1", 0.0, 0.5, false, false,
     "device-to-device relative sigma of i0"},
    {"qc_d2d", &EcramParams::qc_d2d, 0.02, "1", 0.0, 0.5, false, false,
     "device-to-device relative sigma of q_c"},
    {"gate_points", &EcramParams::gate_points, 5.0, "1", 1.0, 64.0, false, false,
     "Gauss-Legendre order of the distributed gate along the channel (used when rs > 0)", true},
}};

}  // namespace

std::span<const ParamSpec> ecramParamTable() { return kTable; }

const ParamSpec* findParam(std::string_view key) {
  const std::string lower = toLower(key);
  for (const auto& spec : kTable) {
    if (spec.key == lower) return &spec;
  }
  return nullptr;
}

EcramParams defaultEcramParams() {
  EcramParams p{};
  for (const auto& spec : kTable) p.*spec.member = spec.defaultValue;
  return p;
}

std::string rangeText(const ParamSpec& spec) {
  const std::string hi = spec.max >= kInf ? std::string("inf") : formatShort(spec.max);
  return std::string(spec.minOpen ? "(" : "[") + formatShort(spec.min) + ", " + hi +
         (spec.maxOpen ? ")" : "]") + (spec.integer ? " integer" : "");
}

bool inRange(const ParamSpec& spec, double value) {
  const bool lowOk = spec.minOpen ? value > spec.min : value >= spec.min;
  const bool highOk = spec.maxOpen ? value < spec.max : value <= spec.max;
  return lowOk && highOk && (!spec.integer || value == std::floor(value));
}

}  // namespace ecramsim

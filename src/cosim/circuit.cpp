#include "cosim/circuit.hpp"

#include "core/units.hpp"

namespace ecramsim::cosim {

namespace {

std::vector<CardEntry> entriesOf(const netlist::ModelCard& m) {
  std::vector<CardEntry> out;
  for (const auto& a : m.params) out.push_back({a.name, a.value, m.origin});
  return out;
}

}  // namespace

BuiltCircuit buildCircuit(const netlist::Netlist& net, Rng& rng, const BuildOptions& options) {
  const netlist::EcramSplit split = netlist::splitEcram(net);
  BuiltCircuit out;
  for (const auto& m : split.models) {
    ModelCard card = buildEcramCard(m.name, m.origin, entriesOf(m));
    card.sourceText = ".model " + m.name + " ecram (";
    for (const auto& a : m.params) card.sourceText += " " + a.name + "=" + a.value;
    card.sourceText += " )";
    for (const auto& e : options.cardSets) setCardParam(card, e.key, e.text, e.where);
    if (options.noVariation) {
      for (const char* key : {"dg_c2c", "gmin_d2d", "gmax_d2d", "i0_d2d", "qc_d2d"}) {
        setCardParam(card, key, "0", {"--no-variation", 0});
      }
    }
    validateCard(card);
    out.cards.push_back(std::move(card));
  }
  out.circuit.lines = split.netlist.lines();
  out.circuit.lineMap = split.netlist.lineMap();
  for (const auto& inst : split.instances) {
    const ModelCard* card = nullptr;
    for (const auto& c : out.cards) {
      if (c.name == inst.model) card = &c;
    }
    if (card == nullptr) {
      throw InputError(inst.origin, inst.name,
                       "model '" + echoToken(inst.model) + "' is not an ecram card");
    }
    ModelCard own = *card;
    for (const auto& a : inst.params) setCardParam(own, a.name, a.value, inst.origin);
    validateCard(own);
    Cell cell;
    cell.name = toLower(inst.name);
    auto node = [](const std::string& n) {
      const std::string l = toLower(n);
      return l == "gnd" ? std::string("0") : l;  // ngspice's two names of ground
    };
    cell.gate = node(inst.gate);
    cell.drain = node(inst.drain);
    cell.source = node(inst.source);
    cell.model = inst.model;
    cell.params = cellParams(own.params, drawVariation(own.params, rng));
    cell.x0 = own.params.x0;
    cell.origin = inst.origin;
    out.circuit.cells.push_back(std::move(cell));
  }
  return out;
}

}  // namespace ecramsim::cosim

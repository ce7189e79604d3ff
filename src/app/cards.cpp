#include "app/cards.hpp"

#include <algorithm>
#include <cstdlib>

#include "modelcard/ecram_table.hpp"

namespace ecramsim::app {

std::filesystem::path projectRoot() {
  if (const char* home = std::getenv("ECRAMSIM_HOME"); home != nullptr && *home != '\0') return home;
  return ECRAMSIM_SOURCE_DIR;
}

std::filesystem::path defaultCardPath() { return projectRoot() / "models" / "wox_ysz.model"; }

std::vector<std::filesystem::path> windowCardPaths() {
  std::vector<std::filesystem::path> out;
  const auto dir = projectRoot() / "models" / "windows";
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".model") out.push_back(e.path());
  }
  if (ec || out.empty()) throw InputError({dir.string(), 0}, "", "no window cards (*.model) found");
  std::sort(out.begin(), out.end());
  return out;
}

ModelCard resolveCard(const std::string& spec, const CardOverrides& overrides) {
  std::string file = spec;
  std::string name;
  // FILE:NAME, but not a bare path that happens to hold a colon.
  if (const auto colon = spec.rfind(':');
      colon != std::string::npos && !std::filesystem::exists(spec)) {
    file = spec.substr(0, colon);
    name = spec.substr(colon + 1);
  }
  ModelCard card = loadModelCard(file, name);
  for (const auto& s : overrides.sets) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw InputError({"--set", 0}, s, "expected key=value");
    }
    setCardParam(card, s.substr(0, eq), s.substr(eq + 1), {"--set " + echoToken(s), 0});
  }
  if (overrides.noVariation) {
    for (const char* key : {"dg_c2c", "gmin_d2d", "gmax_d2d", "i0_d2d", "qc_d2d"}) {
      setCardParam(card, key, "0", {"--no-variation", 0});
    }
  }
  validateCard(card);
  return card;
}

void recordCard(const ModelCard& card, const std::string& group, ResultTree& out) {
  out.text(group + "/card_text", card.sourceText, "the model file as read");
  out.attribute(group, "name", card.name);
  out.attribute(group, "source", card.where.str());
  for (const auto& spec : ecramParamTable()) {
    const std::string path = group + "/params/" + std::string(spec.key);
    out.scalar(path, card.params.*spec.member, std::string(spec.unit), std::string(spec.description));
    out.attribute(path, "given", static_cast<std::int64_t>(card.isGiven(std::string(spec.key))));
  }
}

}  // namespace ecramsim::app

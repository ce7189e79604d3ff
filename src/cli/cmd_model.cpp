#include <iostream>

#include "app/cards.hpp"
#include "cli/common.hpp"
#include "core/units.hpp"
#include "modelcard/ecram_table.hpp"

namespace ecramsim::cli {

void addModelCommand(CLI::App& app) {
  auto* model = app.add_subcommand("model", "Model cards: show a card's parameters");
  model->require_subcommand(1);
  struct Options {
    std::string card;
    app::CardOverrides overrides;
    CommonFlags flags;
  };
  auto o = std::make_shared<Options>();
  auto* show = model->add_subcommand(
      "show", "Every parameter of the ecram model: value, unit, allowed range, given or default");
  show->add_option("CARD", o->card,
                   "Model card FILE or FILE:NAME; without it, the table's defaults");
  show->add_option("--set", o->overrides.sets, "Override a parameter, key=value (repeatable)");
  addCommonFlags(*show, o->flags);
  show->callback([o] {
    ModelCard card;
    if (o->card.empty()) {
      card.name = "(defaults)";
      card.params = defaultEcramParams();
    } else {
      card = app::resolveCard(o->card, o->overrides);
    }
    if (o->flags.json) {
      std::cout << "{\"name\": " << jsonQuote(card.name) << ", \"params\": {";
      bool first = true;
      for (const auto& s : ecramParamTable()) {
        std::cout << (first ? "" : ", ") << jsonQuote(std::string(s.key)) << ": {\"value\": "
                  << jsonNumber(card.params.*s.member) << ", \"unit\": "
                  << jsonQuote(std::string(s.unit)) << ", \"given\": "
                  << (card.isGiven(std::string(s.key)) ? "true" : "false") << "}";
        first = false;
      }
      std::cout << "}}" << std::endl;
      return;
    }
    std::printf("model %s (type ecram)%s\n", card.name.c_str(),
                card.where.file.empty() ? "" : (" from " + card.where.str()).c_str());
    std::printf("  %-9s %-13s %-6s %-22s %-8s %s\n", "key", "value", "unit", "range", "source",
                "description");
    for (const auto& s : ecramParamTable()) {
      const std::string key(s.key);
      std::string source = "default";
      if (auto g = card.given.find(key); g != card.given.end()) {
        source = g->second.line > 0 ? "line " + std::to_string(g->second.line) : g->second.file;
      }
      std::printf("  %-9s %-13.6g %-6.*s %-22s %-8s %.*s\n", key.c_str(), card.params.*s.member,
                  static_cast<int>(s.unit.size()), s.unit.data(), rangeText(s).c_str(),
                  source.c_str(), static_cast<int>(s.description.size()), s.description.data());
    }
  });
}

}  // namespace ecramsim::cli

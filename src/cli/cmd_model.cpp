#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "app/cards.hpp"
#include "cli/common.hpp"
#include "core/units.hpp"
#include "export/export.hpp"
#include "io/output_file.hpp"
#include "modelcard/ecram_table.hpp"

namespace ecramsim::cli {

namespace {

/// Writes every file through io::OutputFile, committing none until all are written, so a
/// failed export leaves no partial file behind (and a device or FIFO target is written into).
void writeFiles(const std::vector<modelexport::ExportFile>& files,
                const std::vector<std::filesystem::path>& targets) {
  std::vector<std::unique_ptr<io::OutputFile>> outs;
  for (std::size_t i = 0; i < files.size(); ++i) {
    outs.push_back(std::make_unique<io::OutputFile>(targets[i]));
    std::ofstream f(outs.back()->temporary(), std::ios::binary);
    f << files[i].text;
    if (!f.flush()) throw IoError(targets[i].string() + ": cannot write");
  }
  for (auto& out : outs) out->commit();
}

void addExportCommand(CLI::App& model) {
  struct Options {
    std::string card, format, out;
    app::CardOverrides overrides;
    modelexport::PulseProtocol protocol;
  };
  auto o = std::make_shared<Options>();
  std::string names;
  for (auto n : modelexport::formatNames()) names += (names.empty() ? "" : ", ") + std::string(n);
  auto* cmd = model.add_subcommand(
      "export", "The model in another form, from the parameter table and the card: " + names);
  cmd->add_option("CARD", o->card, "Model card FILE or FILE:NAME")->required();
  cmd->add_option("--format", o->format, "One of: " + names)->required();
  cmd->add_option("-o,--out", o->out,
                  "File to write (default: stdout); crosssim-lut: a folder for dG_increasing.txt "
                  "and dG_decreasing.txt; aihwkit: FILE.json, with the Python snippet as FILE.py");
  cmd->add_option("--set", o->overrides.sets, "Override a parameter, key=value (repeatable)");
  auto& pr = o->protocol;
  cmd->add_option("--pulses", pr.pulses, "aihwkit, neurosim: pulses per branch of the fitted trace")
      ->default_val(pr.pulses)->check(CLI::Range(2, 100000));
  addQuantity(*cmd, "--amplitude", pr.amplitude_v, "V", "Pulse-based formats: |gate voltage|");
  addQuantity(*cmd, "--width", pr.width_s, "s", "Pulse-based formats: pulse width");
  addQuantity(*cmd, "--interval", pr.interval_s, "s", "Pulse-based formats: gap between pulses");
  cmd->add_option("--seed", pr.seed, "crosssim-lut: seed of the cycle-to-cycle noise")
      ->default_val(pr.seed);
  cmd->callback([o] {
    const modelexport::Format format = modelexport::parseFormat(o->format);
    const ModelCard card = app::resolveCard(o->card, o->overrides);
    const bool multi = format == modelexport::Format::CrossSimLut ||
                       format == modelexport::Format::Aihwkit;
    if (multi && o->out.empty()) {
      throw InputError({}, "-o", std::string(modelexport::formatName(format)) +
                                     " writes several files: give -o");
    }
    const auto files = modelexport::exportModel(card, format, o->protocol);
    for (const auto& f : files) {
      for (const auto& w : f.warnings) std::fprintf(stderr, "ecramsim: warning: %s\n", w.c_str());
    }
    if (o->out.empty()) {
      std::cout << files.front().text << std::flush;
      return;
    }
    std::vector<std::filesystem::path> targets;
    if (format == modelexport::Format::CrossSimLut) {
      std::error_code ec;
      std::filesystem::create_directories(o->out, ec);
      if (ec) throw IoError(o->out + ": cannot create the folder: " + ec.message());
      for (const auto& f : files) targets.push_back(std::filesystem::path(o->out) / f.name);
    } else {
      targets.emplace_back(o->out);
      if (files.size() > 1) {
        targets.push_back(std::filesystem::path(o->out).replace_extension(".py"));
      }
    }
    writeFiles(files, targets);
  });
}

}  // namespace

void addModelCommand(CLI::App& app) {
  auto* model =
      app.add_subcommand("model", "Model cards: show a card's parameters, export the model");
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
    std::printf("  %-11s %-13s %-6s %-22s %-8s %s\n", "key", "value", "unit", "range", "source",
                "description");
    for (const auto& s : ecramParamTable()) {
      const std::string key(s.key);
      std::string source = "default";
      if (auto g = card.given.find(key); g != card.given.end()) {
        source = g->second.line > 0 ? "line " + std::to_string(g->second.line) : g->second.file;
      }
      std::printf("  %-11s %-13s %-6.*s %-22s %-8s %.*s\n", key.c_str(),
                  formatShort(card.params.*s.member).c_str(),
                  static_cast<int>(s.unit.size()), s.unit.data(), rangeText(s).c_str(),
                  source.c_str(), static_cast<int>(s.description.size()), s.description.data());
    }
  });
  addExportCommand(*model);
}

}  // namespace ecramsim::cli

#pragma once
/// ECRAM model cards in SPICE syntax:
///   .model NAME ecram (key=value key=value ...)
///   + key=value            continuation lines
///   * comment              whole-line comment;  `; comment` ends a line
/// Values take SPICE numbers with scale factors (f p n u m k meg g t).

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "device/params.hpp"

namespace ecramsim {

/// One key=value as written, with where it was written.
struct CardEntry {
  std::string key;
  std::string text;
  SourceLocation where;
};

/// A parsed, validated `ecram` model card.
struct ModelCard {
  std::string name;                           ///< model name, lower case
  SourceLocation where;                       ///< the `.model` line
  EcramParams params{};                       ///< every parameter, given or default
  std::map<std::string, SourceLocation> given;  ///< keys the card gave, and where
  std::string sourceText;                     ///< the whole file the card came from

  [[nodiscard]] bool isGiven(const std::string& key) const { return given.count(key) > 0; }
};

/// Builds a card from key=value entries (as a netlist reader finds them): unknown keys,
/// malformed numbers and out-of-range values are InputErrors naming the entry's location,
/// and cross-parameter rules are checked (validateCard).
[[nodiscard]] ModelCard buildEcramCard(const std::string& name, const SourceLocation& where,
                                       const std::vector<CardEntry>& entries);

/// Parses every `.model ... ecram` card of a text. `filename` names it in errors.
[[nodiscard]] std::vector<ModelCard> parseModelText(const std::string& text,
                                                    const std::string& filename);

/// Reads a model file; with `name` empty the file must hold exactly one card.
[[nodiscard]] ModelCard loadModelCard(const std::filesystem::path& file,
                                      const std::string& name = {});

/// Overrides one parameter (`--set key=value`); `where` names the origin in errors.
void setCardParam(ModelCard& card, const std::string& key, const std::string& valueText,
                  const SourceLocation& where);

/// Cross-parameter rules (gmax > gmin). Throws InputError naming the later of the two keys.
void validateCard(const ModelCard& card);

}  // namespace ecramsim

#pragma once
/// Finding and resolving model cards for jobs: FILE[:NAME] specs, --set overrides, switching
/// variation off, and recording a card in a result file.

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "modelcard/modelcard.hpp"

namespace ecramsim::app {

/// The repository's root: $ECRAMSIM_HOME when set, else the source tree the tool was built from.
[[nodiscard]] std::filesystem::path projectRoot();

/// models/wox_ysz.model under projectRoot().
[[nodiscard]] std::filesystem::path defaultCardPath();

/// The six window cards of paper Fig. 2a (models/windows/*.model, sorted by name).
[[nodiscard]] std::vector<std::filesystem::path> windowCardPaths();

/// How the user adjusts a card on the command line.
struct CardOverrides {
  std::vector<std::string> sets;  ///< "key=value" from --set, applied in order
  bool noVariation = false;       ///< zero dg_c2c and every *_d2d
};

/// Loads "FILE" or "FILE:NAME" and applies the overrides. Errors name the file and line, or
/// "--set" for a bad override.
[[nodiscard]] ModelCard resolveCard(const std::string& spec, const CardOverrides& overrides);

/// Records a card under `group`: its source text, and every parameter of the table as a scalar
/// dataset with units, description and a `given` attribute (1 from the card or --set, 0 default).
void recordCard(const ModelCard& card, const std::string& group, ResultTree& out);

}  // namespace ecramsim::app

#pragma once
/// The ecram model in other forms (`ecramsim model export`, issue 16): a Verilog-A module, a
/// plain SPICE subcircuit, and the parameters of aihwkit, CrossSim and NeuroSim devices. Every
/// form is generated from the one parameter table (modelcard/ecram_table.hpp) and a card's
/// values, and every file starts with a provenance header: the card's name and file, the
/// sha256 of the card's file and the tool's version.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "device/params.hpp"
#include "modelcard/modelcard.hpp"

namespace ecramsim::modelexport {

enum class Format { Spice, VerilogA, CrossSimLut, Aihwkit, NeuroSim };

/// The names users type, in the order of Format.
[[nodiscard]] std::span<const std::string_view> formatNames();
[[nodiscard]] std::string_view formatName(Format format);

/// The format called `name`; an InputError naming "--format" otherwise.
[[nodiscard]] Format parseFormat(std::string_view name);

/// The single-device protocol behind the pulse-based formats (aihwkit, crosssim-lut,
/// neurosim): `pulses` up pulses from x = 0 then `pulses` down pulses, gate at +-amplitude_v
/// for width_s, grounded for interval_s, read at read_v after each pulse (device/bench.hpp).
struct PulseProtocol {
  double amplitude_v = 5.0;
  double width_s = 0.1;
  double interval_s = 0.1;
  double read_v = 0.1;
  int pulses = 100;
  int lutBins = 32;         ///< crosssim-lut: G bins across [gmin, gmax]
  int lutCdfPoints = 21;    ///< crosssim-lut: CDF points from 0 to 1
  int lutSamples = 200;     ///< crosssim-lut: simulated pulses per bin and direction
  std::uint64_t seed = 1;   ///< cycle-to-cycle noise of the crosssim-lut samples
};

/// One exported file: a name relative to the output (a file name, or a folder's entry) and
/// its text.
struct ExportFile {
  std::string name;
  std::string text;
  std::vector<std::string> warnings;  ///< what the format cannot represent (also in `text`)
};

/// The files of `format` for `card`: spice -> NAME.sub; verilog-a -> NAME.va; neurosim ->
/// NAME_neurosim.cpp; aihwkit -> NAME_aihwkit.json and NAME_aihwkit.py; crosssim-lut ->
/// dG_increasing.txt and dG_decreasing.txt. The first file is the main one.
[[nodiscard]] std::vector<ExportFile> exportModel(const ModelCard& card, Format format,
                                                  const PulseProtocol& protocol = {});

/// The shortest decimal that reads back to the same double (formatShort, 17 digits), "2e-6".
[[nodiscard]] std::string shortest(double value);

/// Where an exported file comes from.
struct Provenance {
  std::string tool;    ///< "ecramsim VERSION model export --format FORMAT"
  std::string card;    ///< "NAME from FILE" (or just NAME for a card without file)
  std::string sha256;  ///< of the card's file as read
};
[[nodiscard]] Provenance provenance(const ModelCard& card, std::string_view format);

/// The provenance header as comment lines, each starting with `prefix` ("*", "//", "#").
[[nodiscard]] std::string provenanceHeader(const ModelCard& card, std::string_view prefix,
                                           std::string_view format);

/// Keys of the parameter table that a Verilog-A text does not declare as `parameter real KEY`.
[[nodiscard]] std::vector<std::string> missingVerilogAParams(std::string_view text);

/// S, the noise-free conductance before the protocol and after each of its 2 `pulses` pulses.
[[nodiscard]] std::vector<double> pulseTrace(const EcramParams& params,
                                             const PulseProtocol& protocol);

// Generators of the single formats (export.cpp dispatches to them).
[[nodiscard]] std::string spiceSubcircuit(const ModelCard& card);
[[nodiscard]] std::string verilogAModule(const ModelCard& card);
[[nodiscard]] std::vector<ExportFile> crossSimLut(const ModelCard& card, const PulseProtocol& p);
[[nodiscard]] std::vector<ExportFile> aihwkitConfig(const ModelCard& card, const PulseProtocol& p);
[[nodiscard]] ExportFile neuroSimParams(const ModelCard& card, const PulseProtocol& p);

}  // namespace ecramsim::modelexport

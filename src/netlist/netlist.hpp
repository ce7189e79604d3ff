#pragma once
/// Reading ngspice netlists into logical lines that remember where they came from, and
/// splitting the ECRAM cells (instances of an `ecram` model) out of them.
///
/// What the reader understands (everything else is passed to ngspice untouched):
/// - line 1 of the top file is the title, whatever it holds;
/// - `*` comment lines, inline comments from `;` or from a `$` that starts a word, blank lines;
/// - `+` continuation lines (comment and blank lines may sit between them);
/// - `.include FILE` / `.inc FILE` and `.lib FILE SECTION` (a `.lib SECTION` ... `.endl` block of
///   FILE), inlined, with paths relative to the including file; `.lib NAME` blocks that nobody
///   asks for are dropped. Nesting is limited to 32 levels, and a netlist to 10,000 inlined
///   cards and 2,000,000 logical lines (sections that pull in others twice grow exponentially);
/// - `.param` cards (recorded, and overridable with Netlist::setParam; expressions are left to
///   ngspice), `.model NAME TYPE (key=value ...)` cards (recorded);
/// - `.end` (mandatory in the top file; what follows it is ignored; in an included file it ends
///   that file), `.subckt` ... `.ends` scopes for the duplicate-name check.
/// `.control` ... `.endc` blocks and `shell` commands are refused unless ReadOptions::allowControl
/// is set: a netlist is data, not a script. Refused too, because ngspice misreads or crashes on
/// them: a NUL byte or a carriage return inside a line (CRLF line ends are fine), a netlist
/// without any element line, and an XSPICE `A` line of more than 10,000 fields.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace ecramsim::netlist {

/// One logical line: continuations joined with a space, comments removed, text otherwise as
/// written (case kept).
struct Line {
  std::string text;
  SourceLocation origin;  ///< file:line of its first physical line
};

/// `name=value` as written in a card; names are lower case, values verbatim.
struct Assignment {
  std::string name;
  std::string value;
};

/// One `.param name=value` definition.
struct Param {
  std::string name;   ///< lower case
  std::string value;  ///< verbatim (a number, `{expression}`, ...)
  SourceLocation origin;
};

/// One `.model NAME TYPE (key=value ...)` card.
struct ModelCard {
  std::string name;  ///< lower case
  std::string type;  ///< lower case, e.g. "ecram", "d", "nmos"
  std::vector<Assignment> params;
  SourceLocation origin;

  /// Value of parameter `key` (case-insensitive), if given.
  [[nodiscard]] std::optional<std::string> get(std::string_view key) const;
};

/// An ECRAM cell: `N<name> gate drain source MODEL [key=value ...]`.
struct EcramInstance {
  std::string name;  ///< as written, e.g. "N1_2"
  std::string gate;
  std::string drain;
  std::string source;
  std::string model;                ///< lower case
  std::vector<Assignment> params;   ///< instance parameters, names lower case
  SourceLocation origin;
};

/// A netlist as logical lines. `body` holds every line after the title, the last one `.end`.
struct Netlist {
  Line title;
  std::vector<Line> body;
  std::vector<Param> params;      ///< every `.param` definition, in order
  std::vector<ModelCard> models;  ///< every `.model` card, in order

  /// The lines to hand to ngspice (title first), and their origins in the same order.
  [[nodiscard]] std::vector<std::string> lines() const;
  [[nodiscard]] std::vector<SourceLocation> lineMap() const;
  /// The model card named `name` (case-insensitive), or nullptr.
  [[nodiscard]] const ModelCard* findModel(std::string_view name) const;
  /// Replaces the value of `.param name` (case-insensitive) in its card and in `params`, e.g.
  /// for a `--set name=value` flag. Throws InputError naming `name` when there is no such
  /// parameter.
  void setParam(std::string_view name, const std::string& value);
};

struct ReadOptions {
  bool allowControl = false;  ///< keep `.control` blocks and `shell` commands
};

/// Reads `file` and everything it includes. Throws InputError with file:line for: a missing
/// include or .lib file or section, a missing `.end`, a refused input (see above), a duplicate
/// instance name in one scope, an `N` instance without nodes or whose model is not defined, an
/// ecram instance without exactly three nodes, malformed `.param`/`.model`/`.include`/`.lib`
/// cards; IoError when `file` itself cannot be read.
[[nodiscard]] Netlist readNetlist(const std::filesystem::path& file, const ReadOptions& options = {});

/// The same for text in memory; `fileName` names it in errors, and relative includes are
/// resolved against its directory.
[[nodiscard]] Netlist parseNetlist(std::string_view text, const std::filesystem::path& fileName,
                                   const ReadOptions& options = {});

/// A netlist with its ECRAM cells and `ecram` model cards taken out.
struct [[nodiscard]] EcramSplit {
  Netlist netlist;                       ///< what remains, for ngspice
  std::vector<EcramInstance> instances;  ///< in netlist order
  std::vector<ModelCard> models;         ///< the `.model ... ecram` cards
};

/// Splits ECRAM cells out of `netlist` (which readNetlist has validated). Throws InputError for
/// an ecram instance inside a `.subckt` (not supported).
[[nodiscard]] EcramSplit splitEcram(const Netlist& netlist);

/// Splits a card's text into fields: whitespace and commas separate, `{}`, `()` and quotes
/// group, and `name = value` is joined into one `name=value` field. Exposed for tests and for
/// other readers of SPICE cards.
[[nodiscard]] std::vector<std::string> splitFields(std::string_view text);

}  // namespace ecramsim::netlist

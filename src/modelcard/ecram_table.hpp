#pragma once
/// The parameter table of the `ecram` model: every parameter declared once, with its key,
/// default, unit, allowed range and description. Parsing, validation, `ecramsim model show`
/// and the HDF5 metadata are all derived from this table.

#include <span>
#include <string_view>

#include "device/params.hpp"

namespace ecramsim {

struct ParamSpec {
  std::string_view key;          ///< model-card key, snake_case, equal to the EcramParams field
  double EcramParams::*member;   ///< where the value lives
  double defaultValue;           ///< used when a card does not give the key
  std::string_view unit;         ///< SI unit ("S", "A", "V", "Ohm", "F", "C", "s", "1", "1/V^2")
  double min;                    ///< allowed range, see minOpen/maxOpen
  double max;
  bool minOpen;                  ///< true: value must exceed min; false: value >= min
  bool maxOpen;                  ///< true: value must stay below max; false: value <= max
  std::string_view description;  ///< one line for people
  bool integer = false;          ///< true: the value must also be a whole number
};

/// The table, in the order cards list their parameters.
[[nodiscard]] std::span<const ParamSpec> ecramParamTable();

/// The spec for `key` (case-insensitive), or nullptr.
[[nodiscard]] const ParamSpec* findParam(std::string_view key);

/// Every parameter at its default.
[[nodiscard]] EcramParams defaultEcramParams();

/// "[min, max]" with open ends shown as "(" / ")", followed by " integer" for an integer
/// parameter.
[[nodiscard]] std::string rangeText(const ParamSpec& spec);

/// True when `value` lies in the spec's range (and is whole, for an integer parameter).
[[nodiscard]] bool inRange(const ParamSpec& spec, double value);

}  // namespace ecramsim

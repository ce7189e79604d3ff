#pragma once
/// `ecramsim device PROTOCOL`: one protocol on one card (or, for windows, on several cards),
/// producing a ResultTree ready to be written.

#include <cstdint>
#include <string>
#include <vector>

#include "core/progress.hpp"
#include "core/result.hpp"
#include "device/protocols.hpp"
#include "modelcard/modelcard.hpp"

namespace ecramsim::app {

/// The protocols `device` runs, by their command names.
[[nodiscard]] const std::vector<std::string>& deviceProtocols();

struct DeviceJob {
  std::string protocol;          ///< one of deviceProtocols()
  std::vector<ModelCard> cards;  ///< one card; several for "windows"
  std::uint64_t seed = 1;
  PulsesConfig pulses;
  WindowsConfig windows;
  UniformityConfig uniformity;
  StatesConfig states;
  RetentionConfig retention;
  PwmConfig pwm;
  GateIvConfig gateIv;
};

/// Runs the job. The tree holds /config (cards, protocol), the protocol's datasets and
/// /metrics. Throws InputError for a bad protocol or configuration.
[[nodiscard]] ResultTree runDeviceJob(const DeviceJob& job, Progress& progress);

}  // namespace ecramsim::app

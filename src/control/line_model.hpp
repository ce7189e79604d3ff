#pragma once
/// The controller's model of an array's lines during a write phase: every cell's terminal
/// voltages from the channel conductances, without a solve of the nonlinear write network. The
/// seam between line compensation (control/compensation.hpp) and the line network, which the
/// array module implements (array/line_potentials.hpp), so that control stays free of it.

#include <Eigen/Core>
#include <vector>

#include "control/backend.hpp"

namespace ecramsim {

/// V, R x C each: gate, drain and source potential of every cell.
struct PhaseTerminals {
  Eigen::MatrixXd vg, vd, vs;
};

class WriteLineModel {
 public:
  virtual ~WriteLineModel() = default;
  [[nodiscard]] virtual Eigen::Index rows() const = 0;
  [[nodiscard]] virtual Eigen::Index cols() const = 0;
  /// Fills `t` with the terminals of a write phase on row `row` at amplitude `amplitude_v`
  /// under `scheme`, the columns with active[c] driven as selected, the channels at the
  /// conductances `g` (S, R x C). When `t` already holds R x C potentials they are the starting
  /// point of the solve (a warm start; the answer does not depend on it beyond the model's
  /// tolerance). InputError for a scheme the model does not cover.
  virtual void phaseTerminals(const Eigen::MatrixXd& g, Eigen::Index row, double amplitude_v,
                              const std::vector<bool>& active, const BiasScheme& scheme,
                              PhaseTerminals& t) const = 0;

 protected:
  WriteLineModel() = default;
  WriteLineModel(const WriteLineModel&) = default;
  WriteLineModel& operator=(const WriteLineModel&) = default;
};

}  // namespace ecramsim

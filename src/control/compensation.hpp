#pragma once
/// Line compensation of the open-loop pwm scheme (`--compensate lines`, issue 12 item 3): the
/// controller plans every pulse width of a programming run on its own model of the array
/// before the first pulse, and the array then gets those widths. It reads no cell.
///
/// The model: the nominal card (no variation, no cycle noise), the line network of a
/// WriteLineModel (control/line_model.hpp: terminals from the channel conductances, gate
/// currents left out), the controller's belief of the states, and the run's order of phases
/// (programArray: row by row, the up pulses of a row in one phase, then its down pulses; or one
/// cell per phase when serial). Each phase is simulated as the array engines simulate it
/// (array/nodal_backend.hpp): segments between releases, each at one operating point of the
/// lines held while the cells advance; a column is released when its cell reaches its goal,
/// which sets that cell's width, and the next segment's terminals are solved with the columns
/// still driven and the conductances the cells have reached. So each width accounts for the
/// drops that the cells' own column and row (and every cell on them) cause, as they change
/// through the phase.
///
/// Disturb: every cell not pulsed in a phase moves at the rate of its terminals (physics::
/// stateRate at the state it has at the phase start): a cell on a driven column for that
/// column's width (the mean of its rate at the phase start and at the column's release), a
/// cell of the selected row from its release to the end of the phase (its rate just after the
/// release) or, when not pulsed, over the whole phase; cells off the selected row and the
/// driven columns only when the scheme does not hold them at 0 V (V/3). The change before a
/// cell's pulse enters the state its width starts from; the change after it is what the cell's
/// goal is lowered by: the plan is made `iterations` times, each with every goal set to the
/// target minus the disturb after the pulse that the previous plan predicted (none at first).
///
/// Cost per plan: per phase one ladder solve per release (O(R C) each) and a few rate
/// evaluations per driven cell per segment: O(R C^2) per phase, against the write solve's
/// relaxation sweeps of the whole network per segment.

#include <Eigen/Core>

#include "control/backend.hpp"
#include "control/line_model.hpp"
#include "device/params.hpp"

namespace ecramsim {

struct LinePlanConfig {
  BiasScheme bias{};
  PulseOrder order = PulseOrder::RowParallel;
  double amplitude_v = 5.0;   ///< V, |write amplitude| of every pulse
  double max_width_s = 200.0; ///< s, cap of one pulse
  int iterations = 2;         ///< plans made, each from the previous plan's disturb (>= 1)
};

/// The widths a line-compensated pwm run applies, and what its model expects.
struct [[nodiscard]] LinePlan {
  Eigen::MatrixXd width_s;      ///< s, R x C: each cell's pulse width, 0 where it gets none
  Eigen::MatrixXd amplitude_v;  ///< V, R x C: each cell's signed amplitude, 0 where no pulse
  Eigen::MatrixXd predicted;    ///< 1, R x C: the states the model reaches at the end
  /// 1, R x C: each cell's change over the phases in which it is not pulsed (before and after
  /// its own), in the model: ProgramResult::disturb_s over the card's range, predicted.
  Eigen::MatrixXd disturb;
};

/// Plans the pulse widths that bring the states `belief` (R x C, in [0, 1]) to `target` (R x
/// C states in [0, 1]) on `lines` for the nominal device `nominal`. InputError for sizes that
/// do not match `lines`, iterations < 1 or a scheme the line model does not cover.
LinePlan planLineCompensation(const EcramParams& nominal, const WriteLineModel& lines,
                              const Eigen::MatrixXd& target, const Eigen::MatrixXd& belief,
                              const LinePlanConfig& cfg);

}  // namespace ecramsim

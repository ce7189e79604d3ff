#pragma once
/// `ecramsim vmm`: analog vector-matrix multiplication through the crossbar (paper Fig. 2e-g)
/// and the sneak-path read error of a passive array.
///
/// Three parts, one result tree:
/// - /map (Fig. 2e): one cell, the far corner (row 0, column C-1: the longest source- and
///   drain-line path), read through the array at a grid of states spanning the card's window
///   and a grid of read voltages; output current against the ideal G V.
/// - /vmm (Fig. 2f-g): random states (or a weight map), random input vectors uniform in
///   [0, v_max] on the source lines; every column current against the ideal product
///   I_ideal = V G with the true device conductances (variation included) and no wires.
///   Errors are given relative to the full scale FS = R * gmax * v_max (gmax of the card, before
///   variation): the largest current a column can carry.
/// - /sneak: the far-corner cell at gmin surrounded by cells at gmax, read at v_max with the
///   unselected source and drain lines held at 0 V by their drivers (grounded) or left without
///   driver (floating); the read conductance I / v_max against the cell's true conductance.
///   The floating read is skipped above 256 x 256 cells (attribute /sneak floating says so):
///   that network is ill-conditioned for the fast read solver, and its sparse factorization
///   alone would take several seconds.

#include <cstdint>
#include <filesystem>
#include <string>

#include <Eigen/Core>

#include "array/crossbar_engine.hpp"
#include "array/geometry.hpp"
#include "core/progress.hpp"
#include "core/result.hpp"
#include "modelcard/modelcard.hpp"

namespace ecramsim::app {

struct VmmJob {
  ModelCard card;
  CrossbarGeometry geometry;        ///< rows x cols and line resistances
  long long vectors = 1000;         ///< random input vectors of part /vmm
  double v_max = 0.1;               ///< V, largest input (read) voltage
  Eigen::Index map_states = 17;     ///< states across the window in /map
  Eigen::Index map_voltages = 21;   ///< read voltages 0 .. v_max in /map
  Eigen::Index hist_bins = 60;      ///< bins of the error histogram
  std::filesystem::path weights;    ///< optional .csv/.pgm map of states in [0, 1]; else random
  std::filesystem::path inputs;     ///< optional .csv of input vectors (V), one per line
  std::string engine = "nodal";     ///< "nodal" (CrossbarEngine) or "spice" (SpiceBackend, .op runs)
  /// Read network solver of the nodal engine and of the sneak reads (array/crossbar_engine.hpp)
  ReadSolverKind read_solver = ReadSolverKind::Fast;
  std::uint64_t seed = 1;
};

/// Error statistics of array outputs against ideal outputs, relative to a full scale.
struct [[nodiscard]] VmmErrorStats {
  double mean = 0.0;   ///< mean of (out - ideal) / fs
  double sigma = 0.0;  ///< sample standard deviation of (out - ideal) / fs
  double max_abs = 0.0;  ///< largest |out - ideal| / fs
  double rms = 0.0;    ///< sqrt(mean((out - ideal)^2)) / fs
};
/// The statistics over every element of `out` and `ideal` (same shape), divided by `fs`.
[[nodiscard]] VmmErrorStats vmmErrorStats(const Eigen::MatrixXd& out, const Eigen::MatrixXd& ideal,
                                          double fs);

/// Runs the job (layout above; /metrics, /config). Throws InputError for bad settings or data.
[[nodiscard]] ResultTree runVmmJob(const VmmJob& job, Progress& progress);

}  // namespace ecramsim::app

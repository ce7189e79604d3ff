#!/usr/bin/env bash
# Benchmark of the reduced write model and the pulse-factor model (issue 14 acceptance D, issue
# 12 G): on a 128 x 128 tile of the default card (d2d on, c2c off) with the shipped line
# resistance, V/2 grounded, random states and random per-cell counts (0-3 pulses, +-5 V,
# 100 ms), every cell's state change per row-parallel phase from each model against the full
# circuit (NodalBackend): largest relative error of the selected cells (bound 2 %) and of the
# half-selected cells (bound 10 %), the range of the selected cells' factor (circuit change over
# the single-cell pulse), and the time per phase of both; for the pulse-factor model also whole
# updates of four rows, sparse (10 % of the cells pulsed) and dense, in one call. The 32 x 32
# versions run in the test suite.
# Usage: tools/bench/reduced_write.sh [BUILD_DIR]   (the build needs the target test_train)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$repo/build}"
exec taskset -c "${CORE:-0}" "$build/tests/test_train" --no-skip \
  -tc='*reduced write model*,*pulse-factor write model*'

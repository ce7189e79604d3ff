#!/usr/bin/env bash
# Benchmark of the transfer matrix (issue 12 acceptance E: 128 x 128 under 30 ms): the
# `bench transfer` case of tests/array/test_scale.cpp, pinned to one core (CORE, default 1).
# Per N of TRANSFER_SIZES (default "128") and TRANSFER_REPEATS rounds (default 15), on fresh
# engines in rotating order: the fast read solver's fused transfer (LineSolver::transfer()),
# its former path (the R unit inputs as blocks of 32 vectors through the line solver's solve(),
# CrossbarEngine::setFusedTransfer(false)) and the exact CHOLMOD solver; then the fused transfer
# again after new conductances on a used engine ("warm", as when a training tile is refreshed).
# Prints the medians of wall and thread CPU time, the fused sweeps, the largest deviations of
# both fast paths from exact (fraction of the largest current; checked below 1e-10) and the
# speed-ups of the fused path (wall and CPU) over the former one and over exact.
# Usage: tools/bench/transfer.sh [BUILD_DIR]   (the build needs the target test_array)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$repo/build}"
TRANSFER_REPEATS="${TRANSFER_REPEATS:-15}" taskset -c "${CORE:-1}" "$build/tests/test_array" \
  --no-skip -tc='bench transfer*' 2>&1 | grep -v -E '^\[doctest\]|^=+$'

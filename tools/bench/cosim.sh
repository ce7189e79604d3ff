#!/usr/bin/env bash
# Benchmark of the ngspice co-simulation (issue 3): `ecramsim run` on the shipped netlists and
# the acceptance tests that time themselves (A: co-simulation vs ngspice integrating the state,
# F: 10,000 small runs). Prints seconds per run, best of REPEATS (default 3).
# Usage: tools/bench/cosim.sh [BUILD_DIR]   (the build needs the targets ecramsim and test_cosim)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$repo/build}"
bin="$build/ecramsim"
tests="$build/tests/test_cosim"
repeats="${REPEATS:-3}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# shellcheck source=lib.sh
source "$repo/tools/bench/lib.sh"

for net in cell_bench xbar10_read xbar10_program_v2 xbar10_program_v3; do
  s=$(best "$bin" run -q "$repo/netlists/$net.cir" -o "$scratch/$net.h5")
  echo "ecramsim run netlists/$net.cir: ${s} s (process start, ngspice load, run, HDF5)"
done
if [[ -x "$tests" ]]; then
  "$tests" -tc='acceptance A*,acceptance F*' 2>&1 | grep -E 'MESSAGE' | sed 's/^.*MESSAGE: //'
fi

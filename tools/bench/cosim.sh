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

best() {  # best wall time of "$@" over $repeats runs, in seconds
  local best_s=""
  for _ in $(seq "$repeats"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > /dev/null 2>&1
    t1=$(date +%s.%N)
    best_s=$(echo "$t0 $t1 ${best_s:-1e9}" | awk '{d=$2-$1; print (d<$3)?d:$3}')
  done
  echo "$best_s"
}

for net in cell_bench xbar10_read xbar10_program_v2 xbar10_program_v3; do
  s=$(best "$bin" run -q "$repo/netlists/$net.cir" -o "$scratch/$net.h5")
  echo "ecramsim run netlists/$net.cir: ${s} s (process start, ngspice load, run, HDF5)"
done
if [[ -x "$tests" ]]; then
  "$tests" -tc='acceptance A*,acceptance F*' 2>&1 | grep -E 'MESSAGE' | sed 's/^.*MESSAGE: //'
fi

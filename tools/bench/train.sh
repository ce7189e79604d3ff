#!/usr/bin/env bash
# Benchmark of issue 6 (acceptance A, B, C): `ecramsim train mushroom` with the default settings
# on the default card (variation and line resistance on), five seeds, each with the software
# baseline (--ideal); the same five seeds on the strong-nonlinearity card; the wall time of one
# run. Prints mean and standard deviation (sample, n - 1) of the test accuracy.
# Usage: tools/bench/train.sh [BUILD_DIR] [extra train options...]
#   SEEDS (default "1 2 3 4 5"), NL_SEEDS (default: SEEDS; empty skips the nonlinear card).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$repo/build}"
shift || true
bin="$build/ecramsim"
seeds="${SEEDS:-1 2 3 4 5}"
nl_seeds="${NL_SEEDS-$seeds}"
py=/usr/bin/python3
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

run() {  # run CARD SEED TAG [options]: one training run; prints "seconds json" on one line
  local card="$1" seed="$2" tag="$3"
  shift 3
  local t0 t1 out
  t0=$(date +%s.%N)
  out=$("$bin" train mushroom -q --json --no-plot --seed "$seed" -m "$card" \
          -o "$scratch/${tag}_$seed.h5" "$@")
  t1=$(date +%s.%N)
  echo "$(echo "$t0 $t1" | awk '{print $2-$1}') $out"
}

summarize() {  # reads "seconds json" lines; prints mean/std of test and ideal accuracy
  "$py" -c '
import json, statistics, sys
t, acc, ideal = [], [], []
for line in sys.stdin:
    s, j = line.split(" ", 1)
    m = json.loads(j)["metrics"]
    t.append(float(s)); acc.append(m["test_accuracy"])
    if "ideal_test_accuracy" in m: ideal.append(m["ideal_test_accuracy"])
sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0
print("  test accuracy per seed: " + " ".join("%.4f" % a for a in acc))
print("  test accuracy: mean %.4f  std %.4f  (n = %d)" % (statistics.mean(acc), sd(acc), len(acc)))
if ideal:
    print("  software baseline (--ideal): mean %.4f  std %.4f" % (statistics.mean(ideal), sd(ideal)))
print("  wall time per run: first %.1f s, mean %.1f s, max %.1f s" % (t[0], statistics.mean(t), max(t)))
'
}

default_card="$repo/models/wox_ysz.model"
nl_card="$repo/models/strong_nonlinear.model"
echo "ecramsim train mushroom, default settings $*, $(nproc) cores"
echo "default card (models/wox_ysz.model, variation + line resistance), seeds: $seeds"
for s in $seeds; do run "$default_card" "$s" default --ideal "$@"; done | summarize
if [ -n "$nl_seeds" ]; then
  echo "strong-nonlinearity card (models/strong_nonlinear.model, p_up = p_dn = 3), seeds: $nl_seeds"
  for s in $nl_seeds; do run "$nl_card" "$s" nonlinear "$@"; done | summarize
fi

#!/usr/bin/env bash
# Benchmark of issue 6 (acceptance A, B, C) and issue 12 G: `ecramsim train mushroom` with the
# default settings (128 x 128 tiles, reduced write model refreshed every batch) on the default
# card (variation and line resistance on), five seeds, each with the software baseline
# (--ideal); the same seeds with the factors refreshed every REFRESH batches (the cost of a
# stale refresh in accuracy); the same seeds on 16 x 16 tiles through the full circuit (the
# former default), and the ratio of the mean wall times; the same seeds on the
# strong-nonlinearity card. Every run is pinned to one core (CORE, default 0); the CPU time
# (user + sys) is printed beside the wall time because other processes on a shared core stretch
# the wall time, not the CPU time. Prints mean and standard deviation (sample, n - 1) of the
# test accuracy.
# With BASELINE=DIR (a build directory of another commit, e.g. main's), the default runs are
# repeated with both binaries, alternating per seed on the same core, and the ratio of their mean
# CPU times is printed: a comparison of two commits in the same conditions.
# Usage: tools/bench/train.sh [BUILD_DIR] [extra train options...]
#   SEEDS (default "1 2 3 4 5"), NL_SEEDS (default: SEEDS; empty skips the nonlinear card),
#   REFRESH (default 10; empty skips), OLD (default 1; empty skips the 16 x 16 circuit runs),
#   BASELINE (default empty: no comparison).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$repo/build}"
shift || true
bin="$build/ecramsim"
seeds="${SEEDS:-1 2 3 4 5}"
nl_seeds="${NL_SEEDS-$seeds}"
refresh="${REFRESH-10}"
old="${OLD-1}"
baseline="${BASELINE:-}"
core="${CORE:-0}"
py=/usr/bin/python3
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

run() {  # run CARD SEED TAG [options]: one training run; prints "wall cpu json" on one line
  local card="$1" seed="$2" tag="$3"
  shift 3
  local out
  out=$(/usr/bin/time -f "%e %U %S" -o "$scratch/time" taskset -c "$core" "${BIN:-$bin}" train mushroom \
          -q --json --no-plot --seed "$seed" -m "$card" -o "$scratch/${tag}_$seed.h5" "$@")
  echo "$(awk '{print $1, $2 + $3}' "$scratch/time") $out"
}

summarize() {  # reads "wall cpu json" lines; prints mean/std of test and ideal accuracy
  # and writes the mean wall and CPU time to $scratch/time_$1
  "$py" -c '
import json, statistics, sys
t, cpu, acc, ideal = [], [], [], []
for line in sys.stdin:
    s, c, j = line.split(" ", 2)
    m = json.loads(j)["metrics"]
    t.append(float(s)); cpu.append(float(c)); acc.append(m["test_accuracy"])
    if "ideal_test_accuracy" in m: ideal.append(m["ideal_test_accuracy"])
sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0
print("  test accuracy per seed: " + " ".join("%.4f" % a for a in acc))
print("  test accuracy: mean %.4f  std %.4f  (n = %d)" % (statistics.mean(acc), sd(acc), len(acc)))
if ideal:
    print("  software baseline (--ideal): mean %.4f  std %.4f" % (statistics.mean(ideal), sd(ideal)))
print("  wall time per run: first %.1f s, mean %.1f s, max %.1f s" % (t[0], statistics.mean(t), max(t)))
print("  CPU time (user + sys) per run: mean %.1f s, max %.1f s" % (statistics.mean(cpu), max(cpu)))
open(sys.argv[1], "w").write("%.6f %.6f" % (statistics.mean(t), statistics.mean(cpu)))
' "$scratch/time_$1"
}

default_card="$repo/models/wox_ysz.model"
nl_card="$repo/models/strong_nonlinear.model"
echo "ecramsim train mushroom, default settings $*, pinned to core $core of $(nproc)"
echo "default card (models/wox_ysz.model, variation + line resistance), seeds: $seeds"
for s in $seeds; do run "$default_card" "$s" default --ideal "$@"; done | summarize default
if [ -n "$baseline" ]; then
  echo "this build against $baseline, default settings, alternating per seed"
  for s in $seeds; do
    run "$default_card" "$s" ab_this --ideal "$@" >> "$scratch/ab_this"
    BIN="$baseline/ecramsim" run "$default_card" "$s" ab_base --ideal "$@" >> "$scratch/ab_base"
  done
  echo " this build:"
  summarize ab_this < "$scratch/ab_this"
  echo " baseline:"
  summarize ab_base < "$scratch/ab_base"
  "$py" -c 'import sys; n, o = ([float(v) for v in open(f).read().split()] for f in sys.argv[1:3])
print("  this build over the baseline: mean wall time %.2f, mean CPU time %.2f" % (n[0] / o[0], n[1] / o[1]))' \
    "$scratch/time_ab_this" "$scratch/time_ab_base"
fi
if [ -n "$refresh" ]; then
  echo "the same, reduced write model refreshed every $refresh batches (--refresh $refresh)"
  for s in $seeds; do run "$default_card" "$s" refresh --refresh "$refresh" "$@"; done |
    summarize refresh
fi
if [ -n "$old" ]; then
  echo "the same, 16 x 16 tiles through the full circuit (--tile 16x16 --write-model circuit)"
  for s in $seeds; do
    run "$default_card" "$s" old --ideal --tile 16x16 --write-model circuit "$@"
  done | summarize old
  "$py" -c 'import sys; n, o = ([float(v) for v in open(f).read().split()] for f in sys.argv[1:3])
print("  default (128 x 128, reduced) over 16 x 16 circuit: mean wall time %.2f, mean CPU time %.2f"
      % (n[0] / o[0], n[1] / o[1]))' \
    "$scratch/time_default" "$scratch/time_old"
fi
if [ -n "$nl_seeds" ]; then
  echo "strong-nonlinearity card (models/strong_nonlinear.model, p_up = p_dn = 3), seeds: $nl_seeds"
  for s in $nl_seeds; do run "$nl_card" "$s" nonlinear "$@"; done | summarize nonlinear
fi

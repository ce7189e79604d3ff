#!/usr/bin/env bash
# Issue 7, acceptance A: a 16-point sweep with --jobs 2 against --jobs 1, measured in one run.
# Each point is `ecramsim device uniformity --devices 64` with its own seed (~1 s of one
# core), so the sweep is CPU-bound and should scale with the cores. The two settings run
# alternately, twice each; the best wall time of each is compared. The ratio should be >= 1.8
# on an otherwise idle 2-core machine: the load average and the CPU time (user + sys of the
# sweep and its point processes) are printed, since other work on the machine lowers it.
# Usage: tools/bench/sweep.sh [path/to/ecramsim]      (default: build/ecramsim)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
exe="${1:-$repo/build/ecramsim}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cat > "$work/bench.toml" <<'SPEC'
[sweep]
command = "device uniformity --devices 64"
[[axis]]
name = "option.seed"
values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
SPEC

# "wall cpu" of a command, from GNU time (cpu = user + sys, children included).
measure() {
  /usr/bin/time -f '%e %U %S' -o "$work/time" "$@" > /dev/null
  awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' "$work/time"
}

"$exe" device uniformity --devices 64 --seed 99 -q -o "$work/warm.h5" > /dev/null  # page cache
read -r one one_cpu < <(measure "$exe" device uniformity --devices 64 --seed 98 -q -o "$work/one.h5")
echo "one point: ${one} s wall, ${one_cpu} s cpu"
echo "cores: $(nproc), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

best1=999999; best2=999999
for rep in 1 2; do
  rm -rf "$work/j1" "$work/j2"
  read -r w1 c1 < <(measure "$exe" sweep "$work/bench.toml" -o "$work/j1" --jobs 1 -q)
  read -r w2 c2 < <(measure "$exe" sweep "$work/bench.toml" -o "$work/j2" --jobs 2 -q)
  echo "run $rep: --jobs 1 ${w1} s wall (${c1} s cpu), --jobs 2 ${w2} s wall (${c2} s cpu)"
  best1=$(awk -v a="$w1" -v b="$best1" 'BEGIN { print (a < b ? a : b) }')
  best2=$(awk -v a="$w2" -v b="$best2" 'BEGIN { print (a < b ? a : b) }')
done
printf 'sweep of 16 points, best of 2: --jobs 1 %.2f s, --jobs 2 %.2f s\n' "$best1" "$best2"
awk -v a="$best1" -v b="$best2" 'BEGIN { printf "speed-up --jobs 2 / --jobs 1: %.2f (acceptance A: >= 1.8)\n", a / b }'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

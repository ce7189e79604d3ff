#!/usr/bin/env bash
# Benchmark of issue 12, acceptance A and B: the fast write solver against the exact one.
#  - B: `ecramsim program` of the random N x N target (numpy default_rng(1).random((N, N)) as
#    CSV), pwm, row order, with --write-solver exact and fast in the same run: wall time of each,
#    their ratio, and the largest difference of the final maps (% of the window). N from SIZES
#    (default "64"; empty: none); FAST_ONLY sizes (default "128") are timed with the fast solver
#    alone. THREADED sizes (default none) are timed again with the fast solver on THREADS
#    threads (default 2), not pinned, wall time first; their final maps must equal the one-core
#    run's to the bit (a size in THREADED is also run on one core).
#  - A at 48x48 (grounded, pwm and count, V/2 and V/3) and 16x16 floating: the `bench`
#    cases of tests/program/test_write_solver.cpp (skipped in the suite). SKIP_A=1 skips them.
# One core: every run is a single process pinned to core CORE (default 1); the time reported is
# its CPU time (user + system), with the wall time beside it.
# Usage: tools/bench/write_solver.sh [BUILD_DIR]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$repo/build}"
bin="$build/ecramsim"
py=/usr/bin/python3
sizes="${SIZES-64}"
fast_only="${FAST_ONLY-128}"
core="${CORE:-1}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# shellcheck source=lib.sh
source "$repo/tools/bench/lib.sh"
target() { random_target "$1" "$scratch/t$1.csv"; }  # target N: writes $scratch/tN.csv

timed() {  # timed N SOLVER [THREADS]: runs program on one core (or THREADS threads on any);
          # prints "cpu_seconds wall_seconds rmse_pct"
  local n="$1" solver="$2" threads="${3:-1}" out pin=(taskset -c "$core") tag="$2"
  if [[ "$threads" != 1 ]]; then pin=(); tag="${solver}_t$threads"; fi
  out=$(/usr/bin/time -f "%U %S %e" -o "$scratch/time" "${pin[@]}" "$bin" program \
          -t "$scratch/t$n.csv" --scheme pwm --order row --write-solver "$solver" \
          --threads "$threads" -q --json -o "$scratch/p${n}_$tag.h5")
  local rmse
  rmse=$(echo "$out" | "$py" -c "import json, sys; print(json.load(sys.stdin)['metrics']['rmse_pct'])")
  echo "$(awk '{printf "%.2f %.2f", $1 + $2, $3}' "$scratch/time") $rmse"
}

mapdiff() {  # mapdiff N [OTHER]: largest |after_fast - after_OTHER| (default exact), % of the
             # shipped card's 2 uS window
  "$py" - "$scratch/p$1_fast.h5" "$scratch/p$1_${2:-exact}.h5" <<'EOF'
import sys, h5py, numpy as np
a = h5py.File(sys.argv[1], "r")["maps/after_s"][...]
b = h5py.File(sys.argv[2], "r")["maps/after_s"][...]
print(f"{100 * np.max(np.abs(a - b)) / 2e-6:.2e}")
EOF
}

echo "B: program, random target, pwm, row order, one process each pinned to core $core"
echo "   (CPU s = user + system, the time on one core; wall s in parentheses: the machine is shared)"
printf "%6s %18s %18s %8s %12s %12s %16s\n" N exact_cpu_s fast_cpu_s ratio rmse_exact rmse_fast \
  max_diff_pct
for n in $sizes; do
  target "$n"
  read -r te we re < <(timed "$n" exact)
  read -r tf wf rf < <(timed "$n" fast)
  echo "$tf $wf" > "$scratch/one_$n"
  printf "%6s %18s %18s %8.1f %12.3f %12.3f %16s\n" "$n" "$te ($we)" "$tf ($wf)" \
    "$(echo "$te $tf" | awk '{print $1/$2}')" "$re" "$rf" "$(mapdiff "$n")"
done
threaded="${THREADED-}"
threads="${THREADS:-2}"
for n in $(printf "%s\n" $fast_only $threaded | awk '!seen[$0]++'); do
  [[ -e "$scratch/one_$n" ]] && continue  # timed above
  target "$n"
  read -r tf wf rf < <(timed "$n" fast)
  echo "$tf $wf" > "$scratch/one_$n"
  printf "%6s %18s %18s %8s %12s %12.3f %16s\n" "$n" "-" "$tf ($wf)" "-" "-" "$rf" "-"
done
if [[ -n "$threaded" ]]; then
  echo
  echo "B on $threads threads (fast solver, not pinned): wall s, CPU s in parentheses; the map"
  echo "   against the one-core run's (0 = identical)"
  printf "%6s %20s %20s %10s %16s\n" N one_core_wall_s threads_wall_s speedup max_diff_pct
  for n in $threaded; do
    read -r tt wt rt < <(timed "$n" fast "$threads")
    read -r tf wf < <(awk '{print $1, $2}' "$scratch/one_$n" 2>/dev/null || echo "- -")
    printf "%6s %20s %20s %10s %16s\n" "$n" "$wf ($tf)" "$wt ($tt)" \
      "$(echo "$wf $wt" | awk '{printf "%.2f", $1/$2}')" "$(mapdiff "$n" "fast_t$threads")"
  done
fi

if [[ "${SKIP_A:-0}" != 1 ]]; then
  echo
  echo "A: fast against exact final maps (bench cases of tests/program/test_write_solver.cpp)"
  "$build/tests/test_program" --no-skip -tc='bench acceptance A: fast*' -s 2>&1 |
    grep -E 'MESSAGE|test cases' | sed 's/^.*MESSAGE: //'
fi

#!/usr/bin/env bash
# Benchmark of issue 12, acceptance F: `ecramsim program --scheme pwm --compensate lines`.
#  - Random N x N targets (numpy default_rng(1).random((N, N)) as CSV), row order, shipped lines,
#    the default card (variation on): RMSE (% of the window), max error and CPU time with
#    --compensate none and lines, one after the other; the same without variation
#    (--no-variation: what is left is what the controller's model misses) when NOVAR=1 (default).
#    N from SIZES (default "64 128"). NODAL sizes (default none) also run --compensate nodal.
#  - The CPU time of the plans alone at 64 and 128 (a bench case of tests/program).
#  - The five shipped 10x10 patterns (data/patterns), pwm serial and row order: RMSE with
#    --compensate none and lines (the `ecramsim paper` program_patterns run pwm serial without
#    compensation: its figures are the "none" serial column).
# One core: every run is a single process pinned to core CORE (default 1); the time reported is
# its CPU time (user + system), with the wall time beside it.
# Usage: tools/bench/compensate.sh [BUILD_DIR]
set -euo pipefail
sizes="${SIZES-64 128}" nodal="${NODAL-}" novar="${NOVAR:-1}" core="${CORE:-1}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${1:-$repo/build}/ecramsim"
py=/usr/bin/python3
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# shellcheck source=lib.sh
source "$repo/tools/bench/lib.sh"

run() {  # run TARGET ORDER COMPENSATE [FLAGS...]: prints "cpu_s wall_s rmse_pct max_error_pct"
  local t="$1" order="$2" comp="$3" out
  shift 3
  out=$(/usr/bin/time -f "%U %S %e" -o "$scratch/time" taskset -c "$core" "$bin" program \
          -t "$t" --scheme pwm --order "$order" --compensate "$comp" "$@" \
          -q --json -o "$scratch/p.h5")
  echo "$(awk '{printf "%.2f %.2f", $1 + $2, $3}' "$scratch/time") $(echo "$out" | "$py" -c \
    "import json, sys; m = json.load(sys.stdin)['metrics']; \
print('%.3f %.2f' % (m['rmse_pct'], m['max_error_pct']))")"
}

decompose() {  # decompose H5: where the error of a run sits (the last run's file)
  "$py" - "$1" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
e = f["maps/error_pct"][...]
d = np.abs(f["maps/disturb_s"][...]) / (f["/config"].attrs["window_high_s"] - f["/config"].attrs["window_low_s"]) * 100
t = f["maps/target_s"][...]
q = np.digitize((t - t.min()) / (t.max() - t.min()), [0.25, 0.5, 0.75])
print("      error: mean %.2f %%; by target quarter %s %%; row 0 %.2f %%, last row %.2f %%; "
      "disturb mean %.2f %%, row 0 %.2f %%, last row %.2f %%" % (
        e.mean(), " ".join("%.2f" % e[q == k].mean() for k in range(4)), e[0].mean(),
        e[-1].mean(), d.mean(), d[0].mean(), d[-1].mean()))
PY
}

echo "Random targets, pwm, row order, shipped lines; one process each pinned to core $core"
echo "(CPU s = user + system; wall s in parentheses: the machine is shared)"
printf "%5s %-14s %-6s %18s %10s %10s\n" N variation comp cpu_s rmse_pct max_err_pct
for n in $sizes; do
  random_target "$n" "$scratch/t$n.csv"
  variants=("on")
  [ "$novar" = 1 ] && variants+=("off")
  for v in "${variants[@]}"; do
    flags=()
    [ "$v" = off ] && flags=(--no-variation)
    comps=(none lines)
    for m in $nodal; do [ "$m" = "$n" ] && comps+=(nodal); done
    for comp in "${comps[@]}"; do
      read -r cpu wall rmse maxe < <(run "$scratch/t$n.csv" row "$comp" ${flags[@]+"${flags[@]}"})
      printf "%5s %-14s %-6s %18s %10s %10s\n" "$n" "$v" "$comp" "$cpu ($wall)" "$rmse" "$maxe"
      [ "$v" = off ] && decompose "$scratch/p.h5"
    done
  done
done

echo
echo "The plans alone (tests/program bench case; CPU time of planLineCompensation):"
taskset -c "$core" "$(dirname "$bin")/tests/test_program" --no-skip \
  -tc="bench compensate lines*" 2>&1 | grep "two plans" | sed 's/^.*MESSAGE: /  /'

echo
echo "The shipped 10x10 patterns, pwm, shipped lines, default card: RMSE (% of the window)"
printf "%-10s %12s %12s %12s %12s\n" pattern serial_none serial_lines row_none row_lines
for p in letter_e letter_c letter_r letter_a letter_m; do
  t="$repo/data/patterns/$p.pgm"
  line="$p"
  for order in serial row; do
    for comp in none lines; do
      read -r _ _ rmse _ < <(run "$t" "$order" "$comp")
      line="$line $rmse"
    done
  done
  printf "%-10s %12s %12s %12s %12s\n" $line
done

#!/usr/bin/env bash
# Benchmark of issue 12, item 5: how the nodal engine's costs grow with the array side N.
#  1. The `bench scale` case of tests/array/test_scale.cpp (one process, one core): per N, read
#     of 10 vectors (engine setup + conductances + solve) with the fast line solver and with the
#     exact CHOLMOD supernodal solver (N <= SCALE_EXACT_MAX), the C x R transfer matrix with both
#     (N <= SCALE_TRANSFER_MAX), the fast solver's sweeps or CG iterations and its largest
#     deviation from exact (fraction of the largest current), one row-parallel write phase on the shipped lines (pwm: N distinct widths; count: one
#     width, median of 5; CPU time) with grounded lines (N <= SCALE_WRITE_MAX) and floating lines
#     (N <= SCALE_FLOAT_MAX), the peak resident memory so far, and the fitted growth exponent
#     (least-squares slope of log time against log N) of every column.
#  2. `ecramsim vmm --rows N --cols N --vectors 10` end to end with --read-solver fast and exact,
#     for N in VMM_SIZES: wall time and peak memory.
#  3. A whole programming run of the random target (numpy default_rng(1).random((N, N))), pwm,
#     row order, fast write solver, for N in PROGRAM_SIZES: CPU time (user + system: the time on
#     one core, as the machine is shared), peak memory, RMSE, and the growth exponent of the time.
# Usage: tools/bench/scale.sh [BUILD_DIR]   (targets ecramsim and test_array)
#   SCALE_SIZES (default "16 32 64 128 256 512"), SCALE_EXACT_MAX (512), SCALE_TRANSFER_MAX
#   (256), SCALE_WRITE_MAX (128), SCALE_FLOAT_MAX (32), VMM_SIZES (default "512"),
#   PROGRAM_SIZES (default "16 32 64"); an empty list skips its part.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$repo/build}"
py=/usr/bin/python3
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

echo "Per N: read, transfer matrix and one write phase (s); peak resident memory (MiB)"
SCALE_SIZES="${SCALE_SIZES:-16 32 64 128 256 512}" "$build/tests/test_array" --no-skip \
  -tc='bench scale*' 2>&1 | grep -v -E '^\[doctest\]|^=+$'

echo
echo "vmm --rows N --cols N --vectors 10, end to end, per read solver"
printf "%6s %8s %10s %10s\n" N solver wall_s peak_MiB
for n in ${VMM_SIZES-512}; do
  for solver in fast exact; do
    /usr/bin/time -f "%e %M" -o "$scratch/time" "$build/ecramsim" vmm --rows "$n" --cols "$n" \
      --vectors 10 --read-solver "$solver" -q -o "$scratch/v$n.h5" > /dev/null
    read -r wall kb < "$scratch/time"
    printf "%6s %8s %10s %10.1f\n" "$n" "$solver" "$wall" "$(echo "$kb" | awk '{print $1/1024}')"
  done
done

echo
echo "Programming run: random target, pwm, row order, --write-solver fast"
printf "%6s %10s %10s %10s\n" N cpu_s peak_MiB rmse_pct
: > "$scratch/times"
for n in ${PROGRAM_SIZES-16 32 64}; do
  "$py" -c "import numpy as np, sys; n = int(sys.argv[1]); \
np.savetxt(sys.argv[2], np.random.default_rng(1).random((n, n)), delimiter=',')" \
    "$n" "$scratch/t$n.csv"
  /usr/bin/time -f "%U %S %M" -o "$scratch/time" "$build/ecramsim" program \
    -t "$scratch/t$n.csv" --scheme pwm --order row -q --json -o "$scratch/p$n.h5" \
    > "$scratch/out.json"
  read -r user sys kb < "$scratch/time"
  wall=$(echo "$user $sys" | awk '{printf "%.2f", $1 + $2}')
  rmse=$("$py" -c "import json, sys; print(json.load(open(sys.argv[1]))['metrics']['rmse_pct'])" \
           "$scratch/out.json")
  printf "%6s %10s %10.1f %10.3f\n" "$n" "$wall" "$(echo "$kb" | awk '{print $1/1024}')" "$rmse"
  echo "$n $wall" >> "$scratch/times"
done
"$py" - "$scratch/times" <<'EOF'
import os, sys, numpy as np
if os.path.getsize(sys.argv[1]) == 0:
    sys.exit(0)
d = np.loadtxt(sys.argv[1], ndmin=2)
if len(d) >= 2:
    print(f"{'growth':>6} {np.polyfit(np.log(d[:, 0]), np.log(d[:, 1]), 1)[0]:10.2f}")
EOF

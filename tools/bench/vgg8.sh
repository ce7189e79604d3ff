#!/usr/bin/env bash
# The VGG-8 study of issue 14 (the paper's "training studied in simulation for large-scale
# networks"): NeuroSim's VGG-8 at --width WIDTH on Fashion-MNIST, plain SGD (batch 32, lr 0.05),
# EPOCHS epochs, every run from the same seed (same initial weights and data order):
#   ideal          --ideal: the floating-point baseline (acceptance A: >= 88 %)
#   default        the default card on 128 x 128 tiles, shipped lines (2 Ohm, 20 Ohm), V/2,
#                  pulse-factor write model, state-aware controller (acceptance A: within
#                  1.5 points of ideal)
#   strong_linear  models/strong_nonlinear.model with --linear-controller (acceptance B)
#   strong_aware   the same card with the state-aware controller (its recovery, if any)
#   read1          the default run with --read-refresh 1 (the effective weights read every
#                  batch), on READ_SUBSET samples with the default interval beside it (read50),
#                  and one with --refresh 1 (the write model's factors every batch, refresh1):
#                  the cost of the refresh intervals in accuracy
#   settings       the controller settings of the default (w_scale 1, no dead band) against
#                  mushroom's (w_scale 2, dead band 0.1 pulse) and the dead band alone, one
#                  epoch on SETTINGS_SUBSET samples (test on READ_SUBSET), beside --ideal there
# For each run: test accuracy per epoch, seconds per epoch, pulses, write energy, and the
# profile (forward, backward, update, read refresh, write refresh) of the last run of each kind.
# Files (HDF5 + learning-curve PNG) go to OUT. Runs use THREADS libtorch threads and the
# default two tile threads; on the shared 2-core machine the wall times include other load.
# Usage: tools/bench/vgg8.sh [BUILD_DIR]
#   EPOCHS (default 5), WIDTH (0.25), SUBSET (0: all 60,000), TEST_SUBSET (0: all 10,000),
#   RUNS (default "ideal default strong_linear strong_aware read1"; "settings" on request),
#   READ_SUBSET (2000), SETTINGS_SUBSET (10000),
#   THREADS (0: one per core), OUT (default results/vgg8), TABLE_ONLY=1: no runs, the table of
#   the files of RUNS already in OUT (any run names then, e.g. runs renamed after the fact).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$repo/build}"
bin="$build/ecramsim"
epochs="${EPOCHS:-5}"
width="${WIDTH:-0.25}"
subset="${SUBSET:-0}"
test_subset="${TEST_SUBSET:-0}"
runs="${RUNS:-ideal default strong_linear strong_aware read1}"
read_subset="${READ_SUBSET:-2000}"
settings_subset="${SETTINGS_SUBSET:-10000}"
threads="${THREADS:-0}"
out="${OUT:-$repo/results/vgg8}"
mkdir -p "$out"

common=(train vgg8 --json --width "$width" --epochs "$epochs" --test-subset "$test_subset"
        --threads "$threads" --seed 1)
strong="$repo/models/strong_nonlinear.model"

run() {  # run NAME [options]
  local name="$1"
  shift
  echo "[vgg8.sh] $name: ${*:-(defaults)}" >&2
  /usr/bin/time -f "%e %U %S" -o "$out/$name.time" "$bin" "${common[@]}" -o "$out/$name.h5" "$@" \
    > "$out/$name.json"
}

for r in $runs; do
  [ "${TABLE_ONLY:-0}" = 1 ] && break
  case "$r" in
    ideal) run ideal --subset "$subset" --ideal ;;
    default) run default --subset "$subset" ;;
    strong_linear) run strong_linear --subset "$subset" -m "$strong" --linear-controller ;;
    strong_aware) run strong_aware --subset "$subset" -m "$strong" ;;
    read1)
      run read50 --subset "$read_subset" --read-refresh 50
      run read1 --subset "$read_subset" --read-refresh 1
      run refresh1 --subset "$read_subset" --refresh 1
      ;;
    settings)
      saved=("${common[@]}")
      common=(train vgg8 --json --width "$width" --epochs 1 --test-subset "$read_subset"
              --threads "$threads" --seed 1 --subset "$settings_subset")
      run settings_ideal --ideal
      run settings_mushroom --w-scale 2 --init-spread 0.05 --dead-band 0.1
      run settings_deadband0 --w-scale 2 --init-spread 0.05 --dead-band 0
      run settings_default
      common=("${saved[@]}")
      ;;
    *) echo "vgg8.sh: unknown run '$r'" >&2; exit 2 ;;
  esac
done

/usr/bin/python3 - "$out" $runs <<'EOF'
import json, os, sys
import h5py
out, runs = sys.argv[1], sys.argv[2:]
names = []
for r in runs:
    names += {"read1": ["read50", "read1", "refresh1"],
              "settings": ["settings_ideal", "settings_mushroom", "settings_deadband0",
                           "settings_default"]}.get(r, [r])
rows = {}
for n in names:
    path = os.path.join(out, n + ".h5")
    with h5py.File(path, "r") as f:
        m = {k: float(f["metrics"][k][()]) for k in f["metrics"]}
        acc = [float(a) for a in f["training/test_accuracy"][()]]
        sec = [float(s) for s in f["training/seconds"][()]]
    tpath = os.path.join(out, n + ".time")  # absent for a run that was resumed (--resume)
    if os.path.exists(tpath):
        wall, user, sys_ = (float(x) for x in open(tpath).read().split()[:3])
        rows[n] = (m, acc, sec, wall, user + sys_)
    else:
        rows[n] = (m, acc, sec, None, None)
print("| run | test accuracy per epoch (%) | final (%) | s per epoch (mean) | CPU s (run) | "
      "pulses | write energy (J) |")
print("|---|---|---|---|---|---|---|")
for n, (m, acc, sec, wall, cpu) in rows.items():
    print(f"| {n} | {' '.join(f'{100 * a:.2f}' for a in acc)} | {100 * acc[-1]:.2f} | "
          f"{sum(sec) / len(sec):.0f} | {'-' if cpu is None else f'{cpu:.0f}'} | "
          f"{m.get('pulses_total', 0):.4g} | "
          f"{m.get('write_energy_j', 0):.4g} |")
if "ideal" in rows and "default" in rows:
    gap = 100 * (rows["ideal"][1][-1] - rows["default"][1][-1])
    print(f"\nA: ideal {100 * rows['ideal'][1][-1]:.2f} % (>= 88 %), default card "
          f"{100 * rows['default'][1][-1]:.2f} %: {gap:.2f} points below ideal (<= 1.5)")
if "strong_linear" in rows and "default" in rows:
    lin, dflt = 100 * rows["strong_linear"][1][-1], 100 * rows["default"][1][-1]
    print(f"B: strong nonlinearity, linear controller {lin:.2f} %: {dflt - lin:.2f} points below "
          f"the default card's {dflt:.2f} %"
          + (f"; state-aware controller {100 * rows['strong_aware'][1][-1]:.2f} %"
             if "strong_aware" in rows else ""))
if "read1" in rows:
    print(f"read refresh: every batch {100 * rows['read1'][1][-1]:.2f} %, every 50 batches "
          f"{100 * rows['read50'][1][-1]:.2f} % (same subset); write-model refresh every batch "
          f"{100 * rows['refresh1'][1][-1]:.2f} % (default every 10)")
for n, (m, acc, sec, wall, cpu) in rows.items():
    if "profile_forward_s" not in m:
        continue
    parts = ["forward", "backward", "update", "read_refresh", "write_refresh"]
    print(f"C profile {n}: " + ", ".join(f"{p} {m.get('profile_' + p + '_s', 0):.0f} s"
                                          for p in parts)
          + f"; {sum(sec) / len(sec):.0f} s per epoch")
EOF

#!/usr/bin/env bash
# Floating gates in the nodal engine (backward-Euler double layers) against the ngspice
# transient. A 4x4 map is written open loop (count, row-parallel) under V/3 with unselected
# lines floating, by both engines, with the default card (r_leak = 1 TOhm: a floating gate line
# relaxes with c_dl r_leak = 2.5 s, far longer than a 100 ms pulse) and with r_leak = 1 GOhm
# (2.5 ms, so DC is reached within the pulse). Prints the largest disturb of each engine and
# the largest difference of the written maps, in % of the window.
# Usage: tools/bench/floating_transient.sh [BUILD_DIR]      (about 30 s)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$repo/build}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
printf "0.2,0.8,0.5,0.1\n0.9,0.3,0.6,0.4\n0.7,0.1,0.2,0.9\n0.5,0.5,0.8,0.3\n" > "$scratch/t4.csv"
for leak in 1T 1G; do
  for engine in nodal spice; do
    "$build/ecramsim" program -q -t "$scratch/t4.csv" --scheme count --order row --bias v3 \
      --unselected floating --set "r_leak=$leak" --engine "$engine" -o "$scratch/${leak}_$engine.h5" \
      > /dev/null
  done
  /usr/bin/python3 - "$scratch" "$leak" <<'PY'
import sys
import h5py
import numpy as np
d, leak = sys.argv[1], sys.argv[2]
f = {e: h5py.File(f"{d}/{leak}_{e}.h5", "r") for e in ("nodal", "spice")}
g = {e: f[e]["maps/after_s"][()] for e in f}
window = f["nodal"]["config/model/params/gmax"][()] - f["nodal"]["config/model/params/gmin"][()]
dist = {e: f[e]["metrics/disturb_max_pct"][()] for e in f}
print(f"r_leak = {leak}: max disturb nodal {dist['nodal']:.4f} %, spice {dist['spice']:.4f} %; "
      f"max |G_spice - G_nodal| = {100 * np.abs(g['spice'] - g['nodal']).max() / window:.2e} % of the window")
PY
done

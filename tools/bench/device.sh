#!/usr/bin/env bash
# Benchmark of issue 2 (acceptance I): `ecramsim device windows` on all six window cards, pinned
# to one core, and the whole of `ecramsim paper` (with figures). Prints seconds per run; best of
# REPEATS (default 5). Usage: tools/bench/device.sh [BUILD_DIR]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$repo/build}"
bin="$build/ecramsim"
repeats="${REPEATS:-5}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# shellcheck source=lib.sh
source "$repo/tools/bench/lib.sh"

w=$(best taskset -c 0 "$bin" device windows -q -o "$scratch/w.h5")
echo "device windows (6 cards x 200 pulses, one core): ${w} s  (target < 5 s)"
p=$(best "$bin" paper -q --out "$scratch/paper")
echo "paper (all experiments + PNG figures): ${p} s"
p2=$(best "$bin" paper -q --no-plots --out "$scratch/paper2")
echo "paper --no-plots (simulation + HDF5 only): ${p2} s"

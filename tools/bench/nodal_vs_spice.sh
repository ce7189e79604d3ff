#!/usr/bin/env bash
# Benchmark of the nodal read engine (issue 4, part 4): time per solve of the nodal engine and
# of ngspice (.op on the same generated resistor crossbar) at 8, 16 and 32; the nodal engine
# alone at 64, 128, 256 and 512 (ECRAMSIM_BENCH_SKIP_512=1 leaves 512 out): analysis, factorization and solve
# time and peak memory (VmHWM after resetting it); VMM throughput at 128x128 on one core, by
# direct back-substitution and through the transfer matrix.
# Usage: tools/bench/nodal_vs_spice.sh [BUILD_DIR]   (the build needs the target test_vmm)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$repo/build}"
exec taskset -c 0 "$build/tests/test_vmm" --no-skip -tc='bench*'

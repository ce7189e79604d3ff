#!/usr/bin/env bash
# The ngspice cross-checks too long for the test suite (minutes of ngspice each): reads and write
# operating points of a 32x32 array (1e-9 relative, grounded and floating lines, V/2 and V/3) and
# issue 4's acceptance D at full length (10x10, 10 pulses per cell, maps within 1e-3 of the
# range), and issue 5's acceptance D on the letter E pattern (10x10, pwm, serial, within 1% of
# the window). The suite runs the same checks at 4x4 and 10x10, with 3 pulses per cell, and on a
# 5x5 target. Then mushroom training (100 rows, one epoch) on --engine spice against nodal
# (final conductances within 1e-3 of the range, same pulses and accuracy; about 3 minutes).
# Usage: tools/bench/spice_crosscheck.sh [BUILD_DIR]
#   (the build needs the targets test_spicebackend, test_train and test_nn)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$repo/build}"
"$build/tests/test_spicebackend" --no-skip -tc='bench*' -s -d
"$build/tests/test_train" --no-skip -tc='bench*' -s -d
"$build/tests/test_nn" --no-skip -tc='bench --engine spice*' -s -d

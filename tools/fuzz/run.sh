#!/usr/bin/env bash
# Runs libFuzzer harnesses (fuzz/) on seed corpora built from the shipped files.
# Usage: tools/fuzz/run.sh TARGET|all SECONDS [libFuzzer flags...]
#   TARGET: modelcard netlist spec targets_pgm targets_csv hdf5
# Configures and builds build-fuzz (clang-14, -DECRAMSIM_FUZZ=ON) when needed. The seeds are
# copied into a scratch corpus under ECRAMSIM_FUZZ_WORK (default: a new temporary folder), so the
# repository is never modified; crash reproducers land in WORK/TARGET/artifacts/.
# Each harness runs SECONDS with -timeout=10 -rss_limit_mb=2048 (hdf5: see below); the script prints its
# executions and result. Exit status: 0 when every harness ran clean, 1 when one found a crash,
# leak, timeout or out-of-memory, 2 on a usage error.
# Environment: ECRAMSIM_FUZZ_BUILD_DIR (default <repo>/build-fuzz), ECRAMSIM_JOBS (build jobs).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${ECRAMSIM_FUZZ_BUILD_DIR:-$repo/build-fuzz}"
jobs="${ECRAMSIM_JOBS:-$(nproc)}"
all_targets=(modelcard netlist spec targets_pgm targets_csv hdf5)

usage() {
  echo "usage: $0 TARGET|all SECONDS [libFuzzer flags...]  (TARGET: ${all_targets[*]})" >&2
  exit 2
}
(($# >= 2)) || usage
target="$1"
seconds="$2"
shift 2
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || usage
if [ "$target" = all ]; then
  targets=("${all_targets[@]}")
elif [[ " ${all_targets[*]} " == *" $target "* ]]; then
  targets=("$target")
else
  usage
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$repo" -B "$build" -DECRAMSIM_FUZZ=ON \
    -DECRAMSIM_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DECRAMSIM_PYTHON=/usr/bin/python3 >&2
fi
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
# The HDF5 seeds are result files written by the (instrumented) tool itself.
[[ " ${targets[*]} " == *" hdf5 "* ]] && build_targets+=(ecramsim)
cmake --build "$build" -j "$jobs" --target "${build_targets[@]}" >&2

work="${ECRAMSIM_FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/ecramsim-fuzz-run-XXXXXX")}"
mkdir -p "$work"

# Writes the seeds of harness $1 into folder $2.
make_seeds() {
  local t="$1" dir="$2" f
  case "$t" in
    modelcard) cp "$repo"/models/*.model "$repo"/models/windows/*.model "$dir"/ ;;
    netlist) cp "$repo"/netlists/*.cir "$repo"/tests/data/netlists/*.cir \
                "$repo"/tests/data/cosim/*.cir "$dir"/ ;;
    spec) cp "$repo"/examples/sweeps/*.toml "$dir"/ ;;
    targets_pgm)
      cp "$repo"/data/patterns/*.pgm "$dir"/
      # The same images as binary P5 (8-bit, and 16-bit big-endian for the letter A).
      /usr/bin/python3 - "$dir" "$repo"/data/patterns/*.pgm <<'PY'
import pathlib, sys
out = pathlib.Path(sys.argv[1])
for i, src in enumerate(sys.argv[2:]):
    words = [w for line in open(src) for w in line.split("#")[0].split()]
    cols, rows, maxval = (int(w) for w in words[1:4])
    pixels = [int(w) for w in words[4:4 + rows * cols]]
    wide = i == 0
    scale = 257 if wide else 1
    body = b"".join(int(p * scale).to_bytes(2 if wide else 1, "big") for p in pixels)
    header = f"P5\n{cols} {rows}\n{maxval * scale}\n".encode()
    (out / (pathlib.Path(src).stem + "_p5.pgm")).write_bytes(header + body)
PY
      ;;
    targets_csv)
      # The patterns as CSV matrices of values in [0, 1].
      for f in "$repo"/data/patterns/*.pgm; do
        awk '{ sub(/#.*/, "") } { for (i = 1; i <= NF; i++) w[n++] = $i }
             END { c = w[1]; r = w[2]; m = w[3]; k = 4
                   for (y = 0; y < r; y++) { line = ""
                     for (x = 0; x < c; x++) line = line (x ? "," : "") sprintf("%.6g", w[k++] / m)
                     print line } }' "$f" > "$dir/$(basename "$f" .pgm).csv"
      done
      printf '# comment\n0, 0.5 ,1\r\n1e-3,250m,0\n' > "$dir/mixed.csv"
      ;;
    hdf5)
      local cli="$build/ecramsim"
      {
        "$cli" device pulses --counts 5,5 --seed 3 -o "$dir/pulses.h5"
        "$cli" device uniformity --devices 2 --cycles 1 --pulses 5 -o "$dir/uniformity.h5"
        "$cli" device gate-iv --points 5 -o "$dir/gate_iv.h5"
      } > "$dir/../seeds.log"
      ;;
  esac
}

status=0
summary=()
for t in "${targets[@]}"; do
  dir="$work/$t"
  rm -rf "$dir"
  mkdir -p "$dir/seeds" "$dir/corpus" "$dir/artifacts" "$dir/tmp"
  make_seeds "$t" "$dir/seeds"
  echo "fuzz: $t for ${seconds}s, corpus $dir/corpus" >&2
  # The HDF5 reader reads each file in a forked child that the harness bounds at 1 s of CPU
  # (io/isolated.hpp); libFuzzer's malloc limit would fire inside that child, whose crashes and
  # allocations are the product's own business (they become an IoError). A sanitizer report in
  # that child is about libhdf5 (not instrumented) and ends it: it is not symbolized, which
  # would cost a second per corrupt file.
  limits=(-timeout=10 -rss_limit_mb=2048)
  asan="${ASAN_OPTIONS:-}"
  if [ "$t" = hdf5 ]; then
    limits=(-timeout=30 -rss_limit_mb=2048 -malloc_limit_mb=1048576)
    asan="symbolize=0${asan:+:$asan}"
  fi
  set +e
  TMPDIR="$dir/tmp" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" ASAN_OPTIONS="$asan" \
    "$build/fuzz/fuzz_$t" -max_total_time="$seconds" "${limits[@]}" \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "$@" "$dir/corpus" "$dir/seeds" \
    > "$dir/log" 2>&1
  rc=$?
  set -e
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log" | tail -1 |
           grep -o '[0-9]*$' || true)"
  if [ "$rc" -eq 0 ]; then
    result="ok"
  else
    status=1
    kind="$(grep -m1 -E 'ERROR: |runtime error: ' "$dir/log" |
            sed -E 's/^.*(ERROR: |runtime error: )/\1/' | cut -c1-100 || true)"
    artifact="$(ls -t "$dir/artifacts" 2>/dev/null | head -1)"
    result="FAILED (exit $rc: ${kind:-see log})"
    result+=" reproducer: ${artifact:+$dir/artifacts/$artifact} log: $dir/log"
    grep -A12 "ERROR\|runtime error" "$dir/log" | head -n 30 >&2
  fi
  summary+=("$(printf '%-12s executions %-10s %s' "$t" "${execs:-?}" "$result")")
done
printf '%s\n' "${summary[@]}"
exit "$status"

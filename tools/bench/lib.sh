# Shared pieces of the benchmark scripts; source it after setting `repeats`.

# best wall time of "$@" over $repeats runs, in seconds (output discarded)
best() {
  local best_s=""
  for _ in $(seq "$repeats"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > /dev/null 2>&1
    t1=$(date +%s.%N)
    best_s=$(echo "$t0 $t1 ${best_s:-1e9}" | awk '{d=$2-$1; print (d<$3)?d:$3}')
  done
  echo "$best_s"
}

# random_target N FILE: the random N x N target of issue 12 (numpy default_rng(1).random((N, N))
# saved as CSV) in FILE
random_target() {
  /usr/bin/python3 -c "import numpy as np, sys; n = int(sys.argv[1]); \
np.savetxt(sys.argv[2], np.random.default_rng(1).random((n, n)), delimiter=',')" "$1" "$2"
}

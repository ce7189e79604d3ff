#!/usr/bin/env bash
# Idempotent set-up: installs the Debian packages ecramsim needs (only those missing; apt-get is
# not touched when all are present), then configures and builds the project in ./build (Release).
# Usage: tools/setup.sh            (from anywhere; the repository is found from this script's path)
# Environment: ECRAMSIM_BUILD_DIR (default <repo>/build), ECRAMSIM_JOBS (default: core count).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${ECRAMSIM_BUILD_DIR:-$repo/build}"
jobs="${ECRAMSIM_JOBS:-$(nproc)}"

packages=(
  g++ cmake make pkg-config
  libngspice0-dev ngspice            # SPICE engine (shared library) + its code models and spinit
  libboost-dev                       # Boost.Odeint (header-only)
  libeigen3-dev                      # nodal engine
  libhdf5-dev                        # HDF5 C++ API
  doctest-dev libcli11-dev libtomlplusplus-dev
  python3-h5py python3-numpy python3-matplotlib   # plots and HDF5 checks, Debian's /usr/bin/python3
  openmpi-bin libopenmpi-dev         # mpirun -n P ecramsim sweep (ECRAMSIM_MPI)
  adms                               # admsXml: tests parse the exported Verilog-A (model export)
  python3-xarray python3-h5netcdf    # tests open result files as netCDF-4 (README "Reading the results")
  libceres-dev                       # Ceres Solver: least squares of `ecramsim fit` (src/fit/)
  libsuitesparse-dev libmetis-dev    # CHOLMOD supernodal Cholesky, METIS nested dissection (read)
  zlib1g-dev                         # gzip-compressed IDX data sets (Fashion-MNIST)
  libtorch-dev                       # network training (src/nn/: train mlp, train vgg8)
  dataset-fashion-mnist              # the default data set of train mlp|vgg8 (IDX, gzip)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing missing Debian packages: ${missing[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
else
  echo "setup: all Debian packages present" >&2
fi

cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DECRAMSIM_PYTHON=/usr/bin/python3 -DECRAMSIM_MPI=ON >&2
cmake --build "$build" -j "$jobs" >&2
echo "setup: built $build/ecramsim" >&2

#!/usr/bin/env bash
# Installs the Debian 12 packages lmrnn builds against (run as root, or with sudo available).
#   build-essential pkg-config   compiler, make, pkg-config
#   libopenblas-dev              dense linear algebra (sgemm) for the RNN engine
#   liblapacke-dev               LAPACK's C interface: eigenvalues and SVDs of the analyses
#   libcjson-dev                 JSON config, logs and eval tables
#   libzip-dev                   .npz (zip of .npy) checkpoints and datasets
#   libplplot-dev plplot-driver-cairo   figures (PNG/SVG/PDF through cairo)
#   python3-numpy python3-scipy python3-setuptools python3-pip   the Python package (python/) and its tests
#                                (SciPy: the checkpoint's CSR W_rec is checked to load as a scipy.sparse matrix)
#   openmpi-bin libopenmpi-dev   build/lmrnn-mpi: sweeps over MPI ranks (optional; make MPI=0 skips it)
#   slurmctld slurmd slurm-client munge   a private single-node Slurm for tests/test_slurm.sh (a real sbatch array)
set -euo pipefail
pkgs=(build-essential pkg-config libopenblas-dev liblapacke-dev libcjson-dev libzip-dev libplplot-dev plplot-driver-cairo
      python3-numpy python3-scipy python3-setuptools python3-pip openmpi-bin libopenmpi-dev
      slurmctld slurmd slurm-client munge)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all packages present"
    exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

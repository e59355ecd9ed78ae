#!/usr/bin/env bash
# Installs every Debian package that hyquant's build, tests and scripts need. Idempotent; run as root
# (or with sudo available) on Debian 12.
set -euo pipefail
PKGS=(
    build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
    libonnx-dev libprotobuf-dev protobuf-compiler
    libcli11-dev libspdlog-dev libfmt-dev catch2 nlohmann-json3-dev
    libopenblas-dev libdnnl-dev libstb-dev
    # MPI (lib/dist: calibrate/evaluate split over mpirun/srun ranks; tests/e2e/mpi.sh runs mpirun)
    libopenmpi-dev openmpi-bin
    libonnx-testdata
    python3 python3-onnx python3-numpy python3-venv chromium
    # The HIP (DCU) backend, -DHYQUANT_WITH_HIP=ON (Debian's ROCm 5.2; hipcc pulls clang-15 and rocminfo,
    # lib/exec/hip/hip.cmake needs the device bitcode of rocm-device-libs).
    hipcc libamdhip64-dev rocm-device-libs
)
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
else
    echo "setup: all Debian packages present"
fi
# Node.js (for ONNX Runtime's npm package, the peer engine): take Debian's only when none is installed.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends nodejs npm
fi

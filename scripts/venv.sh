#!/usr/bin/env bash
# Creates (idempotently) the Python virtual environment of the benchmark scripts at
# <repo>/build-venv (git-ignored: build-*/) with the pinned packages of scripts/requirements-bench.txt
# from PyPI. Never installs into the system Python.
#
# Usage: scripts/venv.sh            # prints the venv's python path on stdout when done
#        VENV=/other/dir scripts/venv.sh
# On a fresh Debian 12 machine (as root) it installs python3-venv with apt-get when `python3 -m venv`
# does not work. The venv is rebuilt only when requirements-bench.txt changed (a stamp file holds its
# sha256).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$ROOT/build-venv}
REQ=$ROOT/scripts/requirements-bench.txt
BASE_PY=${BASE_PY:-/usr/bin/python3}
[ -x "$BASE_PY" ] || BASE_PY=$(command -v python3)
log() { echo "[venv] $*" >&2; }

want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" = "$want" ]; then
    echo "$VENV/bin/python"
    exit 0
fi

probe=$(mktemp -d)
if ! "$BASE_PY" -m venv "$probe/v" >/dev/null 2>&1 || [ ! -x "$probe/v/bin/pip" ]; then
    log "python3 -m venv does not work; installing python3-venv with apt-get"
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y python3-venv >&2
fi
rm -rf "$probe"

log "creating $VENV"
rm -rf "$VENV"
"$BASE_PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$REQ" >&2
echo "$want" >"$VENV/.requirements.sha256"
log "ready: $("$VENV/bin/python" -c 'import onnxruntime, onnx, numpy; print("onnxruntime", onnxruntime.__version__, "onnx", onnx.__version__, "numpy", numpy.__version__)')"
echo "$VENV/bin/python"

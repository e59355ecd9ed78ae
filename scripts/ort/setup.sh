#!/usr/bin/env bash
# Install ONNX Runtime's CPU build for Node (npm package onnxruntime-node, version pinned in
# package.json / package-lock.json) into scripts/ort/node_modules (git-ignored). Idempotent: does
# nothing when the pinned version is already installed and loads.
#
#   scripts/ort/setup.sh            # then: node scripts/ort/run.js --help
#
# Needs node (>= 18; tested with Node 20) and npm (Debian: apt-get install nodejs npm).
# onnxruntime-node bundles the CPU binaries (bin/napi-v6/linux/x64); its postinstall script would
# download the CUDA provider from api.nuget.org, which is not needed for the CPU peer and is
# skipped (ONNXRUNTIME_NODE_INSTALL=skip) so that setup works offline from an npm mirror/cache.
set -euo pipefail
cd "$(dirname "$0")"

command -v node >/dev/null || { echo "error: node is not installed (apt-get install nodejs npm)" >&2; exit 2; }
command -v npm >/dev/null || { echo "error: npm is not installed (apt-get install npm)" >&2; exit 2; }

want=$(node -p "require('./package.json').dependencies['onnxruntime-node']")
check() {
    node -e "
const v = require('onnxruntime-node/package.json').version;
if (v !== '$want') { console.error('installed onnxruntime-node ' + v + ', want $want'); process.exit(1); }
const ort = require('onnxruntime-node');
if (typeof ort.InferenceSession?.create !== 'function') process.exit(1);
" >/dev/null 2>&1
}

if check; then
    echo "onnxruntime-node $want already installed in $(pwd)/node_modules"
    exit 0
fi

export ONNXRUNTIME_NODE_INSTALL=skip
if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
else
    npm install --no-audit --no-fund --loglevel=error
fi
check || { echo "error: onnxruntime-node $want installed but does not load (node $(node --version))" >&2; exit 1; }
echo "installed onnxruntime-node $want into $(pwd)/node_modules"

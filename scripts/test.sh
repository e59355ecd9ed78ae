#!/usr/bin/env bash
# The test command: installs what is needed, builds from scratch, runs every test (unit, ONNX node
# conformance, end-to-end) with ctest, then fuzzes the model loader for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=build-test
rm -rf "$build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" --output-on-failure -j 2
if [ "${HYQUANT_SKIP_FUZZ:-0}" != "1" ]; then
    bash scripts/fuzz.sh "${HYQUANT_FUZZ_SECONDS:-60}"
fi

#!/usr/bin/env bash
# The test command: installs what is needed, builds from scratch, runs every test (unit, ONNX node
# conformance, end-to-end) with ctest, builds and tests the HIP build (HYQUANT_SKIP_HIP=1 skips that),
# then fuzzes the model loader for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=build-test
rm -rf "$build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" --output-on-failure -j 2
# The HIP (DCU) build: a second tree with -DHYQUANT_WITH_HIP=ON for gfx906, and its tests that need no
# device: every test but those labelled `device` (the HIP backend's test program skips itself when there is
# none; the e2e tests check the no-device behaviour of this build). HYQUANT_SKIP_HIP=1 skips it.
if [ "${HYQUANT_SKIP_HIP:-0}" != "1" ]; then
    hip_build=build-test-hip
    rm -rf "$hip_build"
    cmake -S . -B "$hip_build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHYQUANT_WITH_HIP=ON \
        -DCMAKE_HIP_ARCHITECTURES=gfx906
    cmake --build "$hip_build" -j "$(nproc)"
    ctest --test-dir "$hip_build" --output-on-failure -j 2 -LE '^device$'
fi
if [ "${HYQUANT_SKIP_FUZZ:-0}" != "1" ]; then
    bash scripts/fuzz.sh "${HYQUANT_FUZZ_SECONDS:-60}"
fi

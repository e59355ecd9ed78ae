#!/usr/bin/env bash
# The test command: installs what is needed, builds from scratch, runs every test (unit, ONNX node
# conformance, end-to-end) with ctest, builds and tests the HIP build (HYQUANT_SKIP_HIP=1 skips that),
# then fuzzes the model loader for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The pinned PyPI venv (onnxruntime, onnx) that the ONNX Runtime e2e tests use; made once here so parallel tests
# do not race to create it.
bash scripts/venv.sh >/dev/null
build=build-test
rm -rf "$build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" --output-on-failure -j 2
# The HIP (DCU) build: a second tree with -DHYQUANT_WITH_HIP=ON for gfx906 (hipcc / clang-15 from Debian), plus the
# HIP backend test program on hipemu, a CPU emulation of HIP (every kernel runs, under ASan/UBSan). Its tests: the
# backend test program (skips itself, exit 77, without a device), the emulated one, and the e2e tests of the
# device-dependent paths with this build's hyquant. HYQUANT_SKIP_HIP=1 skips it.
if [ "${HYQUANT_SKIP_HIP:-0}" != "1" ]; then
    hip_build=build-test-hip
    rm -rf "$hip_build"
    cmake -S . -B "$hip_build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHYQUANT_WITH_HIP=ON \
        -DCMAKE_HIP_ARCHITECTURES=gfx906 -DHYQUANT_HIP_EMU=ON
    cmake --build "$hip_build" -j "$(nproc)" --target hyquant hq_backend_tests hq_backend_tests_emu
    ctest --test-dir "$hip_build" --output-on-failure -j 2 \
        -R '^(hip_backend_ops|hip_backend_ops_emu|e2e_device|e2e_infer_reference|e2e_calibrate|e2e_bad_input)$'
fi
if [ "${HYQUANT_SKIP_FUZZ:-0}" != "1" ]; then
    bash scripts/fuzz.sh "${HYQUANT_FUZZ_SECONDS:-60}"
fi

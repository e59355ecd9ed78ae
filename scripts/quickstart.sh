#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds hyquant, and runs the main job on the bundled real model:
# calibrate on its text-line images, quantize to INT8 (QDQ) and mixed precision, and write reports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
# Only the binary the main job runs (scripts/test.sh builds the test targets).
cmake --build build -j "$(nproc)" --target hyquant
model=models/ppocr_mobile_v2_cls.onnx
out=${OUT:-out}
mkdir -p "$out"
pre=(--size 48x192 --keep-aspect --pad-value 0 --mean 127.5 --std 127.5)
./build/hyquant inspect "$model" --shape x=1x3x48x192
./build/hyquant calibrate "$model" --data models/textlines/calib "${pre[@]}" -o "$out/table.json"
./build/hyquant quantize "$model" --calib "$out/table.json" -o "$out/ppocr_int8.onnx" --reduce-range \
    --report "$out/ppocr_int8.json" --report "$out/ppocr_int8.md"
./build/hyquant quantize "$model" --data models/textlines/calib "${pre[@]}" -o "$out/ppocr_mixed.onnx" \
    --precision mixed --reduce-range --report "$out/ppocr_mixed.json" --report "$out/ppocr_mixed.md"
cat "$out/ppocr_int8.md"
echo "quickstart: models, plans and reports are in $out/"

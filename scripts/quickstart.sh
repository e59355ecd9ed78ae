#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds hyquant, and runs the main job on the bundled real model:
# inspect it, then run it over the bundled preprocessed inputs and the raw text-line images.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
model=models/ppocr_mobile_v2_cls.onnx
out=${OUT:-out}
mkdir -p "$out"
./build/hyquant inspect "$model" --shape x=1x3x48x192
./build/hyquant inspect "$model" --shape x=1x3x48x192 --json > "$out/inspect.json"
./build/hyquant infer "$model" --data models/ppocr_cls_reference/inputs -o "$out/infer_reference" --overwrite
./build/hyquant infer "$model" --data models/textlines/eval -o "$out/infer_eval" --overwrite \
    --size 48x192 --keep-aspect --pad-value 0 --mean 127.5 --std 127.5
echo "quickstart: wrote $out/inspect.json, $out/infer_reference/ and $out/infer_eval/"

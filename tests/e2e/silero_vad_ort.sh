#!/usr/bin/env bash
# A real voice-activity detector from a registry package (scripts/fetch_e2e_model.py silero_vad), run end to end:
# inspect, infer against ONNX Runtime (cosine >= 0.99999 per output), quantize and check the written model in
# ONNX Runtime (onnx checker full_check, SQNR >= 12 dB per output on held-out samples, the guard on). Driver:
# vad_models.py.
# Skips (exit 77) when the package cannot be downloaded.
set -euo pipefail
hq="$1"; src="$2"
py=$(bash "$src/scripts/venv.sh")
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
rc=0; model=$("$py" "$src/scripts/fetch_e2e_model.py" silero_vad) || rc=$?
if [ "$rc" = 77 ]; then echo "SKIP: silero_vad cannot be fetched (no network?)"; exit 77; fi
[ "$rc" = 0 ] || exit "$rc"
"$py" "$src/tests/e2e/vad_models.py" silero_vad "$model" "$hq" "$t"

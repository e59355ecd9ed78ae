#!/usr/bin/env bash
# Benchmark of issue 12 ("INT8 that is faster in the engine it is made for"): for each model of the
# bench set (scripts/bench_models.py), quantize it with hyquant and with ONNX Runtime's own
# quantizer (quantize_static), then time FP32 / hyquant INT8 / peer INT8 interleaved in one ONNX
# Runtime process and compare accuracy against the FP32 model's outputs.
#
# Usage: scripts/bench_quantized.sh [--models a,b,...] [--quick] [--rounds R]
#   --models   subset of the bench set (names: build-venv/bin/python scripts/bench_models.py list)
#   --quick    fewer calibration/eval samples and 2 timing rounds (a smoke run)
#   --rounds   timing rounds over the eval samples (default 5; --quick: 2)
# Environment:
#   HYQUANT         hyquant binary (default <repo>/build/hyquant; nothing is built here). Copy it
#                   away first (e.g. /tmp/hq_bench_bin/hyquant) when the tree is being rebuilt.
#   HQ_QUANT_FLAGS  flags for `hyquant quantize` (default "--target ort-cpu"; set it, even to
#                   "", to override, e.g. HQ_QUANT_FLAGS="--reduce-range")
#   PEER_REDUCE_RANGE=1  pass reduce_range=True to quantize_static too (default: its default, off)
#   THREADS         ONNX Runtime intra-op threads (default 2)
#   BENCH_OUT       work folder (default <repo>/build-bench; git-ignored)
# Output: a Markdown table on stdout, all numbers in $BENCH_OUT/bench_quantized.json, and per model
# $BENCH_OUT/quant/NAME/{hq.onnx,peer.onnx,measure.json,*.log}.
# Needs: python3-venv (scripts/venv.sh makes <repo>/build-venv with pinned onnxruntime/onnx/numpy),
# npm and network access to PyPI and npm for the first fetch of the models; Debian's python3 with
# torch for the generated ResNet-50 (scripts/gen_models.py).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HQ=${HYQUANT:-$ROOT/build/hyquant}
HQ_QUANT_FLAGS=${HQ_QUANT_FLAGS---target ort-cpu}
THREADS=${THREADS:-2}
BENCH_OUT=${BENCH_OUT:-$ROOT/build-bench}
MODELS=""
QUICK=""
ROUNDS=""
while [ $# -gt 0 ]; do
    case "$1" in
        --models) MODELS=$2; shift 2 ;;
        --models=*) MODELS=${1#--models=}; shift ;;
        --quick) QUICK=--quick; shift ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
        *) echo "error: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -n "$ROUNDS" ] || { [ -n "$QUICK" ] && ROUNDS=2 || ROUNDS=5; }
log() { echo "[bench_quantized] $*" >&2; }
[ -x "$HQ" ] || { echo "error: hyquant binary $HQ not found (set HYQUANT)" >&2; exit 2; }

PY=$("$ROOT/scripts/venv.sh")
mkdir -p "$BENCH_OUT/quant"
META_ALL=$BENCH_OUT/quant/models.json
"$PY" "$ROOT/scripts/bench_models.py" prepare --out "$BENCH_OUT/models" ${MODELS:+--models "$MODELS"} $QUICK >"$META_ALL"
mapfile -t NAMES < <("$PY" -c 'import json,sys; [print(m["name"]) for m in json.load(open(sys.argv[1]))]' "$META_ALL")

T_START=$(date +%s)
for name in "${NAMES[@]}"; do
    D=$BENCH_OUT/models/$name
    W=$BENCH_OUT/quant/$name
    rm -rf "$W" && mkdir -p "$W"
    t0=$(date +%s.%N)
    # (a) hyquant
    hq_ok=1
    # shellcheck disable=SC2086  # HQ_QUANT_FLAGS is a list of flags
    if ! "$HQ" quantize "$D/model.onnx" -o "$W/hq.onnx" --data "$D/calib" $HQ_QUANT_FLAGS -q >"$W/hq.log" 2>&1; then
        hq_ok=0
        log "$name: hyquant quantize failed: $(grep -m1 -i error "$W/hq.log" || tail -1 "$W/hq.log")"
    fi
    t1=$(date +%s.%N)
    # (b) the peer: ONNX Runtime's quantize_static
    peer_ok=1
    if ! "$PY" "$ROOT/scripts/bench_ort.py" quantize-peer "$D/model.onnx" "$D/calib" "$W/peer.onnx" \
            ${PEER_REDUCE_RANGE:+--reduce-range} --json "$W/peer_info.json" >"$W/peer.log" 2>&1; then
        peer_ok=0
        log "$name: quantize_static failed: $(tail -1 "$W/peer.log")"
    fi
    t2=$(date +%s.%N)
    "$HQ" inspect "$D/model.onnx" --json >"$W/inspect.json" 2>"$W/inspect.log" || echo '{}' >"$W/inspect.json"
    # (c) + (d) timing and accuracy in one ORT process
    args=(--fp32 "$D/model.onnx" --eval "$D/eval" --rounds "$ROUNDS" --threads "$THREADS" --json "$W/measure.json")
    [ $hq_ok = 1 ] && args+=(--model "hq=$W/hq.onnx")
    [ $peer_ok = 1 ] && args+=(--model "peer=$W/peer.onnx")
    [ "$name" = ppocr_cls ] && args+=(--labels-json "$D/meta.json")
    if ! "$PY" "$ROOT/scripts/bench_ort.py" measure "${args[@]}" >"$W/measure.log" 2>&1; then
        log "$name: measure failed: $(tail -1 "$W/measure.log")"
        echo '{}' >"$W/measure.json"
    fi
    t3=$(date +%s.%N)
    "$PY" - "$W" "$t0" "$t1" "$t2" "$t3" "$hq_ok" "$peer_ok" <<'EOF'
import json, sys
w, t0, t1, t2, t3, hq_ok, peer_ok = sys.argv[1:]
t0, t1, t2, t3 = map(float, (t0, t1, t2, t3))
json.dump(dict(hq_quantize_s=round(t1 - t0, 2), peer_quantize_s=round(t2 - t1, 2), measure_s=round(t3 - t2, 2),
               hq_ok=hq_ok == "1", peer_ok=peer_ok == "1"), open(f"{w}/run.json", "w"))
EOF
    log "$name: done ($(awk -v a="$t0" -v b="$t3" 'BEGIN{printf "%.0f", b-a}') s)"
done
log "all models: $(( $(date +%s) - T_START )) s"

"$PY" "$ROOT/scripts/bench_ort.py" report --bench "$BENCH_OUT" "--hq-flags=$HQ_QUANT_FLAGS" --hq "$HQ" \
    --json "$BENCH_OUT/bench_quantized.json" "${NAMES[@]}"

#!/usr/bin/env bash
# Peak memory of `hyquant inspect` and `hyquant quantize` on a generated model with large weights in external
# data (issue #15). Limits: inspect <= 200 MB RSS; quantize <= 1.3x the model's weight bytes.
# Usage: scripts/bench_memory.sh [--size N] [--layers L] [--keep]
#   --size N    weights are float[N,N] (default 16384: 3 x 1 GiB = 3.2 GB); N=4096 runs in seconds
#   --layers L  number of MatMul weights (default 3)
#   --keep      keep the generated model (in $WORK, default $BUILD_DIR/bench/memory)
# Environment: as scripts/bench_common.sh (HYQUANT, BUILD_DIR, PY). Exits 1 when a limit is exceeded.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"

SIZE=16384
LAYERS=3
KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
        --size) SIZE=$2; shift 2 ;;
        --layers) LAYERS=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        *) fail "unknown option $1" ;;
    esac
done
[ -x /usr/bin/time ] || fail "/usr/bin/time is needed (apt-get install time)"
ensure_python
ensure_build

WORK=${WORK:-$BUILD_DIR/bench/memory}
mkdir -p "$WORK"
MODEL=$WORK/big_${SIZE}x${LAYERS}.onnx
WEIGHT_BYTES=$((SIZE * SIZE * 4 * LAYERS))
need_kb=$((WEIGHT_BYTES * 3 / 1024))  # model + quantized output (1/4) + headroom
avail_kb=$(df -Pk "$WORK" | awk 'NR==2 {print $4}')
[ "$avail_kb" -gt "$need_kb" ] || fail "$WORK: $((avail_kb / 1024)) MB free, need about $((need_kb / 1024)) MB"
cleanup() { [ "$KEEP" = 1 ] || rm -rf "$MODEL" "$MODEL.data" "$WORK/q.onnx" "$WORK/q.onnx.data" "$WORK/data"; }
trap cleanup EXIT

if [ ! -f "$MODEL" ] || [ ! -f "$MODEL.data" ]; then
    log "generating $MODEL ($LAYERS x float[$SIZE,$SIZE])"
    "$PY" "$ROOT/scripts/gen_big_model.py" "$MODEL" --size "$SIZE" --layers "$LAYERS" >&2
fi
# Two calibration samples for the single input X[1,N].
mkdir -p "$WORK/data"
"$PY" -c "import numpy as np, sys; r = np.random.default_rng(1)
for i in range(2): np.save(f'$WORK/data/s{i}.npy', r.standard_normal((1, $SIZE), dtype=np.float32))"

# peak_kb CMD...: runs CMD under /usr/bin/time -v, prints its peak RSS in KiB; fails when CMD fails.
peak_kb() {
    local t
    t=$(mktemp)
    if ! /usr/bin/time -v "$@" >/dev/null 2>"$t"; then
        cat "$t" >&2
        rm -f "$t"
        fail "$* failed"
    fi
    awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$t"
    rm -f "$t"
}

inspect_kb=$(peak_kb "$HQ" inspect "$MODEL")
quant_kb=$(peak_kb "$HQ" quantize "$MODEL" --data "$WORK/data" --guard-sqnr 0 -o "$WORK/q.onnx")
inspect_limit_kb=$((200 * 1000 * 1000 / 1024))  # 200 MB
quant_limit_kb=$((WEIGHT_BYTES * 13 / 10 / 1024))
status=0
report() {  # name peak limit
    local verdict=ok
    [ "$2" -le "$3" ] || { verdict=OVER; status=1; }
    printf '%-10s peak RSS %8.1f MiB   limit %8.1f MiB   %s\n' "$1" "$(echo "$2/1024" | bc -l)" \
        "$(echo "$3/1024" | bc -l)" "$verdict"
}
echo "model: $LAYERS x float[$SIZE,$SIZE], $((WEIGHT_BYTES / 1048576)) MiB of weights in external data"
report inspect "$inspect_kb" "$inspect_limit_kb"
report quantize "$quant_kb" "$quant_limit_kb"
exit $status

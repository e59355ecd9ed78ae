#!/usr/bin/env bash
# Inference benchmark: hyquant's CPU executor vs ONNX Runtime (CPU, onnxruntime-node) on the same
# samples with the same thread count.
#
#   scripts/bench_infer.sh [--threads N] [--reps R] [--r50-reps R] [--cls-copies C] [--r50-copies C]
#                          [--r50-count K] [--set-reps R] [--set-copies C] [--set-work-ms T]
#                          [--only cls|resnet50|set] [--keep]
#
# Defaults: 2 threads, 7 repetitions for the bundled model (8 reference inputs repeated 50 times =
# 400 samples), 5 repetitions for the generated ResNet-50 (8 random inputs repeated 4 times = 32).
# Builds hyquant (Release, $BUILD_DIR, default build-bench/) if needed, installs onnxruntime-node
# (scripts/ort/setup.sh), generates the ResNet-50 and its inputs once into build-bench/bench/.
# Needs: cmake, ninja, node + npm, /usr/bin/python3 with numpy and onnx (Debian packages).
#
# Models: (a) models/ppocr_mobile_v2_cls.onnx on models/ppocr_cls_reference/inputs (8 samples, repeated)
#         (b) scripts/gen_models.py resnet50 (ResNet-50 topology, random weights) on random inputs.
#         (c) the real CNNs of the bench set (ppocrv4_det, ppocrv4_rec, blazeface, mlsd_tiny, oww_embedding,
#             mtcnn_onet) that `build-venv/bin/python scripts/bench_models.py prepare` wrote to $MODELS_DIR
#             (default build-bench/models; missing ones are skipped), on their first 4 eval samples repeated
#             at least --set-copies times (default 4) and enough times that one timed run holds --set-work-ms
#             (default 1500) of ORT's in-process latency (a 1 ms model gets 1500 samples, not 16: a process start
#             varies by tens of ms on a shared machine), --set-reps repetitions (default 3).
# A summary of every model's ratio ends the output.
#
# How latency per sample is measured (fair to both engines): both are timed the same way, as whole
# processes on the same data: `hyquant infer` and `node scripts/ort/run.js` (which, like hyquant,
# reads each sample's .npy, runs it and writes each output .npy). For each engine and repetition,
#     per-sample latency = (T(folder of M samples) - T(folder of 1 sample)) / (M - 1)
# which removes process start, model load, graph passes / session creation and first-run warm-up
# (all in both runs) and leaves the steady-state cost of one sample: read .npy + run + write .npy.
# The engines alternate within each repetition (order flipped every repetition) so machine noise
# hits both alike; medians over repetitions are reported, the ratio hyquant/ORT of the medians,
# and the median of the per-repetition ratios (hyquant and ORT of one repetition ran back to back,
# so this one is the more robust when the machine's load changes during the run). For reference the script also prints ORT's in-process InferenceSession.run median
# (run.js --bench, no file I/O), which should be a little below ORT's marginal number.
# Outputs are compared (hyquant vs ORT, and ORT vs the bundled ORT reference outputs for (a)) with
# scripts/compare_outputs.py: max abs difference and top-1 agreement.
# Only medians and ratios mean anything: machines are shared and noisy.
set -euo pipefail
source "$(dirname "$0")/bench_common.sh"

THREADS=2 REPS=7 R50_REPS=5 CLS_COPIES=50 R50_COPIES=4 R50_COUNT=8 ONLY="" KEEP=0 SET_REPS=3 SET_COPIES=4 SET_WORK_MS=1500
MODELS_DIR=${MODELS_DIR:-$ROOT/build-bench/models}
SET_CNNS="ppocrv4_det ppocrv4_rec blazeface mlsd_tiny oww_embedding mtcnn_onet"
while [ $# -gt 0 ]; do
    case $1 in
        --threads) THREADS=$2; shift 2 ;;
        --reps) REPS=$2; shift 2 ;;
        --r50-reps) R50_REPS=$2; shift 2 ;;
        --cls-copies) CLS_COPIES=$2; shift 2 ;;
        --r50-copies) R50_COPIES=$2; shift 2 ;;
        --r50-count) R50_COUNT=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        --set-reps) SET_REPS=$2; shift 2 ;;
        --set-copies) SET_COPIES=$2; shift 2 ;;
        --set-work-ms) SET_WORK_MS=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) fail "unknown option $1 (see --help)" ;;
    esac
done

ensure_build
ensure_ort
ensure_python
[ -z "$ONLY" ] || [ "$ONLY" = resnet50 ] && ensure_resnet50 "$R50_COUNT"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hq-bench-infer.XXXXXX")
[ "$KEEP" = 1 ] && log "keeping $TMP" || trap 'rm -rf "$TMP"' EXIT
ORT_RUN=$ROOT/scripts/ort/run.js

hq_infer() { "$HQ" infer "$1" --data "$2" -o "$3" --threads "$THREADS" -q; }
ort_infer() { node "$ORT_RUN" "$1" --data "$2" -o "$3" --threads "$THREADS"; }

RESULTS=()
bench_model() {  # label model data_dir copies reps [ort_reference_dir]; copies "auto:C": see --set-work-ms
    local label=$1 model=$2 data=$3 copies=$4 reps=$5 ref=${6:-}
    local w=$TMP/$label
    mkdir -p "$w/one"
    ln -s "$(readlink -f "$(ls "$data"/*.npy | head -1)")" "$w/one/"

    # ORT in-process session.run latencies (no file I/O), same samples
    local inproc inproc_med
    inproc=$(node "$ORT_RUN" "$model" --data "$data" --threads "$THREADS" --bench "$(( reps < 3 ? reps : 3 ))" --warmup 1 |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(j.latency_ms.median+" (p10 "+j.latency_ms.p10+", p90 "+j.latency_ms.p90+", "+j.runs+" runs)")})')
    inproc_med=${inproc%% *}
    if [ "${copies%%:*}" = auto ]; then  # enough samples that the timed run outweighs process-start noise
        copies=$("$PY" -c "import math,sys; print(max(int(sys.argv[1]), math.ceil(float(sys.argv[2]) / (max(float(sys.argv[3]), 1e-3) * int(sys.argv[4])))))" \
            "${copies#auto:}" "$SET_WORK_MS" "$inproc_med" "$(count_npy "$data")")
    fi
    replicate "$data" "$w/many" "$copies"
    local m; m=$(count_npy "$w/many")
    log "$label: $m samples (x$copies of $(count_npy "$data")), $reps repetitions, $THREADS threads"

    # correctness (untimed; also warms the page cache)
    local hq_ok=1 t cmp_hq_ort="n/a" cmp_ref="n/a"
    if ! run_timed t "$w/hq_check.log" hq_infer "$model" "$data" "$w/out_hq"; then
        hq_ok=0
        log "$label: hyquant infer FAILED: $(tail -3 "$w/hq_check.log" | tr '\n' ' ')"
    fi
    run_timed t "$w/ort_check.log" ort_infer "$model" "$data" "$w/out_ort" ||
        fail "$label: ONNX Runtime failed: $(tail -3 "$w/ort_check.log")"
    if [ $hq_ok = 1 ]; then
        cmp_hq_ort=$("$PY" "$ROOT/scripts/compare_outputs.py" "$w/out_hq" "$w/out_ort" || true)
        log "$label: hyquant vs ORT outputs: $cmp_hq_ort"
    fi
    if [ -n "$ref" ]; then
        cmp_ref=$("$PY" "$ROOT/scripts/compare_outputs.py" "$w/out_ort" "$ref" || true)
        log "$label: ORT vs bundled ORT reference: $cmp_ref"
    fi

    local hq_est=() ort_est=() r e tm to order
    for ((r = 1; r <= reps; ++r)); do
        if ((r % 2)); then order="hq ort"; else order="ort hq"; fi
        for e in $order; do
            [ $e = hq ] && [ $hq_ok = 0 ] && continue
            rm -rf "$w/o1" "$w/om"
            if [ $e = hq ]; then
                run_timed tm "$w/hq_many.log" hq_infer "$model" "$w/many" "$w/om" || fail "$label: hyquant failed: $(tail -3 "$w/hq_many.log")"
                run_timed to "$w/hq_one.log" hq_infer "$model" "$w/one" "$w/o1" || fail "$label: hyquant failed: $(tail -3 "$w/hq_one.log")"
                hq_est+=("$(calc "($tm - $to) / ($m - 1)")")
                log "$label rep $r: hyquant T($m)=${tm}ms T(1)=${to}ms -> ${hq_est[-1]} ms/sample"
            else
                run_timed tm "$w/ort_many.log" ort_infer "$model" "$w/many" "$w/om" || fail "$label: ORT failed: $(tail -3 "$w/ort_many.log")"
                run_timed to "$w/ort_one.log" ort_infer "$model" "$w/one" "$w/o1" || fail "$label: ORT failed: $(tail -3 "$w/ort_one.log")"
                ort_est+=("$(calc "($tm - $to) / ($m - 1)")")
                log "$label rep $r: ORT     T($m)=${tm}ms T(1)=${to}ms -> ${ort_est[-1]} ms/sample"
            fi
        done
    done

    local hq_med="FAILED" ratio="n/a" pratio="n/a" ort_med pr=()
    ort_med=$(median "${ort_est[@]}")
    if [ $hq_ok = 1 ]; then
        hq_med=$(median "${hq_est[@]}")
        ratio=$(calc "$hq_med / $ort_med" 2)
        for ((r = 0; r < reps; ++r)); do pr+=("$(calc "${hq_est[$r]} / ${ort_est[$r]}" 3)"); done
        pratio="$(calc "$(median "${pr[@]}")" 2)   (per rep: ${pr[*]})"
    fi
    SUMMARY+=("$(printf '%-14s hyquant %9s ms  ORT %9s ms  ratio %s  (paired %s)' "$label" "$hq_med" "$ort_med" "$ratio" "${pratio%% *}")")
    RESULTS+=("$(printf '%s\n' \
        "== $label: $(basename "$model"), $m samples per timed run, $THREADS threads, $reps reps" \
        "  hyquant median latency per sample : $hq_med ms   (reps: ${hq_est[*]:-})" \
        "  ORT     median latency per sample : $ort_med ms   (reps: ${ort_est[*]})" \
        "  ratio hyquant/ORT (of medians)    : $ratio" \
        "  ratio, median of paired reps      : $pratio" \
        "  ORT in-process session.run median : $inproc ms" \
        "  outputs hyquant vs ORT            : $cmp_hq_ort" \
        "  outputs ORT vs bundled reference  : $cmp_ref")")
    echo "${RESULTS[-1]}"
}

echo "hyquant $("$HQ" --version 2>&1 | head -1) | onnxruntime-node $(node -p "require('$ROOT/scripts/ort/node_modules/onnxruntime-node/package.json').version") | $(nproc) cores | threads $THREADS"
SUMMARY=()
{ [ -z "$ONLY" ] || [ "$ONLY" = cls ]; } && bench_model ppocr_cls "$CLS_MODEL" "$CLS_INPUTS" "$CLS_COPIES" "$REPS" "$CLS_ORT_REF"
{ [ -z "$ONLY" ] || [ "$ONLY" = resnet50 ]; } && bench_model resnet50 "$R50_MODEL" "$(r50_inputs_dir "$R50_COUNT")" "$R50_COPIES" "$R50_REPS"
if [ -z "$ONLY" ] || [ "$ONLY" = set ]; then
    for name in $SET_CNNS; do
        d=$MODELS_DIR/$name
        if [ ! -s "$d/model.onnx" ]; then log "$name: not in $MODELS_DIR (scripts/bench_models.py prepare): skipped"; continue; fi
        sub=$TMP/$name.eval4; mkdir -p "$sub"
        for f in $(ls "$d/eval"/*.npy | head -4); do ln -s "$(readlink -f "$f")" "$sub/"; done
        bench_model "$name" "$d/model.onnx" "$sub" "auto:$SET_COPIES" "$SET_REPS"
    done
fi
echo "== summary (hyquant/ORT per-sample latency, $THREADS threads)"
printf '%s\n' "${SUMMARY[@]}"

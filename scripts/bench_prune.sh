#!/usr/bin/env bash
# Pruning table: prunes the bundled PP-OCR classifier, the PP-OCRv4 text detector (scripts/bench_models.py) and,
# on request, a generated ResNet-50 with each pattern, with and without layer-wise reconstruction (`--data`), and
# measures every model in ONNX Runtime 1.31 (the consumer; scripts/bench_prune_ort.py): accuracy (classifier,
# labelled eval images) or mask IoU (detector: probability map > 0.3 vs the dense model's) or top-1 agreement
# (ResNet-50), output cosine, and the time of each pruned model against the dense one, timed interleaved in one
# process (median over R rounds of the eval samples, 2 threads; the ratio is pruned / dense). Also nonzero
# parameters, dense MACs and file sizes (raw and gzip -6: the zeros of unstructured/N:M pruning shrink only
# compressed files). Rows marked "+ INT8" are the pruned model quantized by `hyquant quantize --target ort-cpu`
# on the same calibration samples (prune + quantize pipeline).
#
#   scripts/bench_prune.sh [--only ppocr|det|resnet50] [--rounds R] [--r50-count K]
#
# Default: ppocr and det (ResNet-50 with --only resnet50). Environment as scripts/bench_common.sh (HYQUANT=binary).
# No fine-tuning anywhere: reconstruction only re-fits each layer's remaining weights on calibration activations.
set -euo pipefail
source "$(dirname "$0")/bench_common.sh"
only=""; r50_count=32; rounds=5
while [ $# -gt 0 ]; do
    case "$1" in
        --only) only="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --r50-count) r50_count="$2"; shift 2 ;;
        *) fail "unknown option $1" ;;
    esac
done
ensure_build
VPY=$("$ROOT/scripts/venv.sh")
PY=$VPY
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# label|prune flags|post step ("int8": quantize --target ort-cpu). @DATA@: the calibration folder.
cls_configs=("dense||"
             "unstructured 0.3|--sparsity 0.3|" "unstructured 0.3, --data|--sparsity 0.3 --data @DATA@|"
             "unstructured 0.5|--sparsity 0.5|" "unstructured 0.5, --data|--sparsity 0.5 --data @DATA@|"
             "2:4|--pattern 2:4|" "2:4, --data|--pattern 2:4 --data @DATA@|"
             "channel 0.25 (L1)|--pattern channel --sparsity 0.25|"
             "channel 0.4 ort-cpu, --data --no-reconstruct|--pattern channel --sparsity 0.4 --target ort-cpu --data @DATA@ --no-reconstruct|"
             "channel 0.4 ort-cpu, --data|--pattern channel --sparsity 0.4 --target ort-cpu --data @DATA@|"
             "channel 0.4 global ort-cpu, --data --no-reconstruct|--pattern channel --sparsity 0.4 --scope global --target ort-cpu --data @DATA@ --no-reconstruct|"
             "channel 0.4 global ort-cpu, --data|--pattern channel --sparsity 0.4 --scope global --target ort-cpu --data @DATA@|"
             "channel 0.25 global, --data --no-reconstruct|--pattern channel --sparsity 0.25 --scope global --data @DATA@ --no-reconstruct|"
             "channel 0.25 global, --data|--pattern channel --sparsity 0.25 --scope global --data @DATA@|")
# The detector's DB head (its last Conv p2o.Conv.61 and the two ConvTranspose) stays whole in the channel rows: pruning
# it too costs mask IoU (0.89 with reconstruction, README); "@K" as post step: quantize row K's model.
det_head=(--exclude ConvTranspose --exclude p2o.Conv.61)
det_configs=("dense||" "dense + INT8||int8"
             "unstructured 0.5|--sparsity 0.5|" "unstructured 0.5, --data|--sparsity 0.5 --data @DATA@|"
             "2:4|--pattern 2:4|" "2:4, --data|--pattern 2:4 --data @DATA@|"
             "channel 0.4 ort-cpu, head kept, --data --no-reconstruct|--pattern channel --sparsity 0.4 --target ort-cpu ${det_head[*]} --data @DATA@ --no-reconstruct|"
             "channel 0.4 ort-cpu, head kept, --data|--pattern channel --sparsity 0.4 --target ort-cpu ${det_head[*]} --data @DATA@|"
             "channel 0.4 ort-cpu, head kept, --data + INT8||int8@7"
             "channel 0.4 global ort-cpu, --data|--pattern channel --sparsity 0.4 --scope global --target ort-cpu --data @DATA@|")
r50_configs=("dense||" "unstructured 0.5|--sparsity 0.5|" "2:4|--pattern 2:4|"
             "channel 0.25 (L1)|--pattern channel --sparsity 0.25|"
             "channel 0.25 global, --data --no-reconstruct|--pattern channel --sparsity 0.25 --scope global --data @DATA@ --no-reconstruct|")

# $1 name, $2 model, $3 eval folder (.npy), $4 calibration folder (.npy), $5 --shape value or "", $6 metric flags
# for bench_prune_ort.py, $7.. configs
table() {
    local name=$1 model=$2 evald=$3 calib=$4 shape=$5 metric=$6 i=-1
    shift 6
    local shape_flag=(); [ -n "$shape" ] && shape_flag=(--shape "$shape")
    local models=()
    for c in "$@"; do
        i=$((i + 1))
        local label=${c%%|*} rest=${c#*|}
        local flags=${rest%%|*} post=${rest#*|} out="$work/$name.$i.onnx"
        flags=${flags//@DATA@/$calib}
        local t0 dense_row=0; t0=$(date +%s)
        [ -z "$flags" ] && [ "${post#int8@}" = "$post" ] && dense_row=1
        if [ "${post#int8@}" != "$post" ]; then  # quantize the model of an earlier row
            local k=${post#int8@}
            [ -e "$work/$name.$k.label" ] || { log "$name: row $k missing; '$label' left out"; continue; }
            cp "$work/$name.$k.onnx" "$out"; cp "$work/$name.$k.json" "$work/$name.$i.json"; post=int8
        # shellcheck disable=SC2086
        elif ! "$HQ" prune "$model" -o "$out" ${flags:---sparsity 0} "${shape_flag[@]}" --report "$work/$name.$i.json" -q; then
            log "$name: prune $flags failed; row left out"; continue
        fi
        [ "$dense_row" = 1 ] && cp "$model" "$out"  # dense rows: the model itself (the report gives its numbers)
        if [ "$post" = int8 ]; then
            if ! "$HQ" quantize "$out" -o "$out.q.onnx" --target ort-cpu --data "$calib" -q; then
                log "$name: quantize of '$label' failed; row left out"; continue
            fi
            mv "$out.q.onnx" "$out"
        fi
        log "$name: $label ($(( $(date +%s) - t0 )) s)"
        gzip -6 -c "$out" | wc -c > "$work/$name.$i.gz"
        echo "$label" > "$work/$name.$i.label"
        [ "$i" -gt 0 ] && models+=(--model "$i=$out")
    done
    # shellcheck disable=SC2086
    "$VPY" "$ROOT/scripts/bench_prune_ort.py" --dense "$work/$name.0.onnx" "${models[@]}" --eval "$evald" $metric \
        --rounds "$rounds" --json "$work/$name.ort.json" >/dev/null
    "$VPY" - "$work" "$name" "$#" "$metric" <<'PY'
import json, os, sys
work, name, n, metric = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ort = json.load(open(f"{work}/{name}.ort.json"))["models"]
col = "accuracy" if "--labels" in metric else "mask IoU" if "--mask" in metric else "top-1 agreement"
print(f"\n{name}: {ort['dense'].get('samples', '')}\n")
print(f"| pattern | {col} | output cosine vs dense | ORT ms | ORT time / dense | nonzero params | MACs (dense) | file bytes | gzip bytes |")
print("|---|---|---|---|---|---|---|---|---|")
for i in range(n):
    if not os.path.exists(f"{work}/{name}.{i}.label"):
        continue
    key = "dense" if i == 0 else str(i)
    r, rep = ort[key], json.load(open(f"{work}/{name}.{i}.json"))
    label = open(f"{work}/{name}.{i}.label").read().strip()
    if "accuracy" in r:
        score = f"{100 * r['accuracy']:.2f}%"
    elif "mask_iou" in r:
        score = f"{r['mask_iou']:.4f}"
    else:
        score = f"{100 * r.get('top1_agreement', float('nan')):.2f}%"
    gz = int(open(f"{work}/{name}.{i}.gz").read())
    macs = rep["macs_after"]
    f = lambda v: "n/a" if v is None else f"{v/1e6:.1f}M"
    print(f"| {label} | {score} | {r['cosine']:.4f} | {r['median_ms']:.2f} | {r['ratio']:.3f} | "
          f"{rep['parameters_after']:,} | {f(macs)} | {r['bytes']:,} | {gz:,} |")
PY
}

if [ -z "$only" ] || [ "$only" = ppocr ]; then
    pre=(--size 48x192 --keep-aspect --pad-value 0 --mean 127.5 --std 127.5)
    "$HQ" infer "$CLS_MODEL" --data "$ROOT/models/textlines/eval" "${pre[@]}" -o "$work/ppocr_hq" \
        --save-inputs "$work/ppocr_inputs" -q
    "$HQ" infer "$CLS_MODEL" --data "$ROOT/models/textlines/calib" "${pre[@]}" -o "$work/ppocr_calib_out" \
        --save-inputs "$work/ppocr_calib" -q
    table ppocr "$CLS_MODEL" "$work/ppocr_inputs" "$work/ppocr_calib" x=1x3x48x192 \
        "--labels $ROOT/models/textlines/eval_labels.txt" "${cls_configs[@]}"
fi
if [ -z "$only" ] || [ "$only" = det ]; then
    bench_models=${BENCH_MODELS:-$ROOT/build-bench/models}
    "$VPY" "$ROOT/scripts/bench_models.py" prepare --models ppocrv4_det --out "$bench_models" >/dev/null
    D=$bench_models/ppocrv4_det
    table ppocrv4_det "$D/model.onnx" "$D/eval" "$D/calib" "" "--mask-threshold 0.3" "${det_configs[@]}"
fi
if [ "$only" = resnet50 ]; then
    ensure_resnet50 "$r50_count"
    "$PY" "$ROOT/scripts/gen_models.py" inputs "$work/r50_calib" --shape 1x3x224x224 --count 16 --seed 7 >&2
    table resnet50 "$R50_MODEL" "$(r50_inputs_dir "$r50_count")" "$work/r50_calib" input=1x3x224x224 "" \
        "${r50_configs[@]}"
fi

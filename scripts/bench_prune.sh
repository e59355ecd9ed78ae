#!/usr/bin/env bash
# Pruning table: prunes the bundled PP-OCR classifier and a generated ResNet-50 with each pattern,
# runs every model in ONNX Runtime (the consumer) and prints accuracy / top-1 agreement, parameters,
# MACs and file sizes (raw and gzip -6: zeros of unstructured/N:M pruning only shrink compressed files).
# The `--data` rows rank channels by activation and compensate biases from calibration samples (PP-OCR:
# models/textlines/calib; ResNet-50: 16 other random inputs).
#
#   scripts/bench_prune.sh [--only ppocr|resnet50] [--r50-count K]
#
# PP-OCR: accuracy on models/textlines/eval against eval_labels.txt, measured in ORT on the exact
# tensors hyquant feeds (infer --save-inputs). ResNet-50 (random He weights, scripts/gen_models.py):
# top-1 agreement with the unpruned model on K random N(0,1) inputs (default 32), both in ORT.
# No fine-tuning anywhere: these are the raw costs of magnitude pruning.
set -euo pipefail
source "$(dirname "$0")/bench_common.sh"
only=""; r50_count=32
while [ $# -gt 0 ]; do
    case "$1" in
        --only) only="$2"; shift 2 ;;
        --r50-count) r50_count="$2"; shift 2 ;;
        *) fail "unknown option $1" ;;
    esac
done
ensure_build; ensure_ort; ensure_python
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

configs=("dense|" "unstructured 0.3|--sparsity 0.3" "unstructured 0.5|--sparsity 0.5"
         "unstructured 0.5 global|--sparsity 0.5 --scope global" "2:4|--pattern 2:4"
         "channel 0.25|--pattern channel --sparsity 0.25"
         "channel 0.1 global, --data|--pattern channel --sparsity 0.1 --scope global --data @DATA@"
         "channel 0.25 global, --data|--pattern channel --sparsity 0.25 --scope global --data @DATA@")

ort_run() { node "$ROOT/scripts/ort/run.js" "$1" --data "$2" -o "$3" --overwrite >/dev/null 2>&1; }

# $1 name, $2 model, $3 ORT input folder, $4 label file or "" (then: top-1 agreement with config 0),
# $5 --shape value (fixes the input shape so MACs are known), $6 calibration samples for --data (.npy)
table() {
    local name=$1 model=$2 inputs=$3 labels=$4 shape=$5 calib=$6 i=-1
    for c in "${configs[@]}"; do
        i=$((i + 1))
        local label=${c%%|*} flags=${c#*|} out="$work/$name.$i.onnx"
        flags=${flags//@DATA@/$calib}
        if [ -z "$flags" ]; then
            cp "$model" "$out"
            "$HQ" prune "$model" -o "$work/$name.stats.onnx" --sparsity 0 --shape "$shape" --report "$work/$name.$i.json" -q
        else
            # shellcheck disable=SC2086
            if ! "$HQ" prune "$model" -o "$out" $flags --shape "$shape" --report "$work/$name.$i.json" -q; then
                log "$name: prune $flags failed; row left out"
                continue
            fi
        fi
        ort_run "$out" "$inputs" "$work/$name.$i.out"
        gzip -6 -c "$out" | wc -c > "$work/$name.$i.gz"
        echo "$label" > "$work/$name.$i.label"
    done
    "$PY" - "$work" "$name" "${#configs[@]}" "$labels" <<'PY'
import json, os, sys
import numpy as np
work, name, n, labels = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def outputs(d):
    return np.concatenate([np.load(os.path.join(d, s, sorted(os.listdir(os.path.join(d, s)))[0])).reshape(1, -1)
                           for s in sorted(os.listdir(d))])
dense = outputs(f"{work}/{name}.0.out")
ref = dense.argmax(1)
truth = np.array([int(x) for x in open(labels).read().split()]) if labels else None
col = "accuracy (ORT)" if labels else "top-1 agreement (ORT)"
print(f"\n{name}: {ref.size} samples\n")
print(f"| pattern | {col} | output cosine vs dense | nonzero params | MACs (dense) | MACs (nonzero weights) | file bytes | gzip bytes |")
print("|---|---|---|---|---|---|---|---|")
for i in range(n):
    if not os.path.exists(f"{work}/{name}.{i}.label"):
        continue
    rep = json.load(open(f"{work}/{name}.{i}.json"))
    out = outputs(f"{work}/{name}.{i}.out")
    top = out.argmax(1)
    cos = np.mean(np.sum(out * dense, 1) / (np.linalg.norm(out, axis=1) * np.linalg.norm(dense, axis=1) + 1e-30))
    score = (top == truth).mean() * 100 if labels else (top == ref).mean() * 100
    label = open(f"{work}/{name}.{i}.label").read().strip()
    size = os.path.getsize(f"{work}/{name}.{i}.onnx")
    gz = int(open(f"{work}/{name}.{i}.gz").read())
    f = lambda v: "n/a" if v is None else f"{v/1e6:.1f}M"
    print(f"| {label} | {score:.2f}% | {cos:.4f} | {rep['parameters_after']:,} | {f(rep['macs_after'])} | "
          f"{f(rep['nonzero_macs_after'])} | {size:,} | {gz:,} |")
PY
}

if [ -z "$only" ] || [ "$only" = ppocr ]; then
    pre=(--size 48x192 --keep-aspect --pad-value 0 --mean 127.5 --std 127.5)
    "$HQ" infer "$CLS_MODEL" --data "$ROOT/models/textlines/eval" "${pre[@]}" -o "$work/ppocr_hq" \
        --save-inputs "$work/ppocr_inputs" -q
    "$HQ" infer "$CLS_MODEL" --data "$ROOT/models/textlines/calib" "${pre[@]}" -o "$work/ppocr_calib_out" \
        --save-inputs "$work/ppocr_calib" -q
    table ppocr "$CLS_MODEL" "$work/ppocr_inputs" "$ROOT/models/textlines/eval_labels.txt" x=1x3x48x192 \
        "$work/ppocr_calib"
fi
if [ -z "$only" ] || [ "$only" = resnet50 ]; then
    ensure_resnet50 "$r50_count"
    # calibration samples for --data: another seed than the evaluation inputs
    "$PY" "$ROOT/scripts/gen_models.py" inputs "$work/r50_calib" --shape 1x3x224x224 --count 16 --seed 7 >&2
    table resnet50 "$R50_MODEL" "$(r50_inputs_dir "$r50_count")" "" input=1x3x224x224 "$work/r50_calib"
fi

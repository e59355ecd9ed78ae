#!/usr/bin/env bash
# quantize --target: every target writes a model ONNX Runtime loads and runs (Python onnxruntime from the
# pinned venv, scripts/venv.sh) on the bundled classifier and a generated ResNet-50; for ort-cpu the report's
# engine kernels equal ORT's own optimized graph node for node (scripts/check_ort_fusions.py); for dcu the
# MIGraphX lint (scripts/lint_migraphx.py) passes on >= 90% of weighted layers; same flags give the same bytes;
# a --plan made for one target is refused for another (exit 2, nothing written).
set -euo pipefail
hq="$1"; src="$2"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
py=$(bash "$src/scripts/venv.sh")
model="$src/models/ppocr_mobile_v2_cls.onnx"
pre=(--size 48x192 --keep-aspect --pad-value 0 --mean 127.5 --std 127.5)
"$hq" calibrate "$model" --data "$src/models/textlines/calib" "${pre[@]}" -o "$t/cls_table.json" -q

# A generated ResNet-50 (random weights) and two random inputs.
/usr/bin/python3 "$src/scripts/gen_models.py" resnet50 "$t/r50.onnx" --seed 0 >/dev/null
/usr/bin/python3 "$src/scripts/gen_models.py" inputs "$t/r50_in" --shape 1x3x224x224 --count 2 --seed 1 >/dev/null
"$hq" calibrate "$t/r50.onnx" --data "$t/r50_in" -o "$t/r50_table.json" -q

for target in dcu ort-cpu tensorrt generic; do
    for m in cls r50; do
        src_model=$model; [ $m = r50 ] && src_model=$t/r50.onnx
        "$hq" quantize "$src_model" --calib "$t/${m}_table.json" --target $target -o "$t/${m}_$target.onnx" \
            --report "$t/${m}_$target.json" -q
        grep -q "\"target\": \"$target\"" "$t/${m}_$target.json" || { echo "report of $m/$target lacks its target"; exit 1; }
        "$py" - "$src_model" "$t/${m}_$target.onnx" <<'PY'
import sys
import numpy as np
import onnxruntime as ort
ref, cand = sys.argv[1], sys.argv[2]
so = ort.SessionOptions(); so.log_severity_level = 3
s = [ort.InferenceSession(p, so, providers=["CPUExecutionProvider"]) for p in (ref, cand)]
i = s[0].get_inputs()[0]
shape = [d if isinstance(d, int) else {"N": 1}.get(d, 1) for d in i.shape]
if len(shape) == 4 and shape[2] == 1: shape = [1, 3, 48, 192]
x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
a, b = (v.run(None, {i.name: x})[0].astype(np.float64) for v in s)
cos = float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))
assert cos > 0.9, f"{cand}: output cosine {cos:.4f} vs FP32 in ONNX Runtime"
PY
    done
done
for m in cls r50; do
    "$py" "$src/scripts/check_ort_fusions.py" "$t/${m}_ort-cpu.onnx" "$t/${m}_ort-cpu.json"
    "$py" "$src/scripts/lint_migraphx.py" "$t/${m}_dcu.onnx" --min-pass 0.9
done
# Determinism per target.
mkdir "$t/a" "$t/b"
for d in a b; do (cd "$t/$d" && "$hq" quantize "$model" --calib "$t/cls_table.json" --target ort-cpu -o q.onnx -q); done
cmp "$t/a/q.onnx" "$t/b/q.onnx" || { echo "two ort-cpu runs gave different models"; exit 1; }
# A plan is for its target.
rc=0
"$hq" quantize "$model" --calib "$t/cls_table.json" --target tensorrt --plan "$t/cls_ort-cpu.plan.json" \
    -o "$t/wrong.onnx" 2>"$t/err" || rc=$?
[ $rc = 2 ] || { echo "plan for ort-cpu with --target tensorrt: exit $rc, expected 2"; exit 1; }
grep -q "ort-cpu" "$t/err" || { echo "error does not name the plan's target"; cat "$t/err"; exit 1; }
[ ! -e "$t/wrong.onnx" ] || { echo "a model was written"; exit 1; }
# Applying the plan again (its target taken from it) uses exactly that plan.
"$hq" quantize "$model" --calib "$t/cls_table.json" --plan "$t/cls_ort-cpu.plan.json" -o "$t/replan.onnx" -q
cmp "$t/replan.plan.json" "$t/cls_ort-cpu.plan.json" || { echo "re-applied ort-cpu plan changed"; exit 1; }
echo "targets: 4 targets x 2 models run in ONNX Runtime; ort-cpu fusion prediction and dcu lint pass"

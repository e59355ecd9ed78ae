#!/usr/bin/env bash
# quantize the bundled model to int8, fp16 and mixed with its calibration images, run every written
# model in ONNX Runtime (npm onnxruntime-node) on the eval images, and check that each one's accuracy
# against eval_labels.txt is within 1 point of the FP32 model's. Fails if ORT cannot load a model.
# Also: same inputs and flags give byte-identical models, and a written plan re-applies exactly.
set -euo pipefail
hq="$1"; src="$2"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
model="$src/models/ppocr_mobile_v2_cls.onnx"
pre=(--size 48x192 --keep-aspect --pad-value 0 --mean 127.5 --std 127.5)
bash "$src/scripts/ort/setup.sh" >/dev/null
ort() { node "$src/scripts/ort/run.js" "$1" --data "$t/eval_inputs" -o "$2" --overwrite >/dev/null; }

# The eval images exactly as hyquant preprocesses them, for ORT.
"$hq" infer "$model" --data "$src/models/textlines/eval" "${pre[@]}" -o "$t/fp32_hq" --save-inputs "$t/eval_inputs" -q
"$hq" calibrate "$model" --data "$src/models/textlines/calib" "${pre[@]}" -o "$t/table.json" -q
# ONNX Runtime's x86 int8 kernels (no VNNI) saturate u8*s8 pair sums: 7-bit weights avoid it.
"$hq" quantize "$model" -o "$t/int8.onnx" --calib "$t/table.json" --reduce-range --report "$t/int8.json" -q
cp "$t/int8.onnx" "$t/int8_first.onnx"
"$hq" quantize "$model" -o "$t/int8.onnx" --calib "$t/table.json" --reduce-range --report "$t/int8.json" -q
cmp "$t/int8.onnx" "$t/int8_first.onnx" || { echo "two runs gave different models"; exit 1; }
"$hq" quantize "$model" -o "$t/int8_plan.onnx" --calib "$t/table.json" --plan "$t/int8.plan.json" -q
"$hq" quantize "$model" -o "$t/fp16.onnx" --calib "$t/table.json" --precision fp16 -q
# --eval-data: the quality guard runs on the eval images, so calibration keeps all 48 calibration images.
"$hq" quantize "$model" -o "$t/mixed.onnx" --data "$src/models/textlines/calib" "${pre[@]}" --precision mixed \
    --min-sqnr 45 --reduce-range --eval-data "$src/models/textlines/eval" --report "$t/mixed.json" -q

ort "$model" "$t/fp32"
for m in int8 fp16 mixed; do ort "$t/$m.onnx" "$t/$m" || { echo "ONNX Runtime could not run $m.onnx"; exit 1; }; done
/usr/bin/python3 - "$t" "$src/models/textlines/eval_labels.txt" <<'PY'
import json, os, sys
import numpy as np
import onnx
t, labels_file = sys.argv[1], sys.argv[2]
labels = np.array([int(x) for x in open(labels_file).read().split()])
def load(d):
    return np.concatenate([np.load(os.path.join(d, s, os.listdir(os.path.join(d, s))[0])) for s in sorted(os.listdir(d))])
def acc(d):
    return float((load(d).argmax(1) == labels).mean() * 100)
base = acc(f"{t}/fp32")
assert abs(base - acc(f"{t}/fp32_hq")) < 1e-9, "hyquant and ORT disagree on the FP32 model"
for m in ["int8", "fp16", "mixed"]:
    a = acc(f"{t}/{m}")
    print(f"{m}: ORT accuracy {a:.2f}% (FP32 {base:.2f}%)")
    assert a >= base - 1.0, f"{m} lost {base - a:.2f} points"
    mp = onnx.load(f"{t}/{m}.onnx")
    onnx.checker.check_model(mp)
    meta = {p.key: p.value for p in mp.metadata_props}
    assert "hyquant" in meta and json.loads(meta["hyquant"])["version"], meta
    assert mp.producer_name == "hyquant"
    assert max(o.version for o in mp.opset_import if o.domain in ("", "ai.onnx")) >= 13
q = onnx.load(f"{t}/int8.onnx")
assert q.graph == onnx.load(f"{t}/int8_plan.onnx").graph, "re-applying the written plan gave a different graph"
ops = [n.op_type for n in q.graph.node]
assert ops.count("QuantizeLinear") > 0 and ops.count("DequantizeLinear") > ops.count("QuantizeLinear")
int8 = [i for i in q.graph.initializer if i.data_type == onnx.TensorProto.INT8]
assert len(int8) >= 54, len(int8)
f16 = onnx.load(f"{t}/fp16.onnx")
assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in f16.graph.initializer)
assert f16.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
rep = json.load(open(f"{t}/mixed.json"))
assert rep["schema"] == 1 and all(l["sensitivity_db"] is not None for l in rep["layers"])
print("precision counts (mixed):", rep["precision_counts"])
PY

#!/usr/bin/env bash
# quantize --target ort-cpu --max-drop 0.5 on the bundled classifier writes a model whose label accuracy,
# measured in ONNX Runtime (Python onnxruntime, pinned venv) on the exact tensors hyquant feeds, is within
# 0.5 points of the FP32 model's; and hyquant's own accuracy figure in the report equals ORT's.
set -euo pipefail
hq="$1"; src="$2"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
py=$(bash "$src/scripts/venv.sh")
model="$src/models/ppocr_mobile_v2_cls.onnx"
pre=(--size 48x192 --keep-aspect --pad-value 0 --mean 127.5 --std 127.5)
labels="$src/models/textlines/eval_labels.txt"
"$hq" quantize "$model" -o "$t/q.onnx" --data "$src/models/textlines/calib" "${pre[@]}" --target ort-cpu \
    --max-drop 0.5 --eval-data "$src/models/textlines/eval" --labels "$labels" --report "$t/q.json" -q 2>/dev/null
"$hq" infer "$model" --data "$src/models/textlines/eval" "${pre[@]}" -o "$t/o" --save-inputs "$t/x" -q
"$py" - "$model" "$t/q.onnx" "$t/x" "$labels" "$t/q.json" <<'PY'
import json, os, sys
import numpy as np
import onnxruntime as ort
ref, cand, d, labels, rep = sys.argv[1:6]
labels = np.array([int(v) for v in open(labels).read().split()])
so = ort.SessionOptions(); so.log_severity_level = 3
def acc(p):
    s = ort.InferenceSession(p, so, providers=["CPUExecutionProvider"])
    top = [s.run(None, {"x": np.load(os.path.join(d, n, "x.npy"))})[0].argmax(1)[0] for n in sorted(os.listdir(d))]
    return float((np.array(top) == labels).mean() * 100)
a0, a1 = acc(ref), acc(cand)
r = json.load(open(rep))["accuracy"]
print(f"ORT: FP32 {a0:.2f}%, INT8 {a1:.2f}% (drop {a0 - a1:.2f}); hyquant's report: {r['reference_accuracy']:.2f}% -> {r['candidate_accuracy']:.2f}%")
assert a0 - a1 <= 0.5 + 1e-9, f"ORT drop {a0 - a1:.2f} > 0.5"
assert abs(r["candidate_accuracy"] - a1) < 1e-9 and abs(r["reference_accuracy"] - a0) < 1e-9, "hyquant and ORT disagree"
PY

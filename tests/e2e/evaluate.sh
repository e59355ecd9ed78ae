#!/usr/bin/env bash
# evaluate on the bundled model: label accuracies equal an independent count from ONNX Runtime's
# outputs of the same two models (to 0.1 point); a candidate with zeroed Conv weights breaks
# --max-drop 1 (exit 3); quantize --max-drop 0.5 meets its budget, checked in ONNX Runtime.
set -euo pipefail
hq="$1"; src="$2"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
model="$src/models/ppocr_mobile_v2_cls.onnx"
labels="$src/models/textlines/eval_labels.txt"
pre=(--size 48x192 --keep-aspect --pad-value 0 --mean 127.5 --std 127.5)
bash "$src/scripts/ort/setup.sh" >/dev/null
ort() { node "$src/scripts/ort/run.js" "$1" --data "$t/eval_inputs" -o "$2" --overwrite >/dev/null; }
"$hq" infer "$model" --data "$src/models/textlines/eval" "${pre[@]}" -o "$t/unused" --save-inputs "$t/eval_inputs" -q

# 1. evaluate's accuracies vs an independent count from ORT
"$hq" quantize "$model" -o "$t/int8.onnx" --data "$src/models/textlines/calib" "${pre[@]}" --reduce-range -q
"$hq" evaluate "$model" "$t/int8.onnx" --data "$src/models/textlines/eval" --labels "$labels" "${pre[@]}" \
    --report "$t/eval.json" --report "$t/eval.md" --report "$t/eval.html" -q
ort "$model" "$t/ort_ref"
ort "$t/int8.onnx" "$t/ort_int8"

# 2. zeroed Conv weights: the budget is broken, exit 3
/usr/bin/python3 - "$model" "$t/zeroed.onnx" <<'PY'
import sys, onnx, numpy as np
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
weights = set()
for n in m.graph.node:
    if n.op_type == "Conv":
        weights.add(n.input[1])
for n in m.graph.node:  # Paddle exports keep weights in Constant nodes
    if n.op_type == "Constant" and n.output[0] in weights:
        for a in n.attribute:
            if a.name == "value":
                a.t.CopyFrom(numpy_helper.from_array(np.zeros_like(numpy_helper.to_array(a.t)), a.t.name))
for i in m.graph.initializer:
    if i.name in weights:
        i.CopyFrom(numpy_helper.from_array(np.zeros_like(numpy_helper.to_array(i)), i.name))
onnx.save(m, sys.argv[2])
PY
set +e
"$hq" evaluate "$model" "$t/zeroed.onnx" --data "$src/models/textlines/eval" --labels "$labels" "${pre[@]}" \
    --max-drop 1 --report "$t/zeroed.json" -q 2>"$t/err"
rc=$?
set -e
[ "$rc" = 3 ] || { echo "zeroed weights: exit $rc, want 3"; cat "$t/err"; exit 1; }
grep -q "budget broken" "$t/err" || { echo "no budget message"; cat "$t/err"; exit 1; }

# 3. the accuracy-budget search meets --max-drop 0.5 in ORT
"$hq" quantize "$model" -o "$t/budget.onnx" --data "$src/models/textlines/calib" "${pre[@]}" --reduce-range \
    --max-drop 0.5 --eval-data "$src/models/textlines/eval" --labels "$labels" --report "$t/budget.json" \
    --report "$t/budget.html" -q
ort "$t/budget.onnx" "$t/ort_budget"

/usr/bin/python3 - "$t" "$labels" <<'PY'
import json, os, sys
import numpy as np
t, labels_file = sys.argv[1], sys.argv[2]
labels = np.array([int(x) for x in open(labels_file).read().split()])
def acc(d):
    p = np.concatenate([np.load(os.path.join(d, s, os.listdir(os.path.join(d, s))[0])) for s in sorted(os.listdir(d))])
    return float((p.argmax(1) == labels).mean() * 100)
ev = json.load(open(f"{t}/eval.json"))
ref, cand = acc(f"{t}/ort_ref"), acc(f"{t}/ort_int8")
print(f"evaluate: reference {ev['accuracy']['reference']:.2f} / ORT {ref:.2f}; candidate {ev['accuracy']['candidate']:.2f} / ORT {cand:.2f}")
assert abs(ev["accuracy"]["reference"] - ref) <= 0.1 and abs(ev["accuracy"]["candidate"] - cand) <= 0.1
assert ev["schema"] == 1 and len(ev["layers"]) >= 50 and ev["outputs"][0]["top1_agreement"] is not None
z = json.load(open(f"{t}/zeroed.json"))
assert z["budget"]["ok"] is False and z["budget"]["drop"] > 1, z["budget"]
b = json.load(open(f"{t}/budget.json"))
steps = b["accuracy"]["search_steps"]
assert steps and steps[0]["action"].startswith("start"), steps
got = acc(f"{t}/ort_budget")
print(f"budget search: {len(steps)} steps, ORT accuracy {got:.2f} vs FP32 {ref:.2f}")
assert ref - got <= 0.5 + 1e-9, (ref, got)
html = open(f"{t}/eval.html").read()
assert html.count("<svg") >= 2 and "<script src" not in html
PY
echo "evaluate e2e ok"

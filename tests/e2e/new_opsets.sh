#!/usr/bin/env bash
# Models as exported today (IR 9/10, opsets 18-21: Pad/ReduceMean with axes inputs, Split num_outputs, Gelu-20)
# load without Debian libonnx 1.12's checker as gatekeeper: inspect exits 0, infer matches ONNX Runtime, a model
# written out of order loads and infers, a cycle and a FLOAT8 tensor are exit 2 naming the node/tensor, and a model
# quantized from the opset-21 one keeps IR 10/opset 21, passes the current onnx checker (full check) and runs in ORT.
set -euo pipefail
hq="$1"; src="$2"
py=$(bash "$src/scripts/venv.sh")
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
"$py" "$src/scripts/gen_new_opset_models.py" "$t/m"
for m in ir10_opset21 ir9_opset18 unsorted; do
    "$hq" inspect "$t/m/$m.onnx" --json > "$t/$m.json"
    "$hq" infer "$t/m/$m.onnx" --data "$t/m/data" -o "$t/out_$m" -q
done
expect_exit2() {  # model, text the error must contain
    set +e; "$hq" inspect "$t/m/$1" > /dev/null 2> "$t/err"; rc=$?; set -e
    [ "$rc" = 2 ] || { echo "inspect $1: exit $rc, expected 2"; cat "$t/err"; exit 1; }
    grep -q "$2" "$t/err" || { echo "inspect $1: error does not name $2:"; cat "$t/err"; exit 1; }
    echo "ok: $1 -> exit 2: $(tail -1 "$t/err")"
}
expect_exit2 cycle.onnx "'cycle_\(add\|relu\)': the graph has a cycle"
expect_exit2 float8.onnx "'w_f8'.*FLOAT8E4M3FN"

"$hq" quantize "$t/m/ir10_opset21.onnx" -o "$t/q21.onnx" --data "$t/m/data" --guard-sqnr 0 -q > /dev/null
"$py" - "$t" <<'PY'
import json, os, sys
import numpy as np
import onnx, onnxruntime as ort
t = sys.argv[1]
for m in ("ir10_opset21", "ir9_opset18", "unsorted"):
    info = json.load(open(f"{t}/{m}.json"))
    want_ir, want_opset = (10, 21) if m == "ir10_opset21" else (9, 18)
    assert info["ir_version"] == want_ir and info["opsets"]["ai.onnx"] == want_opset, (m, info["ir_version"], info["opsets"])
    sess = ort.InferenceSession(f"{t}/m/{m}.onnx", providers=["CPUExecutionProvider"])
    worst = 0.0
    for s in sorted(os.listdir(f"{t}/m/data")):
        x = np.load(f"{t}/m/data/{s}/x.npy")
        ref = dict(zip(["y0", "y1"], sess.run(["y0", "y1"], {"x": x})))
        for k, v in ref.items():
            got = np.load(f"{t}/out_{m}/{s}/{k}.npy")
            assert got.shape == v.shape, (m, s, k, got.shape, v.shape)
            worst = max(worst, float(np.max(np.abs(got - v))))
    print(f"{m}: infer vs ONNX Runtime max abs diff {worst:.3g}")
    assert worst <= 1e-5, (m, worst)
q = onnx.load(f"{t}/q21.onnx")
onnx.checker.check_model(q, full_check=True)
ops = {n.op_type for n in q.graph.node}
assert {"QuantizeLinear", "DequantizeLinear"} <= ops, ops
opset = {o.domain: o.version for o in q.opset_import}
assert q.ir_version == 10 and opset[""] == 21, (q.ir_version, opset)
sess = ort.InferenceSession(f"{t}/q21.onnx", providers=["CPUExecutionProvider"])
x = np.load(f"{t}/m/data/s0/x.npy")
y = sess.run(None, {"x": x})
assert all(np.isfinite(v).all() for v in y)
print(f"quantized: IR {q.ir_version}, opset {opset['']}, onnx {onnx.__version__} full check ok, runs in ORT {ort.__version__}")
PY

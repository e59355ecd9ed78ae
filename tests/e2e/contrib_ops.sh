#!/usr/bin/env bash
# com.microsoft contrib ops (Gelu, FastGelu, BiasGelu, QuickGelu, SkipLayerNormalization with all four outputs,
# FusedMatMul with alpha/transA/transB and batch broadcasting) as ONNX Runtime's transformer optimizer writes them:
# hyquant infer matches ONNX Runtime (the ops' reference implementation) within 1e-5.
set -euo pipefail
hq="$1"; src="$2"
py=$(bash "$src/scripts/venv.sh")
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
"$py" - "$t" <<'PY'
import os, sys
import numpy as np
import onnx
from onnx import TensorProto as TP, helper as h, numpy_helper as nh
t = sys.argv[1]
rng = np.random.default_rng(3)
H = 8
init = [nh.from_array(rng.standard_normal(H).astype(np.float32), n) for n in ("gamma", "beta", "bias", "gb")]
init.append(nh.from_array(rng.standard_normal((2, 8, 8)).astype(np.float32), "wm"))
ms = "com.microsoft"
nodes = [
    h.make_node("SkipLayerNormalization", ["x", "skip", "gamma", "beta", "bias"], ["sln", "", "", "sum"],
                domain=ms, epsilon=1e-5, name="sln"),
    h.make_node("Gelu", ["sln"], ["g"], domain=ms, name="gelu"),
    h.make_node("FastGelu", ["sum", "gb"], ["fg"], domain=ms, name="fastgelu"),
    h.make_node("BiasGelu", ["x", "gb"], ["bg"], domain=ms, name="biasgelu"),
    h.make_node("QuickGelu", ["g"], ["qg"], domain=ms, alpha=1.5, name="quickgelu"),
    h.make_node("FusedMatMul", ["qg", "wm"], ["fm"], domain=ms, alpha=0.5, transB=1, name="fm"),
    h.make_node("FusedMatMul", ["fg", "bg"], ["fm2"], domain=ms, transA=1, name="fm2"),
]
outs = ["sln", "sum", "g", "fg", "bg", "qg", "fm", "fm2"]
g = h.make_graph(nodes, "contrib",
                 [h.make_tensor_value_info("x", TP.FLOAT, [2, 5, H]), h.make_tensor_value_info("skip", TP.FLOAT, [5, H])],
                 [h.make_tensor_value_info(o, TP.FLOAT, [2, 8, 8] if o == "fm2" else [2, 5, H]) for o in outs], init)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 17), h.make_opsetid(ms, 1)])
m.ir_version = 8
onnx.save(m, f"{t}/contrib.onnx")
for k in range(3):
    d = f"{t}/data/s{k}"
    os.makedirs(d)
    np.save(f"{d}/x.npy", rng.standard_normal((2, 5, H)).astype(np.float32) * 2)
    np.save(f"{d}/skip.npy", rng.standard_normal((5, H)).astype(np.float32))
PY
"$hq" infer "$t/contrib.onnx" --data "$t/data" -o "$t/out" -q
"$py" - "$t" <<'PY'
import os, sys
import numpy as np, onnxruntime as ort
t = sys.argv[1]
so = ort.SessionOptions()
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
sess = ort.InferenceSession(f"{t}/contrib.onnx", so, providers=["CPUExecutionProvider"])
names = [o.name for o in sess.get_outputs()]
worst = {}
for s in sorted(os.listdir(f"{t}/data")):
    feed = {k: np.load(f"{t}/data/{s}/{k}.npy") for k in ("x", "skip")}
    for n, want in zip(names, sess.run(names, feed)):
        got = np.load(f"{t}/out/{s}/{n}.npy")
        assert got.shape == want.shape, (n, got.shape, want.shape)
        worst[n] = max(worst.get(n, 0.0), float(np.max(np.abs(got - want) / (1 + np.abs(want)))))
print("max error vs ONNX Runtime per output:", {k: f"{v:.2g}" for k, v in worst.items()})
assert max(worst.values()) <= 1e-5, worst
PY

#!/usr/bin/env bash
# RNN, GRU, LSTM in the CPU executor against ONNX Runtime: bidirectional/reverse, sequence_lens shorter than the
# sequence, initial states, peepholes, clip, input_forget, linear_before_reset 0/1, activations with alpha/beta,
# all outputs: hyquant infer matches ONNX Runtime within 1e-4 (max abs diff).
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
rng = np.random.default_rng(5)
S, B, I, H = 6, 3, 4, 5
init, nodes, outs = [], [], []
def w(name, *shape):
    init.append(nh.from_array((rng.standard_normal(shape) * 0.6).astype(np.float32), name))
    return name
init.append(nh.from_array(np.array([6, 4, 2], np.int32), "sl"))
def add(op, nd, G, tag, outputs, lstm_extra=True, **attrs):
    ins = ["x", w(f"{tag}_w", nd, G * H, I), w(f"{tag}_r", nd, G * H, H), w(f"{tag}_b", nd, 2 * G * H), "sl",
           w(f"{tag}_h0", nd, B, H)]
    if op == "LSTM" and lstm_extra:
        ins += [w(f"{tag}_c0", nd, B, H), w(f"{tag}_p", nd, 3 * H)]
    order = ["y", "yh", "yc"]  # positional; a skipped output is ""
    last = max(order.index(o) for o in outputs)
    names = [f"{tag}_{o}" if o in outputs else "" for o in order[:last + 1]]
    nodes.append(h.make_node(op, ins, names, name=tag, hidden_size=H, **attrs))
    shapes = {"y": [S, nd, B, H], "yh": [nd, B, H], "yc": [nd, B, H]}
    outs.extend(h.make_tensor_value_info(f"{tag}_{o}", TP.FLOAT, shapes[o]) for o in outputs)
add("LSTM", 2, 4, "lstm_bi", ["y", "yh", "yc"], direction="bidirectional")
add("LSTM", 1, 4, "lstm_rev", ["y", "yh"], direction="reverse", input_forget=1)
add("LSTM", 1, 4, "lstm_clip", ["y", "yc"], clip=0.4)
add("LSTM", 1, 4, "lstm_act", ["y"], activations=["HardSigmoid", "Softsign", "Affine"],
    activation_alpha=[0.3, 0.8], activation_beta=[0.45, 0.1])
add("GRU", 2, 3, "gru_lbr", ["y", "yh"], direction="bidirectional", linear_before_reset=1)
add("GRU", 2, 3, "gru", ["y", "yh"], direction="bidirectional", clip=0.8)
add("GRU", 1, 3, "gru_act", ["y", "yh"], direction="reverse", activations=["Sigmoid", "LeakyRelu"],
    activation_alpha=[0.2])
add("RNN", 2, 1, "rnn", ["y", "yh"], direction="bidirectional", activations=["Relu", "ScaledTanh"],
    activation_alpha=[0.9], activation_beta=[1.2])
add("RNN", 1, 1, "rnn_elu", ["yh"], activations=["Elu"], activation_alpha=[0.7])
g = h.make_graph(nodes, "recurrent", [h.make_tensor_value_info("x", TP.FLOAT, [S, B, I])], outs, init)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 14)])
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, f"{t}/rec.onnx")
for k in range(3):
    d = f"{t}/data/s{k}"
    os.makedirs(d)
    np.save(f"{d}/x.npy", rng.standard_normal((S, B, I)).astype(np.float32) * 1.5)
PY
"$hq" infer "$t/rec.onnx" --data "$t/data" -o "$t/out" -q
"$py" - "$t" <<'PY'
import os, sys
import numpy as np, onnxruntime as ort
t = sys.argv[1]
so = ort.SessionOptions()
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
sess = ort.InferenceSession(f"{t}/rec.onnx", so, providers=["CPUExecutionProvider"])
names = [o.name for o in sess.get_outputs()]
worst = {}
for s in sorted(os.listdir(f"{t}/data")):
    feed = {"x": np.load(f"{t}/data/{s}/x.npy")}
    for n, want in zip(names, sess.run(names, feed)):
        got = np.load(f"{t}/out/{s}/{n}.npy")
        assert got.shape == want.shape, (n, got.shape, want.shape)
        worst[n] = max(worst.get(n, 0.0), float(np.max(np.abs(got - want))))
print("max abs diff vs ONNX Runtime per output:", {k: f"{v:.2g}" for k, v in worst.items()})
bad = {k: v for k, v in worst.items() if not v <= 1e-4}
assert not bad, bad
PY

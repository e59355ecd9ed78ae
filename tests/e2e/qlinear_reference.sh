#!/usr/bin/env bash
# ConvInteger, MatMulInteger, QLinearConv, QLinearMatMul beyond the ONNX node tests, against ONNX's reference
# implementation (onnx.reference): uint8/int8/mixed operands, groups, depthwise, strides, dilations, asymmetric pads,
# auto_pad, 1-D conv, per-channel weight zero points and scales, int32 bias, batched MatMul, per-row A and y
# parameters and per-column B parameters. The cases are written as node tests and run by hq_node_tests (exact).
set -euo pipefail
hq="$1"; src="$2"
py=$(bash "$src/scripts/venv.sh")
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
"$py" - "$t" <<'PY'
import os, sys
import numpy as np
import onnx
from onnx import TensorProto as TP, helper as h, numpy_helper as nh
from onnx.reference import ReferenceEvaluator
t = sys.argv[1]
rng = np.random.default_rng(11)
def q(shape, dt):
    lo, hi = (0, 256) if dt == np.uint8 else (-128, 128)
    return rng.integers(lo, hi, size=shape).astype(dt)
TT = {np.uint8: TP.UINT8, np.int8: TP.INT8, np.int32: TP.INT32, np.float32: TP.FLOAT}
cases = []
# (name, op, attrs, inputs as (name, array or None for absent), output type)
for xdt, wdt in ((np.uint8, np.uint8), (np.int8, np.int8), (np.uint8, np.int8)):
    tag = f"{np.dtype(xdt).name}_{np.dtype(wdt).name}"
    cases.append((f"convint_g2_{tag}", "ConvInteger", dict(group=2, strides=[2, 1], dilations=[1, 2], pads=[1, 2, 0, 1]),
                  [("x", q((2, 4, 9, 8), xdt)), ("w", q((6, 2, 3, 3), wdt)), ("xz", q((), xdt)), ("wz", q((6,), wdt))]))
    cases.append((f"convint_dw_{tag}", "ConvInteger", dict(group=4, auto_pad="SAME_UPPER"),
                  [("x", q((1, 4, 7, 7), xdt)), ("w", q((4, 1, 3, 3), wdt)), ("xz", q((), xdt)), ("wz", q((), wdt))]))
    cases.append((f"convint_1d_{tag}", "ConvInteger", dict(pads=[1, 1]),
                  [("x", q((1, 3, 10), xdt)), ("w", q((5, 3, 3), wdt)), ("xz", q((), xdt))]))
    cases.append((f"matmulint_{tag}", "MatMulInteger", {},
                  [("a", q((2, 5, 7), xdt)), ("b", q((7, 4), wdt)), ("az", q((5,), xdt)), ("bz", q((4,), wdt))]))
    cases.append((f"matmulint_batched_{tag}", "MatMulInteger", {},
                  [("a", q((3, 4, 6), xdt)), ("b", q((3, 6, 2), wdt)), ("az", q((), xdt)), ("bz", q((), wdt))]))
    f = lambda *s: (rng.random(s if s else ()) * 0.05 + 0.01).astype(np.float32)
    cases.append((f"qlconv_pc_{tag}", "QLinearConv", dict(group=2, pads=[1, 1, 1, 1], strides=[2, 2]),
                  [("x", q((2, 4, 9, 9), xdt)), ("xs", f()), ("xz", q((), xdt)), ("w", q((6, 2, 3, 3), wdt)),
                   ("ws", f(6)), ("wz", q((6,), wdt)), ("ys", np.array(2.0, np.float32) * 3), ("yz", q((), xdt)),
                   ("b", rng.integers(-5000, 5000, size=6).astype(np.int32))]))
    cases.append((f"qlconv_dw_{tag}", "QLinearConv", dict(group=3, auto_pad="SAME_LOWER", strides=[2, 2]),
                  [("x", q((1, 3, 8, 8), xdt)), ("xs", f()), ("xz", q((), xdt)), ("w", q((3, 1, 2, 2), wdt)),
                   ("ws", f()), ("wz", q((), wdt)), ("ys", np.array(1.5, np.float32)), ("yz", q((), xdt))]))
    cases.append((f"qlmatmul_{tag}", "QLinearMatMul", {},
                  [("a", q((2, 5, 7), xdt)), ("as", f()), ("az", q((), xdt)), ("b", q((7, 4), wdt)),
                   ("bs", f(4)), ("bz", q((4,), wdt)), ("ys", np.array(0.7, np.float32)), ("yz", q((), xdt))]))
    cases.append((f"qlmatmul_rows_{tag}", "QLinearMatMul", {},
                  [("a", q((5, 7), xdt)), ("as", f(5)), ("az", q((5,), xdt)), ("b", q((7, 3), wdt)),
                   ("bs", f()), ("bz", q((), wdt)), ("ys", f(5) * 20), ("yz", q((5,), xdt))]))

for name, op, attrs, ins in cases:
    vi = [h.make_tensor_value_info(n, TT[a.dtype.type], a.shape) for n, a in ins]
    node = h.make_node(op, [n for n, _ in ins], ["y"], name=name, **attrs)
    g = h.make_graph([node], name, vi, [h.make_tensor_value_info("y", TP.UNDEFINED, None)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 21)])
    m.ir_version = 10
    # The reference broadcasts per-row parameters against the last axis: give it them as a column.
    rows = {"az", "as", "ys", "yz"} if op.endswith("MatMulInteger") or op == "QLinearMatMul" else set()
    feeds = {n: (a.reshape(-1, 1) if n in rows and a.ndim == 1 else a) for n, a in ins}
    want = ReferenceEvaluator(m).run(None, feeds)[0]
    d = f"{t}/{name}"
    os.makedirs(f"{d}/test_data_set_0")
    m.graph.output[0].CopyFrom(h.make_tensor_value_info("y", TT[want.dtype.type], want.shape))
    onnx.save(m, f"{d}/model.onnx")
    for k, (n, a) in enumerate(ins):
        onnx.save_tensor(nh.from_array(a, n), f"{d}/test_data_set_0/input_{k}.pb")
    onnx.save_tensor(nh.from_array(want, "y"), f"{d}/test_data_set_0/output_0.pb")
print(len(cases), "cases")
PY
"$(dirname "$hq")/hq_node_tests" --by-op --dir "$t"

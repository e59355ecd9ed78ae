#!/usr/bin/env python3
"""Small models in today's ONNX (IR 9/10, opsets 18-21) and broken ones, for tests/e2e/new_opsets.sh.

Usage: build-venv/bin/python scripts/gen_new_opset_models.py OUTDIR
Writes (with random inputs under OUTDIR/data/<model>/x.npy):
  ir10_opset21.onnx  Conv, Relu, Pad (axes input), ReduceMean (axes input), MatMul, Split (num_outputs), Gelu-20
  ir9_opset18.onnx   the same graph at opset 18 (Gelu as Erf arithmetic)
  unsorted.onnx      the opset-18 model with its nodes written in reverse order (valid once sorted)
  cycle.onnx         Add -> Relu -> back into the Add ("cycle_add" and "cycle_relu" lie on the cycle)
  float8.onnx        a FLOAT8E4M3FN initializer "w_f8" cast to float
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def conv_net(opset: int, ir: int) -> onnx.ModelProto:
    rng = np.random.default_rng(opset)
    init = [
        numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.3, "conv_w"),
        numpy_helper.from_array(rng.standard_normal(4).astype(np.float32) * 0.1, "conv_b"),
        numpy_helper.from_array(np.array([1, 2, 0, 1], np.int64), "pads"),
        numpy_helper.from_array(np.array([2, 3], np.int64), "pad_axes"),
        numpy_helper.from_array(np.array([2, 3], np.int64), "mean_axes"),
        numpy_helper.from_array(rng.standard_normal((4, 6)).astype(np.float32), "fc_w"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "conv_w", "conv_b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Pad", ["r", "pads", "", "pad_axes"], ["p"], name="pad", mode="reflect"),
        helper.make_node("ReduceMean", ["p", "mean_axes"], ["m"], name="mean", keepdims=0),
        helper.make_node("MatMul", ["m", "fc_w"], ["f"], name="fc"),
    ]
    if opset >= 20:
        nodes.append(helper.make_node("Gelu", ["f"], ["g"], name="gelu", approximate="tanh"))
    else:  # x * 0.5 * (1 + erf(x / sqrt 2))
        init += [numpy_helper.from_array(np.array(0.70710678, np.float32), "rsqrt2"),
                 numpy_helper.from_array(np.array(1.0, np.float32), "one"),
                 numpy_helper.from_array(np.array(0.5, np.float32), "half")]
        nodes += [helper.make_node("Mul", ["f", "rsqrt2"], ["g0"], name="g0"),
                  helper.make_node("Erf", ["g0"], ["g1"], name="g1"),
                  helper.make_node("Add", ["g1", "one"], ["g2"], name="g2"),
                  helper.make_node("Mul", ["f", "half"], ["g3"], name="g3"),
                  helper.make_node("Mul", ["g2", "g3"], ["g"], name="g4")]
    nodes.append(helper.make_node("Split", ["g"], ["y0", "y1"], name="split", axis=1, num_outputs=2))
    graph = helper.make_graph(
        nodes, f"opset{opset}",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("y0", TensorProto.FLOAT, ["N", 3]),
         helper.make_tensor_value_info("y1", TensorProto.FLOAT, ["N", 3])],
        init)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="gen_new_opset_models")
    m.ir_version = ir
    onnx.checker.check_model(m, full_check=True)
    return m


def main() -> int:
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    m21 = conv_net(21, 10)
    m18 = conv_net(18, 9)
    onnx.save(m21, os.path.join(out, "ir10_opset21.onnx"))
    onnx.save(m18, os.path.join(out, "ir9_opset18.onnx"))
    unsorted = onnx.ModelProto()
    unsorted.CopyFrom(m18)
    nodes = list(unsorted.graph.node)[::-1]
    del unsorted.graph.node[:]
    unsorted.graph.node.extend(nodes)
    onnx.save(unsorted, os.path.join(out, "unsorted.onnx"))

    cyc = helper.make_graph(
        [helper.make_node("Add", ["x", "back"], ["a"], name="cycle_add"),
         helper.make_node("Relu", ["a"], ["back"], name="cycle_relu"),
         helper.make_node("Neg", ["a"], ["y"], name="after_cycle")],
        "cycle", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    cm = helper.make_model(cyc, opset_imports=[helper.make_opsetid("", 18)])
    cm.ir_version = 9
    onnx.save(cm, os.path.join(out, "cycle.onnx"))

    f8 = helper.make_tensor("w_f8", TensorProto.FLOAT8E4M3FN, [2], [1.0, 2.0])
    fg = helper.make_graph(
        [helper.make_node("Cast", ["w_f8"], ["w"], name="cast", to=TensorProto.FLOAT),
         helper.make_node("Add", ["x", "w"], ["y"], name="add")],
        "float8", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])], [f8])
    fm = helper.make_model(fg, opset_imports=[helper.make_opsetid("", 19)])
    fm.ir_version = 9
    onnx.checker.check_model(fm, full_check=True)
    onnx.save(fm, os.path.join(out, "float8.onnx"))

    rng = np.random.default_rng(0)
    for k in range(6):
        d = os.path.join(out, "data", f"s{k}")
        os.makedirs(d, exist_ok=True)
        np.save(os.path.join(d, "x.npy"), rng.standard_normal((1, 3, 8, 8)).astype(np.float32))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Graphs for channel-pruning tests, and the masked reference of a pruned model (onnx.helper + numpy only).

Run with Debian's interpreter, which has python3-onnx and python3-numpy:

  /usr/bin/python3 scripts/gen_prune_models.py models OUT_DIR [--seed 0] [--samples 2]
  /usr/bin/python3 scripts/gen_prune_models.py mask MODEL.onnx REPORT.json OUT.onnx

models: writes OUT_DIR/<name>.onnx and OUT_DIR/<name>_data/<k>.npy (random N(0, 1) inputs for the single
input `x`) for each of these opset-13 graphs (random weights, fixed seed, every node named):
  conv_bn        Conv -> BatchNormalization -> Relu -> Conv -> BatchNormalization -> Relu -> Conv
  residual       Conv c0 -> Relu -> Conv -> Relu -> Conv c2, + Relu(c0) -> Add -> Conv
  concat         Conv (6) and Conv (10) branches -> Relu -> Concat -> BatchNormalization -> Conv
  depthwise      Conv -> Relu -> depthwise Conv (group 8, bias) -> Relu -> pointwise Conv
  depthwise_x2   the same with a channel multiplier of 2 (16 depthwise outputs)
  gap_gemm       Conv -> Relu -> GlobalAveragePool -> Flatten -> Gemm (transB 1)
  flatten_gemm   Conv -> Relu -> Flatten of the 4x4 map -> Gemm (transB 0, 128 features)
  resize_pool    Conv -> Relu -> Resize (sizes) -> Conv -> Relu -> MaxPool -> Conv
The BatchNormalization after Concat cannot be folded into a Conv, so `hyquant prune` slices it.

mask: the masked reference of a pruned model. REPORT.json is `hyquant prune --report`'s JSON; for every layer
with `removed_channels`, the ORIGINAL model gets those output channels' filters and bias entries set to 0, and
every BatchNormalization reached by those channels (through elementwise ops, pooling, Resize, Concat with its
channel offsets) gets scale and bias 0 there, so that the removed channels are exactly 0 wherever they go.
The masked model then computes what the pruned model computes (as long as the ops after a removed channel map
0 to 0, as Relu, HardSwish, pooling and Resize do). Weights in Constant nodes are masked too.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference

OPSET = 13


class Builder:
    def __init__(self, x_shape, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []
        self.x_shape = x_shape

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def rand(self, name, shape, lo=-1.0, hi=1.0):
        return self.init(name, self.rng.uniform(lo, hi, size=shape).astype(np.float32))

    def conv(self, name, x, y, cin, cout, k, group=1, bias=True):
        ins = [x, self.rand(name + ".w", (cout, cin // group, k, k), -0.5, 0.5)]
        if bias:
            ins.append(self.rand(name + ".b", (cout,)))
        self.nodes.append(helper.make_node("Conv", ins, [y], name=name, kernel_shape=[k, k], pads=[k // 2] * 4,
                                           group=group))

    def bn(self, name, x, y, c):
        ins = [x, self.rand(name + ".scale", (c,), 0.5, 1.5), self.rand(name + ".bias", (c,)),
               self.rand(name + ".mean", (c,), -0.5, 0.5), self.rand(name + ".var", (c,), 0.5, 1.5)]
        self.nodes.append(helper.make_node("BatchNormalization", ins, [y], name=name))

    def op(self, op, ins, y, **attrs):
        self.nodes.append(helper.make_node(op, ins, [y], name=f"{op}_{y}", **attrs))

    def gemm(self, name, x, y, k, n, trans_b):
        w = self.rand(name + ".w", (n, k) if trans_b else (k, n), -0.3, 0.3)
        self.nodes.append(helper.make_node("Gemm", [x, w, self.rand(name + ".b", (n,))], [y], name=name,
                                           transB=1 if trans_b else 0))

    def model(self, name, y_shape):
        g = helper.make_graph(self.nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, self.x_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="gen_prune_models")
        m.ir_version = 8
        m = shape_inference.infer_shapes(m)
        onnx.checker.check_model(m, full_check=True)
        return m


def build(name, seed):
    hw = 4 if name == "flatten_gemm" else 8
    b = Builder([1, 4, hw, hw], seed)
    if name == "conv_bn":
        b.conv("c0", "x", "a0", 4, 8, 3); b.bn("bn0", "a0", "b0", 8); b.op("Relu", ["b0"], "r0")
        b.conv("c1", "r0", "a1", 8, 8, 3); b.bn("bn1", "a1", "b1", 8); b.op("Relu", ["b1"], "r1")
        b.conv("c2", "r1", "y", 8, 6, 1)
        return b.model(name, [1, 6, hw, hw])
    if name == "residual":
        b.conv("c0", "x", "a0", 4, 8, 3); b.op("Relu", ["a0"], "r0")
        b.conv("c1", "r0", "a1", 8, 8, 3); b.op("Relu", ["a1"], "r1")
        b.conv("c2", "r1", "a2", 8, 8, 3); b.op("Add", ["a2", "r0"], "s")
        b.conv("c3", "s", "y", 8, 5, 1)
        return b.model(name, [1, 5, hw, hw])
    if name == "concat":
        b.conv("ca", "x", "aa", 4, 6, 3); b.op("Relu", ["aa"], "ra")
        b.conv("cb", "x", "ab", 4, 10, 1); b.op("Relu", ["ab"], "rb")
        b.op("Concat", ["ra", "rb"], "cat", axis=1); b.bn("bnc", "cat", "bc", 16)
        b.conv("c", "bc", "y", 16, 5, 1)
        return b.model(name, [1, 5, hw, hw])
    if name in ("depthwise", "depthwise_x2"):
        mult = 2 if name == "depthwise_x2" else 1
        b.conv("c0", "x", "a0", 4, 8, 1); b.op("Relu", ["a0"], "r0")
        b.conv("dw", "r0", "d", 8, 8 * mult, 3, group=8); b.op("Relu", ["d"], "rd")
        b.conv("pw", "rd", "y", 8 * mult, 6, 1)
        return b.model(name, [1, 6, hw, hw])
    if name == "gap_gemm":
        b.conv("c0", "x", "a0", 4, 8, 3); b.op("Relu", ["a0"], "r0")
        b.op("GlobalAveragePool", ["r0"], "g"); b.op("Flatten", ["g"], "f")
        b.gemm("fc", "f", "y", 8, 3, True)
        return b.model(name, [1, 3])
    if name == "flatten_gemm":
        b.conv("c0", "x", "a0", 4, 8, 3); b.op("Relu", ["a0"], "r0"); b.op("Flatten", ["r0"], "f")
        b.gemm("fc", "f", "y", 8 * hw * hw, 3, False)
        return b.model(name, [1, 3])
    if name == "resize_pool":
        b.init("rs.sizes", np.array([1, 8, 2 * hw, 2 * hw], dtype=np.int64))
        b.conv("c0", "x", "a0", 4, 8, 3); b.op("Relu", ["a0"], "r0")
        b.op("Resize", ["r0", "", "", "rs.sizes"], "rs", mode="nearest")
        b.conv("c1", "rs", "a1", 8, 8, 3); b.op("Relu", ["a1"], "r1")
        b.op("MaxPool", ["r1"], "mp", kernel_shape=[2, 2], strides=[2, 2])
        b.conv("c2", "mp", "y", 8, 5, 1)
        return b.model(name, [1, 5, hw, hw])
    raise ValueError(name)


NAMES = ["conv_bn", "residual", "concat", "depthwise", "depthwise_x2", "gap_gemm", "flatten_gemm", "resize_pool"]


def cmd_models(a):
    os.makedirs(a.out_dir, exist_ok=True)
    for i, name in enumerate(NAMES):
        m = build(name, a.seed + i)
        onnx.save(m, os.path.join(a.out_dir, name + ".onnx"))
        d = os.path.join(a.out_dir, name + "_data")
        os.makedirs(d, exist_ok=True)
        shape = [x.dim_value for x in m.graph.input[0].type.tensor_type.shape.dim]
        rng = np.random.default_rng(1000 + a.seed + i)
        for k in range(a.samples):
            np.save(os.path.join(d, f"{k:04d}.npy"), rng.standard_normal(shape).astype(np.float32))
    print(f"wrote {len(NAMES)} models to {a.out_dir}")


# Ops whose output channel c is a function of input channel c only (0 stays 0 for the masked reference
# wherever it matters): removed channels propagate through them to the BatchNorms they reach.
PASS = {"Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Add", "Sub", "Mul", "Div", "MaxPool",
        "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Resize", "Upsample", "Identity", "Dropout", "Pad",
        "BatchNormalization", "Cast"}


def cmd_mask(a):
    m = onnx.load(a.model)
    report = json.load(open(a.report))
    removed = {l["node"]: l["removed_channels"] for l in report["layers"] if l.get("removed_channels")}
    if not removed:
        sys.exit("error: the report removes no channels")
    g = m.graph
    consts = {i.name: i for i in g.initializer}
    for n in g.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            consts[n.output[0]] = n.attribute[0].t
    names = {n.name for n in g.node}
    missing = sorted(set(removed) - names)
    if missing:
        sys.exit(f"error: report layers not in the model: {missing}")

    def zero(name, axis, idx):
        t = consts[name]
        arr = numpy_helper.to_array(t).copy()
        sl = [slice(None)] * arr.ndim
        sl[axis] = list(idx)
        arr[tuple(sl)] = 0
        t.CopyFrom(numpy_helper.from_array(arr, t.name))

    inferred = shape_inference.infer_shapes(m)
    channels = {}
    for v in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        dims = v.type.tensor_type.shape.dim
        if len(dims) >= 2 and dims[1].HasField("dim_value"):
            channels[v.name] = dims[1].dim_value

    gone = {}  # value -> removed channel indices (axis 1)
    for n in g.node:
        if n.name in removed:
            idx = removed[n.name]
            trans_b = any(at.name == "transB" and at.i for at in n.attribute)
            out_axis = {"Conv": 0, "ConvTranspose": 1, "MatMul": 1, "Gemm": 0 if trans_b else 1}[n.op_type]
            zero(n.input[1], out_axis, idx)
            if len(n.input) > 2 and n.input[2]:
                zero(n.input[2], numpy_helper.to_array(consts[n.input[2]]).ndim - 1, idx)
            gone[n.output[0]] = sorted(idx)
        elif n.op_type == "Concat" and any(i in gone for i in n.input):
            axis = next((at.i for at in n.attribute if at.name == "axis"), None)
            if axis not in (1, -3):
                sys.exit(f"error: {n.name}: Concat of removed channels along axis {axis}")
            idx, off = [], 0
            for i in n.input:
                idx += [off + c for c in gone.get(i, [])]
                off += channels[i]
            if idx:
                gone[n.output[0]] = idx
        elif n.op_type in PASS:
            idx = sorted(set(c for i in n.input for c in gone.get(i, [])))
            if not idx:
                continue
            if n.op_type == "BatchNormalization":
                zero(n.input[1], 0, idx)
                zero(n.input[2], 0, idx)
            gone[n.output[0]] = idx
    onnx.save(m, a.out)
    print(f"masked {len(removed)} layers of {a.model} -> {a.out}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pm = sub.add_parser("models")
    pm.add_argument("out_dir")
    pm.add_argument("--seed", type=int, default=0)
    pm.add_argument("--samples", type=int, default=2)
    pk = sub.add_parser("mask")
    pk.add_argument("model")
    pk.add_argument("report")
    pk.add_argument("out")
    a = p.parse_args()
    {"models": cmd_models, "mask": cmd_mask}[a.cmd](a)


if __name__ == "__main__":
    main()

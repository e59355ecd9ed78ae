#!/usr/bin/env python3
"""Models that plain INT8 breaks, for the quality guard's tests (Debian python3 with numpy + onnx).

usage: gen_guard_models.py OUTDIR
Writes OUTDIR/{const_channel,prelu}.onnx and OUTDIR/{const_channel,prelu}_{calib,eval}/NNNN.npy.
  const_channel: a raw 0-255 RGBA input whose alpha channel is the constant 255 (as an image decoder
      hands it over); the first Conv puts a large DC from alpha on every channel, the second subtracts
      neighbouring channels so the DC cancels -- per-tensor INT8 of the first Conv's output loses the
      signal entirely (output SQNR near 0 dB).
  prelu: Conv -> PRelu (per-channel slopes) -> Conv -> PRelu -> GlobalAveragePool -> Gemm, a face-embedding
      shaped network.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(graph, path):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="gen_guard_models")
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, path)


def const_channel(rng):
    c = 8
    w1 = np.zeros((c, 4, 3, 3), np.float32)
    w1[:, :3] = rng.normal(0, 0.02, (c, 3, 3, 3))
    w1[:, 3, 1, 1] = 4.0  # alpha (255) -> DC of 1020 on every channel
    w2 = np.zeros((c, c, 1, 1), np.float32)
    for o in range(c):
        w2[o, o, 0, 0], w2[o, (o + 1) % c, 0, 0] = 1.0, -1.0  # neighbouring channels: DC cancels
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2"),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("Conv", ["r2", "w3", "b3"], ["y"], name="conv3"),
    ]
    inits = [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2"),
             numpy_helper.from_array(rng.normal(0, 0.3, (4, c, 1, 1)).astype(np.float32), "w3"),
             numpy_helper.from_array(np.zeros(4, np.float32), "b3")]
    g = helper.make_graph(nodes, "const_channel", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 16, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 16, 16])], inits)

    def sample(r):
        x = np.empty((1, 4, 16, 16), np.float32)
        x[0, :3] = np.floor(r.uniform(0, 256, (3, 16, 16)))
        x[0, 3] = 255.0
        return x
    return g, sample


def prelu(rng):
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("PRelu", ["c1", "s1"], ["p1"], name="prelu1"),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], name="conv2", pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("PRelu", ["c2", "s2"], ["p2"], name="prelu2"),
        helper.make_node("GlobalAveragePool", ["p2"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["y"], name="fc", transB=1),
    ]
    inits = [numpy_helper.from_array(rng.normal(0, 0.2, (16, 3, 3, 3)).astype(np.float32), "w1"),
             numpy_helper.from_array(rng.normal(0, 0.1, 16).astype(np.float32), "b1"),
             numpy_helper.from_array(rng.uniform(0.05, 0.4, (16, 1, 1)).astype(np.float32), "s1"),
             numpy_helper.from_array(rng.normal(0, 0.08, (32, 16, 3, 3)).astype(np.float32), "w2"),
             numpy_helper.from_array(rng.normal(0, 0.1, 32).astype(np.float32), "b2"),
             numpy_helper.from_array(rng.uniform(0.05, 0.4, (32, 1, 1)).astype(np.float32), "s2"),
             numpy_helper.from_array(rng.normal(0, 0.2, (64, 32)).astype(np.float32), "w3"),
             numpy_helper.from_array(np.zeros(64, np.float32), "b3")]
    g = helper.make_graph(nodes, "prelu", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])], inits)
    return g, lambda r: r.normal(0, 1, (1, 3, 32, 32)).astype(np.float32)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, make in (("const_channel", const_channel), ("prelu", prelu)):
        rng = np.random.default_rng(7)
        g, sample = make(rng)
        save(g, os.path.join(out, name + ".onnx"))
        for part, n, seed in (("calib", 12, 1), ("eval", 8, 2)):
            d = os.path.join(out, f"{name}_{part}")
            os.makedirs(d, exist_ok=True)
            r = np.random.default_rng(seed)
            for i in range(n):
                np.save(os.path.join(d, f"{i:04d}.npy"), sample(r))
    print(f"wrote const_channel and prelu models and data to {out}")


if __name__ == "__main__":
    main()

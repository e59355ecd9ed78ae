#!/usr/bin/env python3
"""Writes a large MatMul chain model with its weights in external data, one weight at a time.

X[1,N] -> MatMul(W0) -> Relu -> MatMul(W1) -> Relu -> MatMul(W2) -> Y, each W float32 [N,N] stored in
<model>.data at 4 KiB aligned offsets. Only one weight is in memory at a time (issue #15's benchmark model).
Usage: gen_big_model.py OUT.onnx [--size N] [--layers L]
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=16384)
    ap.add_argument("--layers", type=int, default=3)
    a = ap.parse_args()
    n = a.size
    data_name = os.path.basename(a.out) + ".data"
    data_path = os.path.join(os.path.dirname(os.path.abspath(a.out)), data_name)
    rng = np.random.default_rng(0)
    inits, nodes = [], []
    offset = 0
    with open(data_path, "wb") as f:
        prev = "X"
        for i in range(a.layers):
            pad = (4096 - offset % 4096) % 4096
            f.write(b"\0" * pad)
            offset += pad
            # Row by row chunks keep the generator's memory at one weight at most.
            length = 0
            for r0 in range(0, n, 1024):
                rows = min(1024, n - r0)
                chunk = (rng.standard_normal((rows, n), dtype=np.float32) / np.sqrt(n)).astype("<f4")
                f.write(chunk.tobytes())
                length += chunk.nbytes
            t = TensorProto()
            t.name = f"W{i}"
            t.data_type = TensorProto.FLOAT
            t.dims.extend([n, n])
            t.data_location = TensorProto.EXTERNAL
            for k, v in (("location", data_name), ("offset", str(offset)), ("length", str(length))):
                e = t.external_data.add()
                e.key, e.value = k, v
            offset += length
            inits.append(t)
            out = "Y" if i == a.layers - 1 else f"h{i}"
            mm = out if i == a.layers - 1 else f"m{i}"
            nodes.append(helper.make_node("MatMul", [prev, f"W{i}"], [mm], name=f"matmul{i}"))
            if i != a.layers - 1:
                nodes.append(helper.make_node("Relu", [mm], [out], name=f"relu{i}"))
            prev = out
    g = helper.make_graph(nodes, "big_matmul", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, n])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, n])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="gen_big_model")
    m.ir_version = 8
    with open(a.out, "wb") as f:
        f.write(m.SerializeToString())
    print(f"{a.out}: {a.layers} x float[{n},{n}] = {offset} bytes of weights in {data_name}")


if __name__ == "__main__":
    main()

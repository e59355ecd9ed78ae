#!/usr/bin/env python3
"""Lints a QDQ model against MIGraphX's conversion rules (src/simplify_qdq.cpp, see ../shared/ENGINES.md):
a convolution / dot becomes quant_convolution / quant_dot only when BOTH inputs come from
DequantizeLinear of int8 data (through Transpose/Reshape/Squeeze/Unsqueeze/Flatten/Cast-free views),
the activation side with a scalar scale and a zero point of 0; the weight side may be per-channel on the
output axis. uint8 pairs are dropped by MIGraphX and the op runs in float.

usage: lint_migraphx.py MODEL.onnx [--json] [--min-pass FRACTION]
Prints one line per weighted node (Conv, ConvTranspose, MatMul, Gemm) that fails, then
"migraphx lint: P of N weighted layers pass (F%)". Exit 1 when the pass fraction is below --min-pass
(default 0: report only), 2 on a bad file.
"""
import argparse
import json
import sys

import numpy as np
import onnx
from onnx import numpy_helper

VIEWS = {"Transpose", "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity"}
INT8 = onnx.TensorProto.INT8


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--min-pass", type=float, default=0.0)
    a = ap.parse_args()
    try:
        m = onnx.load(a.model)
    except Exception as e:  # noqa: BLE001 - any load failure is a bad file
        print(f"error: {a.model}: {e}", file=sys.stderr)
        return 2
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    prod = {o: n for n in g.node for o in n.output}

    def const(name):
        return numpy_helper.to_array(inits[name]) if name in inits else None

    def dtype_of(name):
        if name in inits:
            return inits[name].data_type
        n = prod.get(name)
        if n is not None and n.op_type == "QuantizeLinear":
            zp = n.input[2] if len(n.input) > 2 else ""
            return inits[zp].data_type if zp in inits else onnx.TensorProto.UINT8
        return None

    def source_dq(name):
        n = prod.get(name)
        while n is not None and n.op_type in VIEWS:
            n = prod.get(n.input[0])
        return n if n is not None and n.op_type == "DequantizeLinear" else None

    results = []
    for n in g.node:
        if n.op_type not in ("Conv", "ConvTranspose", "MatMul", "Gemm"):
            continue
        why = []
        if n.op_type == "ConvTranspose":
            why.append("MIGraphX has no quantized deconvolution")
        sides = []
        for k in (0, 1):
            dq = source_dq(n.input[k])
            if dq is None:
                why.append(f"input {k} '{n.input[k]}' does not come from DequantizeLinear")
                continue
            if dtype_of(dq.input[0]) != INT8:
                why.append(f"input {k}: DequantizeLinear of non-int8 data")
            sides.append((k, dq))
        for k, dq in sides:
            scale = const(dq.input[1])
            zp = const(dq.input[2]) if len(dq.input) > 2 and dq.input[2] else np.zeros(1)
            is_weight = dq.input[0] in inits
            if scale is None:
                why.append(f"input {k}: scale is not a constant")
                continue
            if not is_weight and scale.size != 1:
                why.append(f"input {k}: activation scale is not a scalar")
            if zp is not None and np.any(zp != 0):
                why.append(f"input {k}: zero point is not 0")
        results.append({"node": n.name, "op_type": n.op_type, "ok": not why, "why": why})
    ok = sum(r["ok"] for r in results)
    total = len(results)
    frac = ok / total if total else 1.0
    if a.json:
        print(json.dumps({"model": a.model, "pass": ok, "total": total, "fraction": frac, "layers": results}, indent=1))
    else:
        for r in results:
            if not r["ok"]:
                print(f"{r['op_type']} '{r['node']}': " + "; ".join(r["why"]))
        print(f"migraphx lint: {ok} of {total} weighted layers pass ({100 * frac:.1f}%)")
    return 1 if frac < a.min_pass else 0


if __name__ == "__main__":
    sys.exit(main())

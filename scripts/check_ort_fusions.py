#!/usr/bin/env python3
"""Checks hyquant's prediction of what ONNX Runtime CPU runs (the quantize report's `engine_kernel` per layer
and per quantized node, for --target ort-cpu) against ORT's own optimized graph (scripts/ort_fusions.py).

usage (benchmark venv, scripts/venv.sh):
    build-venv/bin/python scripts/check_ort_fusions.py MODEL.onnx REPORT.json [--json]

Per layer / node of the report, the prediction and what ORT made of it must agree:
  QLinearConv, QLinearMatMul, QGemm, MatMulIntegerToFloat, QLinearAdd, ...  -> an optimized node of that
      type whose origin is the layer (ort_fusions.py's naming rules);
  "<op> (fp32)" / "<op> (fp16)"  -> no quantized node for it (a float Conv/FusedConv/nchwc Conv, ...);
  "... + weight DequantizeLinear" -> a float node fed by a DequantizeLinear (not fused);
  "removed (... folded into the Q)" -> no node of that origin left;
  "<op> (int8)" (pass-through)     -> not fed by a DequantizeLinear (ORT runs it on int8, or its layout
      optimizer removed it).
Prints each mismatch and "ort fusion prediction: K of N nodes match"; exit 1 on a mismatch, 2 on bad input.
"""
import argparse
import json
import os
import subprocess
import sys

QUANT_TYPES = {"QLinearConv", "QLinearMatMul", "MatMulIntegerToFloat", "QGemm", "QLinearAdd", "QLinearMul",
               "QLinearConcat", "QLinearGlobalAveragePool", "QLinearSigmoid", "QLinearLeakyRelu",
               "QLinearAveragePool", "QLinearSoftmax", "QLinearConvTranspose"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("report")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    try:
        rep = json.load(open(a.report))
    except (OSError, ValueError) as e:
        print(f"error: {a.report}: {e}", file=sys.stderr)
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    r = subprocess.run([sys.executable, os.path.join(here, "ort_fusions.py"), a.model, "--json", "--all-nodes"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"error: ort_fusions.py {a.model}: {r.stderr.strip()}", file=sys.stderr)
        return 2
    opt = json.loads(r.stdout)
    by_origin = {}
    for n in opt["nodes"]:
        if n.get("origin"):
            by_origin.setdefault(n["origin"], []).append(n)
    produced = {o: n for n in opt["nodes"] for o in n["outputs"]}

    items = [(l["node"], l["op_type"], l["engine_kernel"]) for l in rep["layers"]]
    items += [(q["node"], q["op_type"], q["engine_kernel"]) for q in rep.get("quantized_nodes", [])]
    rows = []
    for node, op, pred in items:
        got = by_origin.get(node, [])
        types = sorted({n["op_type"] for n in got})
        if pred in QUANT_TYPES:
            ok = pred in types
        elif pred.startswith("removed"):
            ok = not got
        elif pred.endswith("(int8)"):  # runs on int8, or ORT's transpose optimizer folded it away
            ok = not any(any(produced.get(i, {}).get("op_type") == "DequantizeLinear" for i in n["inputs"]) for n in got)
        elif "weight DequantizeLinear" in pred:
            ok = any(any(produced.get(i, {}).get("op_type") == "DequantizeLinear" for i in n["inputs"]) for n in got)
            ok = ok and not (set(types) & QUANT_TYPES)
        else:  # a float layer
            ok = not (set(types) & QUANT_TYPES)
        rows.append({"node": node, "op_type": op, "predicted": pred, "ort": types, "ok": ok})
    good = sum(x["ok"] for x in rows)
    if a.json:
        print(json.dumps({"model": a.model, "match": good, "total": len(rows), "nodes": rows}, indent=1))
    else:
        for x in rows:
            if not x["ok"]:
                print(f"mismatch: {x['op_type']} '{x['node']}': predicted {x['predicted']}, ORT runs {x['ort'] or 'nothing'}")
        print(f"ort fusion prediction: {good} of {len(rows)} nodes match")
    return 0 if good == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""What ONNX Runtime's CPU provider makes of a model: op counts and the compute nodes after fusion.

Usage (with the benchmark venv, scripts/venv.sh):
    build-venv/bin/python scripts/ort_fusions.py MODEL.onnx [--json] [--all-nodes]
        [--level all|extended|basic] [--threads N] [--keep OPTIMIZED.onnx]

Loads MODEL in ONNX Runtime (CPUExecutionProvider, default ORT_ENABLE_ALL) with
SessionOptions.optimized_model_filepath set to a temporary file, reads the optimized graph back
with onnx, and prints op counts (keyed `op_type`, or `domain:op_type` outside ai.onnx) and the
nodes whose type is one of the compute/QLinear types below (every node with --all-nodes):
    {"op_counts": {...}, "nodes": [{"name", "op_type", "domain", "inputs", "outputs", "origin"}], ...}
"origin" is the name of the node of MODEL that the optimized node comes from, by the naming rules
below (null for nodes ORT made up: Transpose, ReorderInput/Output, ...).
Without --json a short human-readable summary is printed instead.

How ORT names the nodes it makes (measured with onnxruntime 1.31.1, CPU provider, x86-64 AVX2,
on QDQ models from onnxruntime.quantization.quantize_static and from hyquant, and on FP32 models:
bundled PP-OCR classifier, generated ResNet-50, paraphrase-MiniLM-L3-v2):
  - QDQ fusions replace DQ -> op -> Q by ONE node and drop those DQ/Q nodes. The new node KEEPS
    THE ORIGINAL OP'S NAME for QLinearMatMul (stays in ai.onnx), QLinearAdd, QLinearMul,
    QLinearGlobalAveragePool, QLinearSoftmax, QGemm (com.microsoft), and the same rule holds for
    the other QLinear* ops and MatMulIntegerToFloat (same selector/action code).
  - EXCEPT QLinearConv at ORT_ENABLE_ALL: the level-3 NHWC layout transformer rebuilds it as
    com.microsoft QLinearConv named "<original Conv name>_token_<N>" (N a graph-wide counter, e.g.
    "conv1" -> "conv1_token_1", "p2o.Conv.0" -> "p2o.Conv.0_token_33") and adds Transpose nodes
    named "Transpose" (plus uniquifying suffixes) at the borders with NCHW ops. At
    ORT_ENABLE_EXTENDED (--level extended) the QLinearConv (ai.onnx) keeps the Conv's name exactly.
    An int8 MaxPool moved to NHWC likewise becomes com.microsoft NhwcMaxPool "<name>_token_<N>".
  - A MatMul + Add pair that ORT (or quant_pre_process) fused into a Gemm first is named
    "<MatMul name>/MatMulAddFusion" (and its QGemm keeps that name).
  - A shared DequantizeLinear is duplicated per consumer as "<DQ name>/duplicated[_N]" before fusion.
  - Float Conv: Conv + activation/Add -> com.microsoft FusedConv keeping the Conv's name (level 2).
    At level 3 a float Conv (or FusedConv) becomes com.microsoft.nchwc Conv named after its OUTPUT
    TENSOR plus "_nchwc" (e.g. "batch_norm_0.tmp_3_nchwc", "layer1.0.downsample.1.out_nchwc":
    the output of the fused Conv+BN[+activation] group), with ReorderInput/ReorderOutput nodes
    around; float MaxPool/GlobalAveragePool likewise become nchwc ops "<output tensor>_nchwc".
  - A DQ -> Conv with no Q after it is not fused: a DequantizeLinear node feeds a float Conv.
So to match a hyquant prediction: look for the original Conv/MatMul/Gemm name, or that name plus
"_token_<N>" (QLinearConv, level 3); a float Conv is found through its output tensor + "_nchwc".
"""
import argparse
import collections
import json
import os
import re
import sys
import tempfile

import onnx
import onnxruntime as ort

COMPUTE_TYPES = {
    "QLinearConv", "QLinearMatMul", "MatMulIntegerToFloat", "QGemm", "QLinearAdd", "QLinearMul",
    "QLinearConcat", "QLinearGlobalAveragePool", "QLinearSigmoid", "QLinearLeakyRelu",
    "QLinearAveragePool", "QLinearSoftmax", "QLinearReduceMean", "QLinearWhere", "QLinearConvTranspose",
    "DynamicQuantizeMatMul", "MatMulInteger", "ConvInteger", "Conv", "FusedConv", "ConvTranspose",
    "MatMul", "FusedMatMul", "Gemm", "FusedGemm", "NhwcFusedConv", "Attention", "MultiHeadAttention",
    "QAttention",
}
LEVELS = dict(all=ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
              extended=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
              basic=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC)


def optimized_graph(model_path, level="all", threads=1, keep=None):
    fd, tmp = tempfile.mkstemp(suffix=".ort_opt.onnx")
    os.close(fd)
    try:
        so = ort.SessionOptions()
        so.graph_optimization_level = LEVELS[level]
        so.optimized_model_filepath = tmp
        so.intra_op_num_threads = threads
        so.log_severity_level = 3
        ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
        model = onnx.load(tmp, load_external_data=False)
        if keep:
            onnx.save(model, keep)
        return model
    finally:
        for p in (tmp, tmp + ".data"):
            if os.path.exists(p):
                os.remove(p)


def origin_of(name, orig_names, orig_producer):
    """The node of the input model an optimized node comes from, by the naming rules above
    (None when it is a node ORT made up, e.g. Transpose/Reorder*)."""
    if name in orig_names:
        return name
    m = re.match(r"^(.*?)(_token_\d+|/MatMulAddFusion|/duplicated(_\d+)?)$", name)
    if m and m.group(1) in orig_names:
        return m.group(1)
    if name.endswith("_nchwc"):
        base = name[:-len("_nchwc")]
        if base in orig_producer:
            return orig_producer[base]
        if base in orig_names:
            return base
    return None


def summarize(model, all_nodes=False, original=None):
    orig_names, orig_producer = set(), {}
    if original is not None:
        orig_names = {n.name for n in original.graph.node}
        orig_producer = {o: n.name for n in original.graph.node for o in n.output}

    def key(n):
        return n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}:{n.op_type}"
    counts = collections.Counter(key(n) for n in model.graph.node)
    nodes = [dict(name=n.name, op_type=n.op_type, domain=n.domain or "ai.onnx", inputs=list(n.input),
                  outputs=list(n.output), origin=origin_of(n.name, orig_names, orig_producer))
             for n in model.graph.node if all_nodes or n.op_type in COMPUTE_TYPES]
    return dict(op_counts=dict(sorted(counts.items())), nodes=nodes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--all-nodes", action="store_true", help="list every node, not only compute/QLinear ones")
    ap.add_argument("--level", choices=list(LEVELS), default="all")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--keep", help="also save the optimized model here")
    args = ap.parse_args()
    res = summarize(optimized_graph(args.model, args.level, args.threads, args.keep), args.all_nodes,
                    onnx.load(args.model, load_external_data=False))
    res = dict(model=args.model, onnxruntime=ort.__version__, level=args.level, **res)
    if args.json:
        print(json.dumps(res, indent=1))
        return
    print(f"{args.model}: ONNX Runtime {ort.__version__}, level {args.level}")
    for op, n in res["op_counts"].items():
        print(f"  {n:5d}  {op}")
    by_type = collections.Counter(n["op_type"] for n in res["nodes"])
    print("compute nodes:", ", ".join(f"{t} {c}" for t, c in sorted(by_type.items())))


if __name__ == "__main__":
    sys.exit(main())

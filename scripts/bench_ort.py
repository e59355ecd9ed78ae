#!/usr/bin/env python3
"""ONNX Runtime side of scripts/bench_quantized.sh: the peer quantizer and the measurements.

Usage (with the benchmark venv, scripts/venv.sh):
  bench_ort.py quantize-peer MODEL CALIB_DIR OUT.onnx [--reduce-range] [--no-preprocess] [--json INFO.json]
      ONNX Runtime's own static quantizer: quantize_static(QuantFormat.QDQ, activations QUInt8,
      weights QInt8, per_channel=True, CalibrationMethod.MinMax), fed by a CalibrationDataReader
      over the same .npy samples hyquant calibrates on. Before it, quant_pre_process (symbolic
      shape inference + ORT basic graph optimization + ONNX shape inference), as ORT's
      quantization docs and examples recommend ("It is highly recommended to run model
      optimization in pre-processing instead of in quantization"); when it fails it is retried
      with skip_symbolic_shape=True, then skipped. A model below opset 13 is first converted to
      opset 13 with onnx.version_converter (per-channel DequantizeLinear needs opset 13; given an
      opset-9 model quantize_static writes an invalid one). What was done goes to --json.
  bench_ort.py measure --fp32 M --model NAME=M ... --eval DIR [--labels L.txt|--labels-json META]
                       [--rounds R] [--warmup W] [--threads 2] [--json OUT.json]
      Loads every model in one process (intra_op_num_threads=2, inter_op_num_threads=1,
      ORT_SEQUENTIAL, ORT_ENABLE_ALL), runs every eval sample once through each (warm-up and the
      outputs for accuracy), then times R rounds interleaved: per sample, each model in turn
      (the order rotated per sample). Reports per model the median ms, INT8/FP32 ratio, and per
      output SQNR (dB, 10*log10(sum ref^2 / sum (ref-x)^2) over all eval samples) and cosine
      versus the FP32 model's outputs in ORT, the worst output, and top-1 accuracy with labels.

  bench_ort.py report --bench DIR [--json OUT.json] [--hq-flags F] [--hq BIN] NAME ...
      Collects DIR/models/NAME/meta.json and DIR/quant/NAME/{measure,peer_info,run,inspect}.json
      into one JSON and prints the Markdown table of scripts/bench_quantized.sh.

Data folders are hyquant's layout: single input `S.npy`, several inputs `S/<input_name>.npy`.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort


def log(msg):
    print(f"[bench_ort] {msg}", file=sys.stderr, flush=True)


def load_samples(folder, input_names):
    """Sorted samples of a hyquant data folder as feeds {input_name: array}."""
    out = []
    for entry in sorted(os.listdir(folder)):
        p = os.path.join(folder, entry)
        if os.path.isdir(p):
            out.append({n: np.load(os.path.join(p, n + ".npy")) for n in input_names})
        elif entry.endswith(".npy"):
            if len(input_names) != 1:
                raise SystemExit(f"error: {p}: a single .npy for a model with inputs {input_names}")
            out.append({input_names[0]: np.load(p)})
    if not out:
        raise SystemExit(f"error: {folder}: no samples")
    return out


def graph_inputs(path):
    m = onnx.load(path, load_external_data=False)
    init = {i.name for i in m.graph.initializer}
    return [i.name for i in m.graph.input if i.name not in init]


# ---------------------------------------------------------------------------------------------

def quantize_peer(args):
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    import tempfile
    args.model, args.calib, args.out = (os.path.abspath(p) for p in (args.model, args.calib, args.out))
    # quant_pre_process / quantize_static write scratch files (sym_shape_infer_temp.onnx, <uuid>.data)
    # into the current directory: work in a temporary one
    scratch = tempfile.mkdtemp(prefix="bench_ort_")
    os.chdir(scratch)
    names = graph_inputs(args.model)
    samples = load_samples(args.calib, names)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(samples)

        def get_next(self):
            return next(self.it, None)

        def rewind(self):
            self.it = iter(samples)

    info = dict(quantizer=f"onnxruntime.quantization.quantize_static (onnxruntime {ort.__version__})",
                quant_format="QDQ", activation_type="QUInt8", weight_type="QInt8", per_channel=True,
                reduce_range=bool(args.reduce_range), calibrate_method="MinMax", calib_samples=len(samples))
    src = args.model
    pre = args.out + ".pre.onnx"
    # Per-channel QDQ needs DequantizeLinear's axis (opset 13); quantize_static does not upgrade
    # an older model itself (it writes an invalid one), so do what a user must: convert first.
    m = onnx.load(args.model)
    opset = next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), 0)
    up = args.out + ".op13.onnx"
    if opset < 13:
        from onnx import version_converter
        onnx.save(version_converter.convert_version(m, 13), up)
        src = up
        info["opset_upgraded"] = f"{opset} -> 13 (onnx.version_converter)"
    info["preprocess"] = "skipped (--no-preprocess)"
    if not args.no_preprocess:
        for skip_sym in (False, True):
            try:
                quant_pre_process(src, pre, skip_symbolic_shape=skip_sym)
                src = pre
                info["preprocess"] = "quant_pre_process" + (" (skip_symbolic_shape=True)" if skip_sym else "")
                break
            except Exception as e:  # noqa: BLE001 -- any failure: record it and go on
                info.setdefault("preprocess_errors", []).append(f"skip_symbolic_shape={skip_sym}: "
                                                                 f"{type(e).__name__}: {str(e)[:300]}")
                info["preprocess"] = "failed, quantized the model as is"
    t0 = time.perf_counter()
    quantize_static(src, args.out, Reader(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8, per_channel=True, reduce_range=bool(args.reduce_range),
                    calibrate_method=CalibrationMethod.MinMax)
    info["quantize_s"] = round(time.perf_counter() - t0, 3)
    for tmp in (pre, up):
        if os.path.exists(tmp):
            os.remove(tmp)
    os.chdir("/")
    import shutil
    shutil.rmtree(scratch, ignore_errors=True)
    log(f"peer: {args.out} ({info['preprocess']}, {info['quantize_s']} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(info, indent=1) + "\n")


# ---------------------------------------------------------------------------------------------

def make_session(path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def sqnr_db(ref, x):
    num = float(np.sum(ref * ref))
    den = float(np.sum((ref - x) ** 2))
    if den == 0.0:
        return math.inf
    if num == 0.0:
        return -math.inf
    return 10.0 * math.log10(num / den)


def cosine(ref, x):
    na, nb = float(np.linalg.norm(ref)), float(np.linalg.norm(x))
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(ref, x) / (na * nb))


def jnum(v):
    """JSON-safe float (inf/nan as strings)."""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def interleaved_times(sessions, order, samples, rounds):
    """Per model, the ms of every run: R rounds, per sample every model in turn, the order rotated per sample."""
    times = {name: [] for name in order}
    k = 0
    for _ in range(rounds):
        for s in samples:
            rot = order[k % len(order):] + order[:k % len(order)]
            k += 1
            for name in rot:
                t0 = time.perf_counter()
                sessions[name].run(None, s)
                times[name].append((time.perf_counter() - t0) * 1e3)
    return times


def measure(args):
    models = [("fp32", args.fp32)]
    for spec in args.model:
        name, _, path = spec.partition("=")
        models.append((name, path))
    names = graph_inputs(args.fp32)
    samples = load_samples(args.eval, names)
    sessions = {}
    for name, path in models:
        t0 = time.perf_counter()
        sessions[name] = make_session(path, args.threads)
        log(f"loaded {name} ({time.perf_counter() - t0:.2f} s): {path}")
    out_names = [o.name for o in sessions["fp32"].get_outputs()]

    # pass 1: every sample once through every model: warm-up and the outputs for accuracy
    outputs = {name: [] for name, _ in models}
    for _ in range(max(0, args.warmup - 1)):
        for name, _ in models:
            sessions[name].run(None, samples[0])
    for s in samples:
        for name, _ in models:
            outputs[name].append(sessions[name].run(None, s))

    times = interleaved_times(sessions, [name for name, _ in models], samples, args.rounds)

    labels = None
    if args.labels:
        labels = [int(x) for x in Path(args.labels).read_text().split()][:len(samples)]
    elif args.labels_json:
        meta = json.loads(Path(args.labels_json).read_text())
        labels = meta.get("labels")

    fp32_ms = statistics.median(times["fp32"])
    result = dict(onnxruntime=ort.__version__, threads=args.threads, rounds=args.rounds, samples=len(samples),
                  models={})
    for name, path in models:
        r = dict(path=path, bytes=os.path.getsize(path), median_ms=round(statistics.median(times[name]), 4),
                 p10_ms=round(float(np.percentile(times[name], 10)), 4),
                 p90_ms=round(float(np.percentile(times[name], 90)), 4),
                 ratio=round(statistics.median(times[name]) / fp32_ms, 4))
        per_out = {}
        for j, on in enumerate(out_names):
            ref = np.concatenate([o[j].astype(np.float64).ravel() for o in outputs["fp32"]])
            x = np.concatenate([o[j].astype(np.float64).ravel() for o in outputs[name]])
            per_out[on] = dict(sqnr_db=jnum(round(sqnr_db(ref, x), 3)), cosine=round(cosine(ref, x), 6))
        r["outputs"] = per_out
        # worst output: the lowest SQNR (inf when identical, e.g. pass-through outputs)
        worst = min(out_names, key=lambda n: float(per_out[n]["sqnr_db"]))
        r["worst_output"] = worst
        r["sqnr_db"] = per_out[worst]["sqnr_db"]
        r["cosine"] = min(v["cosine"] for v in per_out.values())
        if labels is not None:
            pred = [int(np.argmax(o[0].reshape(-1))) for o in outputs[name]]
            r["top1"] = round(sum(int(p == l) for p, l in zip(pred, labels)) / len(labels), 6)
        result["models"][name] = r
    if labels is not None:
        for name in result["models"]:
            result["models"][name]["top1_drop_points"] = round(
                100.0 * (result["models"]["fp32"]["top1"] - result["models"][name]["top1"]), 3)
    text = json.dumps(result, indent=1)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(text)


def _fmt(v, nd=2, suffix=""):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return f"{v:.{nd}f}{suffix}"


def _human(n):
    if n is None:
        return "-"
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return str(n)


def report(args):
    import platform
    bench = Path(args.bench)
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    cpu = dict(machine=platform.machine(), avx2=" avx2" in flags, avx512_vnni="avx512_vnni" in flags,
               avx_vnni=" avx_vnni" in flags, cores=os.cpu_count())
    allres = dict(onnxruntime=ort.__version__, cpu=cpu, hq_quant_flags=args.hq_flags, hyquant=args.hq, models={})
    rows = []
    for name in args.names:
        def rd(p):
            try:
                return json.loads(p.read_text())
            except (OSError, ValueError):
                return {}
        meta = rd(bench / "models" / name / "meta.json")
        meas = rd(bench / "quant" / name / "measure.json")
        peer = rd(bench / "quant" / name / "peer_info.json")
        run = rd(bench / "quant" / name / "run.json")
        insp = rd(bench / "quant" / name / "inspect.json")
        hq_err = None
        if not run.get("hq_ok", True):
            lines = (bench / "quant" / name / "hq.log").read_text(errors="replace").strip().splitlines()
            hq_err = next((l for l in lines if "error" in l.lower()), lines[-1] if lines else "failed")
        entry = dict(meta={k: v for k, v in meta.items() if k not in ("labels",)}, macs=insp.get("macs_total"),
                     measure=meas, peer_quantizer=peer, run=run, hq_error=hq_err)
        allres["models"][name] = entry
        ms = meas.get("models", {})
        skip = set(meta.get("discrete_outputs", []))
        for r in ms.values():  # worst output among the continuous ones (meta: discrete_outputs)
            cont = {k: v for k, v in r.get("outputs", {}).items() if k not in skip}
            if skip and cont:
                r["worst_output"] = min(cont, key=lambda k: float(cont[k]["sqnr_db"]))
                r["sqnr_db"] = cont[r["worst_output"]]["sqnr_db"]
                r["cosine"] = min(v["cosine"] for v in cont.values())
        f, h, p = ms.get("fp32", {}), ms.get("hq", {}), ms.get("peer", {})
        mb = lambda r: _fmt(r["bytes"] / 1e6, 2) if r else "-"
        acc = "-"
        if "top1" in f:
            acc = " / ".join(_fmt(100 * r["top1"], 1) if r else "-" for r in (f, h, p))
        rows.append([name, _human(meta.get("params")), _human(insp.get("macs_total")), _fmt(f.get("median_ms"), 2),
                     _fmt(h.get("ratio"), 2) if h else ("fail" if hq_err else "-"), _fmt(p.get("ratio"), 2),
                     _fmt(h.get("sqnr_db"), 1), _fmt(p.get("sqnr_db"), 1), _fmt(h.get("cosine"), 4),
                     _fmt(p.get("cosine"), 4), acc, f"{mb(f)} / {mb(h)} / {mb(p)}"])
    head = ["model", "params", "MACs", "FP32 ms", "hq/FP32", "peer/FP32", "hq SQNR dB", "peer SQNR dB",
            "hq cos", "peer cos", "top-1 % fp32/hq/peer", "MB fp32/hq/peer"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    threads = next((e["measure"].get("threads") for e in allres["models"].values() if e["measure"]), None)
    allres["threads"] = threads
    notes = [f"ONNX Runtime {ort.__version__} CPU, {threads} intra-op threads; "
             f"CPU avx2={cpu['avx2']} avx512_vnni={cpu['avx512_vnni']} avx_vnni={cpu['avx_vnni']}; "
             f"hyquant flags: `{args.hq_flags}`; ratios = median INT8 ms / median FP32 ms (interleaved); "
             "SQNR/cos: worst output vs FP32 in ORT."]
    for name, e in allres["models"].items():
        if e["meta"].get("discrete_outputs"):
            notes.append(f"{name}: outputs {', '.join(e['meta']['discrete_outputs'])} are discrete "
                         "(NMS-masked): left out of the worst-output SQNR/cos")
        if e["hq_error"]:
            notes.append(f"{name}: hyquant failed: {e['hq_error']}")
        worst = e["measure"].get("models", {})
        for who in ("hq", "peer"):
            if who in worst and len(worst["fp32"]["outputs"]) > 1:
                notes.append(f"{name}: {who} worst output {worst[who]['worst_output']}")
    text = "\n".join(lines + [""] + ["- " + n for n in notes])
    allres["table_markdown"] = text
    if args.json:
        Path(args.json).write_text(json.dumps(allres, indent=1) + "\n")
    print(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("quantize-peer")
    q.add_argument("model")
    q.add_argument("calib")
    q.add_argument("out")
    q.add_argument("--reduce-range", action="store_true")
    q.add_argument("--no-preprocess", action="store_true")
    q.add_argument("--json")
    m = sub.add_parser("measure")
    m.add_argument("--fp32", required=True)
    m.add_argument("--model", action="append", default=[], help="NAME=PATH, repeatable")
    m.add_argument("--eval", required=True)
    m.add_argument("--labels")
    m.add_argument("--labels-json", help="a bench_models.py meta.json with 'labels'")
    m.add_argument("--rounds", type=int, default=5)
    m.add_argument("--warmup", type=int, default=3)
    m.add_argument("--threads", type=int, default=2)
    m.add_argument("--json")
    r = sub.add_parser("report")
    r.add_argument("--bench", required=True)
    r.add_argument("--json")
    r.add_argument("--hq-flags", default="")
    r.add_argument("--hq", default="")
    r.add_argument("names", nargs="+")
    args = ap.parse_args()
    np.random.seed(0)
    if args.cmd == "quantize-peer":
        quantize_peer(args)
    elif args.cmd == "report":
        report(args)
    else:
        measure(args)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""ONNX Runtime side of scripts/bench_prune.sh: accuracy and interleaved timing of pruned models.

Usage (with the benchmark venv, scripts/venv.sh):
  bench_prune_ort.py --dense M --model LABEL=M ... --eval DIR [--labels L.txt] [--mask-threshold T]
                     [--rounds R] [--threads 2] [--json OUT.json] [--sizes LABEL=BYTES,GZIP ...]

Loads the dense model and every pruned model in one process (the session options of scripts/bench_ort.py:
intra_op_num_threads=2, ORT_SEQUENTIAL, ORT_ENABLE_ALL), runs every eval sample once through each (warm-up and
the outputs for accuracy), then times R rounds interleaved: per sample, each model in turn, the order rotated per
sample. Per model: median ms and the ratio to the dense model's median; output cosine and SQNR (dB) versus the dense
model's outputs in ORT; top-1 agreement with the dense model; with --labels top-1 accuracy of output 0; with --mask-threshold the IoU of the binary masks
(output 0 > T, DB text detectors: 0.3) against the dense model's masks, summed over all eval samples.
Prints a Markdown table (label, accuracy or IoU, cosine, SQNR, ms, ratio) and writes --json.
"""
import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_ort import cosine, graph_inputs, interleaved_times, jnum, load_samples, make_session, sqnr_db  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dense", required=True)
    ap.add_argument("--model", action="append", default=[], help="LABEL=PATH")
    ap.add_argument("--eval", required=True)
    ap.add_argument("--labels")
    ap.add_argument("--mask-threshold", type=float)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    args = ap.parse_args()

    models = [("dense", args.dense)] + [tuple(s.split("=", 1)) for s in args.model]
    samples = load_samples(args.eval, graph_inputs(args.dense))
    sessions = {}
    for name, path in models:
        sessions[name] = make_session(path, args.threads)
    outputs = {name: [] for name, _ in models}
    for s in samples:
        for name, _ in models:
            outputs[name].append(sessions[name].run(None, s)[0])
    times = interleaved_times(sessions, [name for name, _ in models], samples, args.rounds)
    labels = None
    if args.labels:
        labels = np.array([int(x) for x in Path(args.labels).read_text().split()][:len(samples)])
    dense_ms = statistics.median(times["dense"])
    ref = np.concatenate([o.astype(np.float64).ravel() for o in outputs["dense"]])
    res = dict(samples=len(samples), rounds=args.rounds, threads=args.threads, models={})
    for name, path in models:
        x = np.concatenate([o.astype(np.float64).ravel() for o in outputs[name]])
        r = dict(path=path, bytes=os.path.getsize(path), median_ms=round(statistics.median(times[name]), 3),
                 ratio=round(statistics.median(times[name]) / dense_ms, 3), cosine=round(cosine(ref, x), 5),
                 sqnr_db=jnum(round(sqnr_db(ref, x), 2)))
        top = np.array([int(np.argmax(o.reshape(-1))) for o in outputs[name]])
        dtop = np.array([int(np.argmax(o.reshape(-1))) for o in outputs["dense"]])
        r["top1_agreement"] = round(float((top == dtop).mean()), 5)
        if labels is not None:
            r["accuracy"] = round(float((top == labels).mean()), 5)
        if args.mask_threshold is not None:
            a, b = ref > args.mask_threshold, x > args.mask_threshold
            union = int(np.sum(a | b))
            r["mask_iou"] = round(float(np.sum(a & b)) / union, 4) if union else 1.0
        res["models"][name] = r
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
    metric = "accuracy" if labels is not None else "mask IoU" if args.mask_threshold is not None else None
    print(f"| model | {metric + ' | ' if metric else ''}cosine | SQNR dB | ORT ms | ORT time / dense |")
    print("|---|" + ("---|" if metric else "") + "---|---|---|---|")
    for name, r in res["models"].items():
        m = ""
        if labels is not None:
            m = f"{100 * r['accuracy']:.2f}% | "
        elif args.mask_threshold is not None:
            m = f"{r['mask_iou']:.4f} | "
        print(f"| {name} | {m}{r['cosine']:.4f} | {r['sqnr_db']} | {r['median_ms']:.2f} | {r['ratio']:.3f} |")


if __name__ == "__main__":
    main()

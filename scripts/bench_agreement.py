#!/usr/bin/env python3
"""How closely hyquant's executor (the measure behind evaluate, the guard and --max-drop) agrees with ONNX Runtime
on the same QDQ models: for each bench model's written INT8 model (build-bench/quant/NAME/hq.onnx from
scripts/bench_quantized.sh), runs `hyquant infer` and ONNX Runtime on the eval samples and prints, per model, the
largest absolute output difference relative to the output's range, and the top-1 agreement of classifier-shaped
outputs (last dim >= 2).

usage: build-venv/bin/python scripts/bench_agreement.py HYQUANT [BENCH_DIR]   (default BENCH_DIR <repo>/build-bench)
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort


def main():
    hq = sys.argv[1]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bench = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "build-bench")
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 2
    print("| model | max abs diff | max abs diff / output range | SQNR hyquant vs ORT (dB, worst output) | top-1 agreement |\n"
          "|---|---|---|---|---|")
    for name in sorted(os.listdir(os.path.join(bench, "quant"))):
        q = os.path.join(bench, "quant", name, "hq.onnx")
        meta = os.path.join(bench, "models", name, "meta.json")
        if not os.path.exists(q) or not os.path.exists(meta):
            continue
        ev = json.load(open(meta))["eval"]
        with tempfile.TemporaryDirectory() as t:
            out = os.path.join(t, "o")
            subprocess.run([hq, "infer", q, "--data", ev, "-o", out, "-q"], check=True, capture_output=True)
            s = ort.InferenceSession(q, so, providers=["CPUExecutionProvider"])
            names = [o.name for o in s.get_outputs()]
            worst_abs, worst_rel, agree, rows = 0.0, 0.0, 0, 0
            sig, noise = {}, {}
            for smp in sorted(os.listdir(out)):
                src = os.path.join(ev, smp + ".npy")
                feeds = {s.get_inputs()[0].name: np.load(src)} if os.path.exists(src) else {
                    i.name: np.load(os.path.join(ev, smp, i.name + ".npy")) for i in s.get_inputs()}
                got = s.run(None, feeds)
                for n, o in zip(names, got):
                    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in n)
                    h = np.load(os.path.join(out, smp, safe + ".npy")).astype(np.float64)
                    o = o.astype(np.float64)
                    if not np.issubdtype(o.dtype, np.floating) or o.size == 0:
                        continue
                    d = float(np.abs(h - o).max())
                    rng = float(o.max() - o.min()) or 1.0
                    worst_abs, worst_rel = max(worst_abs, d), max(worst_rel, d / rng)
                    sig[n] = sig.get(n, 0.0) + float((o * o).sum())
                    noise[n] = noise.get(n, 0.0) + float(((h - o) ** 2).sum())
                    if o.ndim >= 2 and o.shape[-1] >= 2 and o.size // o.shape[-1] <= 4:
                        agree += int((h.reshape(-1, o.shape[-1]).argmax(1) == o.reshape(-1, o.shape[-1]).argmax(1)).sum())
                        rows += o.size // o.shape[-1]
        top1 = f"{100 * agree / rows:.1f}% ({rows} rows)" if rows else "-"
        sq = min(10 * np.log10(max(sig[n], 1e-300) / max(noise[n], 1e-300)) for n in sig) if sig else float("nan")
        print(f"| {name} | {worst_abs:.3g} | {worst_rel:.3g} | {min(sq, 200):.1f} | {top1} |")


if __name__ == "__main__":
    main()

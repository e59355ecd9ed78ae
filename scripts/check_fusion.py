#!/usr/bin/env python3
"""Fused (oneDNN + fusion) vs reference (OpenBLAS, HQ_CPU_REFERENCE=1) agreement of hyquant's executor, and
calibration tables with fusion on vs HQ_EXEC_NO_FUSION=1 (must be byte-identical).

Usage:
    python3 scripts/check_fusion.py HYQUANT [--models-dir build-bench/models] [--r50 build-bench/bench]
                                    [--tol 1e-5] [--samples 4] [--no-calib]

Models: the bundled classifier (models/ppocr_mobile_v2_cls.onnx on its reference inputs), the generated
ResNet-50 when --r50 holds resnet50.onnx and resnet50_inputs_8/, and every NAME/model.onnx under --models-dir
(scripts/bench_models.py prepare) on its first --samples eval samples. For each output: max |fused - ref| /
max |ref| (relative to the output's largest magnitude), also for HQ_EXEC_NO_FUSION=1 (oneDNN, unfused); for information
also the relative RMS error ||fused - ref|| / ||ref|| (the worst output's).
Prints one line per model; exit 1 when a figure exceeds --tol or a table differs.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def infer(hq, model, data, out, env_extra):
    env = dict(os.environ, **env_extra)
    subprocess.run([hq, "infer", str(model), "--data", str(data), "-o", str(out), "-q"], check=True, env=env)


def calibrate(hq, model, data, out, env_extra):
    env = dict(os.environ, **env_extra)
    subprocess.run([hq, "calibrate", str(model), "--data", str(data), "-o", str(out), "-q"], check=True, env=env)


def diffs(a_dir, b_dir):
    """Worst output's max |a - b| / max |b| (the gate) and its ||a - b|| / ||b|| (relative RMS, informational)."""
    worst = rms = 0.0
    for f in sorted(Path(b_dir).rglob("*.npy")):
        b = np.load(f).astype(np.float64)
        a = np.load(Path(a_dir) / f.relative_to(b_dir)).astype(np.float64)
        if b.dtype.kind not in "fc" or b.size == 0:
            continue
        fin = np.isfinite(b)
        if not fin.any():
            continue
        e = a[fin] - b[fin]
        m, d = np.abs(b[fin]).max(), np.abs(e).max()
        nb, ne = np.linalg.norm(b[fin]), np.linalg.norm(e)
        worst = max(worst, d / m if m > 0 else d)
        rms = max(rms, ne / nb if nb > 0 else ne)
    return worst, rms


def subset(data, n, tmp):
    """The first n samples of a data folder (files or sub-folders), as symlinks."""
    items = sorted(p for p in Path(data).iterdir() if p.suffix == ".npy" or p.is_dir())[:n]
    d = Path(tmp) / "data"
    d.mkdir()
    for p in items:
        (d / p.name).symlink_to(p.resolve())
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("hyquant")
    ap.add_argument("--models-dir", default=str(ROOT / "build-bench" / "models"))
    ap.add_argument("--r50", default=str(ROOT / "build-bench" / "bench"))
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--no-calib", action="store_true")
    a = ap.parse_args()
    hq = str(Path(a.hyquant).resolve())
    models = [("ppocr_cls", ROOT / "models" / "ppocr_mobile_v2_cls.onnx", ROOT / "models" / "ppocr_cls_reference" / "inputs")]
    r50 = Path(a.r50)
    if (r50 / "resnet50.onnx").exists() and (r50 / "resnet50_inputs_8").is_dir():
        models.append(("resnet50", r50 / "resnet50.onnx", r50 / "resnet50_inputs_8"))
    md = Path(a.models_dir)
    if md.is_dir():
        for d in sorted(md.iterdir()):
            if (d / "model.onnx").exists():
                data = d / "eval" if (d / "eval").is_dir() else d / "calib"
                models.append((d.name, d / "model.onnx", data))
    bad = 0
    print(f"{'model':16} {'fused vs ref':>13} {'unfused vs ref':>15} {'rms rel':>9} {'table fused == unfused':>24}")
    for name, model, data in models:
        with tempfile.TemporaryDirectory() as t:
            ds = subset(data, a.samples, t)
            outs = {}
            for mode, env in [("fused", {}), ("unfused", {"HQ_EXEC_NO_FUSION": "1"}), ("ref", {"HQ_CPU_REFERENCE": "1"})]:
                outs[mode] = Path(t) / mode
                infer(hq, model, ds, outs[mode], env)
            (df, rr), (du, _) = diffs(outs["fused"], outs["ref"]), diffs(outs["unfused"], outs["ref"])
            same = "skipped"
            if not a.no_calib:
                calibrate(hq, model, ds, Path(t) / "t_fused.json", {})
                calibrate(hq, model, ds, Path(t) / "t_unfused.json", {"HQ_EXEC_NO_FUSION": "1"})
                eq = (Path(t) / "t_fused.json").read_bytes() == (Path(t) / "t_unfused.json").read_bytes()
                same = "identical" if eq else "DIFFERENT"
                bad += not eq
            ok = df <= a.tol and du <= a.tol
            bad += not ok
            print(f"{name:16} {df:13.2e} {du:15.2e} {rr:9.1e} {same:>24}{'' if ok else '   > tol ' + str(a.tol)}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Compare two output folders written by `hyquant infer` / `node scripts/ort/run.js` (or a folder of
reference outputs in the flat layout REF/<sample>.npy for single-output models).

  /usr/bin/python3 scripts/compare_outputs.py A_DIR B_DIR [--json] [--atol X]

A_DIR/<sample>/<output>.npy is compared with B_DIR/<sample>/<output>.npy (or B_DIR/<sample>.npy when
B has the flat layout). Prints one line (or JSON with --json): files compared, max abs difference,
max abs difference relative to max |B|, mean abs difference, and for rank-2 outputs the top-1
agreement (argmax over the last axis). Exit 0 when everything matched in shape and dtype (and is
within --atol when given), 1 otherwise. Needs numpy: run with /usr/bin/python3 (Debian).
"""
import argparse
import json
import os
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--atol", type=float, default=None)
    o = ap.parse_args()
    problems, files = [], 0
    max_abs = mean_sum = 0.0
    n_el = 0
    max_ref = 0.0
    top1_same = top1_total = 0
    for sample in sorted(os.listdir(o.a)):
        sa = os.path.join(o.a, sample)
        if not os.path.isdir(sa):
            continue
        outs = sorted(f for f in os.listdir(sa) if f.endswith(".npy"))
        for f in outs:
            pb = os.path.join(o.b, sample, f)
            if not os.path.exists(pb) and len(outs) == 1 and os.path.exists(os.path.join(o.b, sample + ".npy")):
                pb = os.path.join(o.b, sample + ".npy")
            if not os.path.exists(pb):
                problems.append(f"{sample}/{f}: missing in {o.b}")
                continue
            x, y = np.load(os.path.join(sa, f)), np.load(pb)
            files += 1
            if x.shape != y.shape or x.dtype != y.dtype:
                problems.append(f"{sample}/{f}: {x.dtype}{list(x.shape)} vs {y.dtype}{list(y.shape)}")
                continue
            if x.size == 0:
                continue
            xd, yd = x.astype(np.float64), y.astype(np.float64)
            if not np.array_equal(np.isfinite(xd), np.isfinite(yd)):
                problems.append(f"{sample}/{f}: non-finite values differ")
            fin = np.isfinite(xd) & np.isfinite(yd)
            d = np.abs(xd - yd)[fin]
            if d.size:
                max_abs = max(max_abs, float(d.max()))
                mean_sum += float(d.sum())
                n_el += d.size
                max_ref = max(max_ref, float(np.abs(yd[fin]).max()))
            if x.ndim == 2 and x.shape[-1] > 1 and np.issubdtype(x.dtype, np.floating):
                top1_same += int((x.argmax(-1) == y.argmax(-1)).sum())
                top1_total += x.shape[0]
    if files == 0:
        problems.append(f"no outputs found under {o.a}")
    r = {
        "files": files,
        "max_abs": max_abs,
        "max_rel": (max_abs / max_ref) if max_ref > 0 else 0.0,
        "mean_abs": (mean_sum / n_el) if n_el else 0.0,
        "top1_agree": f"{top1_same}/{top1_total}" if top1_total else None,
        "problems": problems,
    }
    ok = not problems and (o.atol is None or max_abs <= o.atol)
    if o.json:
        print(json.dumps(r))
    else:
        print(f"files {files}  max_abs {max_abs:.3g}  max_rel {r['max_rel']:.3g}  mean_abs {r['mean_abs']:.3g}"
              + (f"  top1_agree {r['top1_agree']}" if r["top1_agree"] else "")
              + (f"  PROBLEMS: {'; '.join(problems[:5])}" if problems else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

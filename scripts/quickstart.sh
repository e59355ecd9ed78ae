#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds hyquant, and runs the main job on the bundled real model: quantize the
# PaddleOCR text-direction classifier to INT8 for the default target (dcu) and for ONNX Runtime CPU (ort-cpu) on its
# calibration images, evaluate each against the FP32 model on the labelled eval images (HTML, Markdown and JSON
# reports), time FP32 vs INT8 in ONNX Runtime when it can be installed, and end with a short summary (also written
# as OUT/summary.json).
#
#   scripts/quickstart.sh [--no-setup] [--hyquant PATH] [--out DIR] [--verbose]
#     --no-setup     skip installing packages and building (use with --hyquant)
#     --hyquant      the hyquant binary to run (default: build/hyquant, built here)
#     --out          where models, plans and reports go (default: out, or $OUT)
#     --verbose      also print the per-layer tables of the reports
set -euo pipefail
cd "$(dirname "$0")/.."
setup=1 hq=build/hyquant out=${OUT:-out} verbose=0
while [ $# -gt 0 ]; do
    case "$1" in
        --no-setup) setup=0 ;;
        --hyquant) hq=$2; shift ;;
        --out) out=$2; shift ;;
        --verbose) verbose=1 ;;
        *) echo "quickstart: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
if [ $setup = 1 ]; then
    bash scripts/setup.sh
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build -j "$(nproc)" --target hyquant
fi
model=models/ppocr_mobile_v2_cls.onnx
data=models/textlines
pre=(--size 48x192 --keep-aspect --pad-value 0 --mean 127.5 --std 127.5)
mkdir -p "$out"
log="$out/quickstart.log"
: >"$log"
echo "quickstart: quantizing $model for dcu and ort-cpu (log: $log)"
"$hq" infer "$model" --data "$data/eval" "${pre[@]}" -o "$out/eval_outputs" --save-inputs "$out/eval_inputs" \
    --overwrite -q >>"$log" 2>&1
for target in dcu ort-cpu; do
    "$hq" quantize "$model" -o "$out/ppocr_$target.onnx" --data "$data/calib" "${pre[@]}" --target $target \
        --eval-data "$data/eval" --labels "$data/eval_labels.txt" \
        --report "$out/ppocr_$target.json" --report "$out/ppocr_$target.md" -q >>"$log" 2>&1
    rc=0
    "$hq" evaluate "$model" "$out/ppocr_$target.onnx" --data "$data/eval" "${pre[@]}" --labels "$data/eval_labels.txt" \
        --report "$out/ppocr_${target}_eval.html" --report "$out/ppocr_${target}_eval.json" \
        --report "$out/ppocr_${target}_eval.md" -q >>"$log" 2>&1 || rc=$?
    [ $rc = 0 ] || [ $rc = 3 ] || { echo "quickstart: evaluate failed (see $log)" >&2; exit 1; }
done
# ONNX Runtime timing (pinned PyPI venv); skipped with a reason when it cannot be set up.
timing="$out/ort_timing.json"
rm -f "$timing"
if py=$(bash scripts/venv.sh 2>>"$log"); then
    "$py" - "$model" "$out/ppocr_dcu.onnx" "$out/ppocr_ort-cpu.onnx" "$out/eval_inputs" "$timing" >>"$log" 2>&1 <<'PY' || true
import json, os, sys, time
import numpy as np
import onnxruntime as ort
models, d, dst = sys.argv[1:4], sys.argv[4], sys.argv[5]
so = ort.SessionOptions(); so.intra_op_num_threads = 2; so.inter_op_num_threads = 1; so.log_severity_level = 3
ss = [ort.InferenceSession(m, so, providers=["CPUExecutionProvider"]) for m in models]
xs = [np.load(os.path.join(d, n, "x.npy")) for n in sorted(os.listdir(d))][:32]
for s in ss:
    for x in xs[:4]: s.run(None, {"x": x})
t = [[] for _ in ss]
for _ in range(5):  # interleaved rounds: the machine's noise hits all models alike
    for x in xs:
        for i, s in enumerate(ss):
            a = time.perf_counter(); s.run(None, {"x": x}); t[i].append(time.perf_counter() - a)
med = [float(np.median(v) * 1000) for v in t]
json.dump({"onnxruntime": ort.__version__, "fp32_ms": med[0], "dcu_ms": med[1], "ort-cpu_ms": med[2]}, open(dst, "w"))
PY
fi
/usr/bin/python3 - "$out" "$model" <<'PY'
import json, os, sys
out, model = sys.argv[1], sys.argv[2]
timing = json.load(open(f"{out}/ort_timing.json")) if os.path.exists(f"{out}/ort_timing.json") else None
summary = {"model": model, "targets": {}}
for t in ("dcu", "ort-cpu"):
    q = json.load(open(f"{out}/ppocr_{t}.json"))
    e = json.load(open(f"{out}/ppocr_{t}_eval.json"))
    acc = e["accuracy"]
    row = {"fp32_accuracy": acc["reference"], "int8_accuracy": acc["candidate"], "drop_points": acc["drop_points"],
           "bytes_fp32": q["size_bytes"]["input"], "bytes_int8": q["size_bytes"]["output"],
           "precision_counts": q["precision_counts"], "guard_worst_sqnr_db": (q.get("guard") or {}).get("worst_sqnr_db"),
           "html_report": f"{out}/ppocr_{t}_eval.html", "model_path": f"{out}/ppocr_{t}.onnx"}
    if timing:
        row.update({"ort_fp32_ms": timing["fp32_ms"], "ort_int8_ms": timing[f"{t}_ms"],
                    "ort_ratio": timing[f"{t}_ms"] / timing["fp32_ms"]})
    summary["targets"][t] = row
summary["ort_timing"] = "measured" if timing else "skipped: ONNX Runtime (scripts/venv.sh) not available"
json.dump(summary, open(f"{out}/summary.json", "w"), indent=1)
print(f"quickstart summary ({model}, 96 labelled eval images):")
for t, r in summary["targets"].items():
    line = (f"  {t:8s} accuracy FP32 {r['fp32_accuracy']:.2f}% -> INT8 {r['int8_accuracy']:.2f}% "
            f"(drop {r['drop_points']:.2f} points); size {r['bytes_fp32'] / 1024:.0f} KiB -> {r['bytes_int8'] / 1024:.0f} KiB")
    if timing:
        line += f"; ORT CPU {r['ort_fp32_ms']:.2f} -> {r['ort_int8_ms']:.2f} ms ({r['ort_ratio']:.2f}x)"
    print(line)
    print(f"           report: {r['html_report']}")
if not timing:
    print("  ORT timing skipped: ONNX Runtime (scripts/venv.sh) not available")
print(f"  all models, plans and reports are in {out}/ (summary.json)")
PY
if [ $verbose = 1 ]; then cat "$out/ppocr_dcu.md" "$out/ppocr_ort-cpu.md"; fi

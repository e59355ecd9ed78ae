#!/usr/bin/env bash
# The quality guard of quantize (on by default): a model plain INT8 breaks (a raw 0-255 RGBA input with a constant
# alpha channel) and a PRelu network, quantized with defaults for dcu and ort-cpu, give models whose outputs meet the
# guard in ONNX Runtime; --guard-sqnr 0 restores the unguarded (garbage) model; the report's per-output SQNR equals
# an independent computation from `hyquant infer` outputs; a guard that cannot hold is exit 3 with nothing written.
set -euo pipefail
hq="$1"; src="$2"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
py=$(bash "$src/scripts/venv.sh")
/usr/bin/python3 "$src/scripts/gen_guard_models.py" "$t" >/dev/null
ort_sqnr() {  # ref cand eval_dir -> SQNR (dB) of the candidate's output vs the reference's, both in ONNX Runtime
    "$py" - "$@" <<'PY'
import os, sys
import numpy as np
import onnxruntime as ort
ref, cand, d = sys.argv[1:4]
so = ort.SessionOptions(); so.log_severity_level = 3
s = [ort.InferenceSession(p, so, providers=["CPUExecutionProvider"]) for p in (ref, cand)]
xs = [np.load(os.path.join(d, f)) for f in sorted(os.listdir(d))]
a, b = (np.concatenate([v.run(None, {"x": x})[0] for x in xs]).astype(np.float64) for v in s)
print(f"{10 * np.log10((a * a).sum() / max(((a - b) ** 2).sum(), 1e-300)):.2f}")
PY
}
for m in const_channel prelu; do
    for target in dcu ort-cpu; do
        "$hq" quantize "$t/$m.onnx" -o "$t/${m}_$target.onnx" --data "$t/${m}_calib" --eval-data "$t/${m}_eval" \
            --target $target --report "$t/${m}_$target.json" -q
        s=$(ort_sqnr "$t/$m.onnx" "$t/${m}_$target.onnx" "$t/${m}_eval")
        echo "$m $target: ONNX Runtime output SQNR $s dB"
        awk -v s="$s" 'BEGIN { exit !(s >= 12) }' || { echo "$m/$target: $s dB in ONNX Runtime, below the 12 dB guard"; exit 1; }
        "$py" - "$t/${m}_$target.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))["guard"]
assert g and g["met"] and g["min_sqnr_db"] == 12 and g["samples"] == 8, g
PY
    done
done
# The guard repaired const_channel (it moved layers); with --guard-sqnr 0 the model is the garbage one.
"$py" -c "import json,sys; g=json.load(open(sys.argv[1]))['guard']; assert g['moved'] and g['initial_worst_sqnr_db'] < 12, g" \
    "$t/const_channel_ort-cpu.json"
"$hq" quantize "$t/const_channel.onnx" -o "$t/off.onnx" --data "$t/const_channel_calib" --eval-data "$t/const_channel_eval" \
    --target ort-cpu --guard-sqnr 0 --report "$t/off.json" -q
s=$(ort_sqnr "$t/const_channel.onnx" "$t/off.onnx" "$t/const_channel_eval")
awk -v s="$s" 'BEGIN { exit !(s < 12) }' || { echo "--guard-sqnr 0 should keep the unguarded model (got $s dB)"; exit 1; }
"$py" -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['guard'] is None; assert all(l['precision']=='int8' or 'graph output' in l['reason'] for l in r['layers']), r['layers']" "$t/off.json"
# The report's per-output SQNR equals one computed from hyquant's own outputs of both models.
"$hq" infer "$t/const_channel.onnx" --data "$t/const_channel_eval" -o "$t/ref_out" -q
"$hq" infer "$t/const_channel_ort-cpu.onnx" --data "$t/const_channel_eval" -o "$t/cand_out" -q
"$py" - "$t" <<'PY'
import json, os, sys
import numpy as np
t = sys.argv[1]
r = json.load(open(f"{t}/const_channel_ort-cpu.json"))["guard"]["outputs"][0]
load = lambda d: np.concatenate([np.load(f"{d}/{s}/y.npy").astype(np.float64).ravel() for s in sorted(os.listdir(d))])
a, b = load(f"{t}/ref_out"), load(f"{t}/cand_out")
sq = 10 * np.log10((a * a).sum() / ((a - b) ** 2).sum())
cos = (a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum())
assert abs(sq - r["sqnr_db"]) < 1e-3 and abs(cos - r["cosine"]) < 1e-6, (sq, cos, r)
print(f"report SQNR {r['sqnr_db']:.4f} dB == independent {sq:.4f} dB")
PY
# A guard that cannot hold: exit 3, one error line naming the output, nothing written.
rc=0
"$hq" quantize "$t/prelu.onnx" -o "$t/never.onnx" --data "$t/prelu_calib" --guard-sqnr 201 -q 2>"$t/err" || rc=$?
[ $rc = 3 ] || { echo "unreachable guard: exit $rc, expected 3"; cat "$t/err"; exit 1; }
grep -q "output 'y'" "$t/err" || { echo "the error does not name the output"; cat "$t/err"; exit 1; }
[ ! -e "$t/never.onnx" ] && [ ! -e "$t/never.plan.json" ] || { echo "something was written"; exit 1; }
echo "guard: const_channel repaired for dcu and ort-cpu, prelu meets it, --guard-sqnr 0 unguarded, exit 3 path"

#!/usr/bin/env bash
# quantize's final summary: one to three info lines (model, target, precision counts, size; guard or accuracy;
# what else was written), and --json prints the same on stdout with the report's precision counts and sizes;
# on exit 3 (guard broken) it still prints the JSON, with no model and no plan written.
set -euo pipefail
hq="$1"; src="$2"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
model="$src/models/ppocr_mobile_v2_cls.onnx"
pre=(--size 48x192 --keep-aspect --pad-value 0 --mean 127.5 --std 127.5)
"$hq" quantize "$model" -o "$t/q.onnx" --data "$src/models/textlines/calib" "${pre[@]}" --target ort-cpu \
    --max-drop 1 --eval-data "$src/models/textlines/eval" --labels "$src/models/textlines/eval_labels.txt" \
    --report "$t/q.json" --report "$t/q.md" --json >"$t/out.json" 2>"$t/err"
grep -q "^info: wrote $t/q.onnx for target ort-cpu (ONNX Runtime CPU): 54 layers (" "$t/err" || { cat "$t/err"; exit 1; }
grep -q "^info: evaluated on 96 samples of .*: accuracy .*% -> .*% (drop .* points)" "$t/err" || { cat "$t/err"; exit 1; }
grep -q "^info: also wrote $t/q.plan.json, $t/q.json, $t/q.md$" "$t/err" || { cat "$t/err"; exit 1; }
# No --report and no budget: the guard line instead of the accuracy line.
"$hq" quantize "$model" -o "$t/d.onnx" --data "$src/models/textlines/calib" "${pre[@]}" --json >"$t/d.json" 2>"$t/err_d"
grep -q "^info: guard: worst output 'softmax_0.tmp_0' .* dB >= 12.0 dB on 12 held-out samples" "$t/err_d" || { cat "$t/err_d"; exit 1; }
# Broken guard: exit 3, JSON still printed, nothing written but the reports.
rc=0
"$hq" quantize "$model" -o "$t/g.onnx" --data "$src/models/textlines/calib" "${pre[@]}" --target ort-cpu \
    --guard-sqnr 300 --report "$t/g.md" --json >"$t/g.json" 2>"$t/err_g" || rc=$?
[ $rc = 3 ] || { echo "broken guard: exit $rc, want 3"; cat "$t/err_g"; exit 1; }
[ ! -e "$t/g.onnx" ] && [ ! -e "$t/g.plan.json" ] && [ -s "$t/g.md" ] || { echo "broken guard wrote a model/plan or no report"; exit 1; }
/usr/bin/python3 - "$t" <<'PY'
import json, os, sys
t = sys.argv[1]
j, r = json.load(open(f"{t}/out.json")), json.load(open(f"{t}/q.json"))
assert j["command"] == "quantize" and list(j)[0] == "command", j
assert j["output"] == f"{t}/q.onnx" and j["plan_out"] == f"{t}/q.plan.json" and j["reports"] == [f"{t}/q.json", f"{t}/q.md"]
assert j["exit_code"] == 0 and j["target"] == r["target"] == "ort-cpu" and j["engine"] == r["engine"]
for k in ("precision_counts", "engine_kernel_counts", "size_bytes"):
    assert j[k] == r[k], (k, j[k], r[k])
assert j["size_bytes"]["output"] == os.path.getsize(f"{t}/q.onnx")
assert j["layers"] == sum(j["precision_counts"].values()) == len(r["layers"])
acc, ra = j["accuracy"], r["accuracy"]
assert acc["samples"] == 96 and acc["accuracy"]["drop_points"] <= 1 and acc["budget"]["ok"] is True, acc
assert acc["budget"]["max_drop"] == 1 and acc["budget"]["drop"] == ra["budget"]["drop"] if "budget" in ra else True
assert j["guard"]["met"] is True and j["guard"]["worst_sqnr_db"] == r["guard"]["worst_sqnr_db"]
d = json.load(open(f"{t}/d.json"))
assert d["target"] == "dcu" and d["accuracy"] is None and d["reports"] == [] and d["guard"]["samples"] == 12, d
g = json.load(open(f"{t}/g.json"))
assert g["exit_code"] == 3 and g["output"] is None and g["plan_out"] is None and g["guard"]["met"] is False, g
assert g["size_bytes"]["output"] is None and g["reports"] == [f"{t}/g.md"]
print("quantize summary and --json match the report")
PY

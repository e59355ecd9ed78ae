#!/usr/bin/env bash
# The README's first command, its job part (--no-setup, this build's hyquant): it ends with the short summary, whose
# fields equal what the quantize and evaluate JSON reports say, and prints no per-layer table.
set -euo pipefail
hq="$1"; src="$2"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
bash "$src/scripts/quickstart.sh" --no-setup --hyquant "$hq" --out "$t/out" >"$t/stdout" 2>"$t/stderr"
cat "$t/stdout"
grep -q "^quickstart summary" "$t/stdout" || { echo "no summary"; exit 1; }
! grep -q "| layer |" "$t/stdout" || { echo "per-layer tables on the terminal"; exit 1; }
[ "$(wc -l <"$t/stdout")" -le 12 ] || { echo "quickstart printed more than 12 lines"; exit 1; }
/usr/bin/python3 - "$t/out" "$t/stdout" <<'PY'
import json, os, sys
out, stdout = sys.argv[1], open(sys.argv[2]).read()
s = json.load(open(f"{out}/summary.json"))
assert set(s["targets"]) == {"dcu", "ort-cpu"}, s
for t, r in s["targets"].items():
    q = json.load(open(f"{out}/ppocr_{t}.json"))
    e = json.load(open(f"{out}/ppocr_{t}_eval.json"))
    assert q["target"] == t
    assert r["fp32_accuracy"] == e["accuracy"]["reference"] and r["int8_accuracy"] == e["accuracy"]["candidate"]
    assert r["drop_points"] == e["accuracy"]["drop_points"]
    assert r["bytes_fp32"] == q["size_bytes"]["input"] and r["bytes_int8"] == q["size_bytes"]["output"]
    assert r["bytes_int8"] == os.path.getsize(f"{out}/ppocr_{t}.onnx")
    assert os.path.getsize(r["html_report"]) > 1000 and r["html_report"] in stdout
    line = f"{t:8s} accuracy FP32 {r['fp32_accuracy']:.2f}% -> INT8 {r['int8_accuracy']:.2f}% (drop {r['drop_points']:.2f} points)"
    assert line in stdout, (line, stdout)
    if s["ort_timing"] == "measured":
        assert f"({r['ort_ratio']:.2f}x)" in stdout
print("quickstart summary matches the reports")
PY

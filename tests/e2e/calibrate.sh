#!/usr/bin/env bash
# calibrate on the bundled model: a valid deterministic table; two shards merged equal one run over
# all the data byte for byte; bad data and foreign tables are exit 2.
set -euo pipefail
hq="$1"; src="$2"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
model="$src/models/ppocr_mobile_v2_cls.onnx"
pre=(--size 48x192 --keep-aspect --pad-value 0 --mean 127.5 --std 127.5 -q)
mkdir -p "$t/a" "$t/b"
i=0
for f in "$src"/models/textlines/calib/*.png; do
    if [ $((i % 3)) = 0 ]; then cp "$f" "$t/a/"; else cp "$f" "$t/b/"; fi
    i=$((i + 1))
done
"$hq" calibrate "$model" --data "$src/models/textlines/calib" -o "$t/all.json" --method entropy "${pre[@]}"
"$hq" calibrate "$model" --data "$src/models/textlines/calib" -o "$t/all2.json" --method entropy "${pre[@]}"
cmp "$t/all.json" "$t/all2.json" || { echo "two runs differ"; exit 1; }
"$hq" calibrate "$model" --data "$t/b" -o "$t/b.json" --method entropy "${pre[@]}"
"$hq" calibrate "$model" --data "$t/a" -o "$t/a.json" --method entropy "${pre[@]}"
"$hq" calibrate --merge "$t/b.json" "$t/a.json" -o "$t/merged.json" --method entropy -q
/usr/bin/python3 - "$t" <<'PY'
import json, sys
t = sys.argv[1]
whole = json.load(open(f"{t}/all.json"))
merged = json.load(open(f"{t}/merged.json"))
assert whole["schema"] == 1 and whole["samples"] == 48 and merged["samples"] == 48
assert whole["tensors"] == merged["tensors"], "merged shards differ from one run over all the data"
hist = {k: v for k, v in whole["tensors"].items() if "histogram" in v}
# every Conv/MatMul activation input has a histogram (the QDQ writer's tensors); the rest min/max
assert len(hist) >= 50, len(hist)
assert len(whole["tensors"]) > len(hist)
for name, v in whole["tensors"].items():
    lo, hi = v["chosen"]
    assert lo <= 0 <= hi and v["min"] <= v["max"], name
    if name in hist:
        assert set(v["ranges"]) == {"minmax", "percentile", "entropy", "mse"}
        assert sum(v["histogram"]["counts"]) == v["count"], name
    else:
        assert set(v["ranges"]) == {"minmax"}, name
print("calibration table ok:", len(hist), "histograms,", len(whole["tensors"]), "tensors")
PY
# bad data: empty folder, and a table of another model in a merge
mkdir -p "$t/empty"
set +e
"$hq" calibrate "$model" --data "$t/empty" -o "$t/x.json" -q 2>"$t/err"; rc=$?
set -e
[ "$rc" = 2 ] && grep -q "$t/empty" "$t/err" && [ ! -e "$t/x.json" ] || { echo "empty folder: rc=$rc"; cat "$t/err"; exit 1; }
sed 's/"model_fingerprint": "[0-9a-f]*"/"model_fingerprint": "0000000000000000"/' "$t/a.json" > "$t/foreign.json"
set +e
"$hq" calibrate --merge "$t/b.json" "$t/foreign.json" -o "$t/y.json" -q 2>"$t/err"; rc=$?
set -e
[ "$rc" = 2 ] && grep -q "another model" "$t/err" && [ ! -e "$t/y.json" ] || { echo "foreign table: rc=$rc"; cat "$t/err"; exit 1; }
echo "calibrate e2e ok"

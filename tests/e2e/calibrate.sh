#!/usr/bin/env bash
# calibrate on the bundled model: a valid deterministic table; two shards merged equal one run over
# all the data byte for byte (sample digests included) and keep the method they agree on; bad data, foreign
# tables, disagreeing methods without --method and overlapping shards (the same sample twice) are exit 2.
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
# no --method: the inputs' (entropy) is kept, not the default minmax; --json prints the summary on stdout
"$hq" calibrate --merge "$t/b.json" "$t/a.json" -o "$t/merged_kept.json" --json -q > "$t/merge_summary.json"
/usr/bin/python3 - "$t" <<'PY'
import json, sys
t = sys.argv[1]
whole = json.load(open(f"{t}/all.json"))
merged = json.load(open(f"{t}/merged.json"))
assert whole["schema"] == 1 and whole["samples"] == 48 and merged["samples"] == 48
assert whole["tensors"] == merged["tensors"], "merged shards differ from one run over all the data"
assert len(whole["sample_digests"]) == 48, len(whole.get("sample_digests", []))
assert whole["sample_digests"] == merged["sample_digests"], "merged sample digests differ from one run"
kept = json.load(open(f"{t}/merged_kept.json"))
assert kept["method"] == "entropy", kept["method"]
assert kept["tensors"] == whole["tensors"]
summary = json.load(open(f"{t}/merge_summary.json"))
assert summary["command"] == "calibrate" and summary["output"] == f"{t}/merged_kept.json", summary
assert summary["samples"] == 48 and summary["method"] == "entropy" and len(summary["merged"]) == 2, summary
hist = {k: v for k, v in whole["tensors"].items() if "histogram" in v}
# every tensor some target's placement may quantize has a histogram (quant::calibration_targets); the rest
# min/max (since the --target placement, that is every float tensor of this model)
assert len(hist) >= 50, len(hist)
assert len(whole["tensors"]) >= len(hist)
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
# the same shard twice: exit 2 naming a shared sample and both tables, nothing written
set +e
"$hq" calibrate --merge "$t/a.json" "$t/b.json" "$t/a.json" -o "$t/twice.json" -q 2>"$t/err"; rc=$?
set -e
[ "$rc" = 2 ] && grep -q "sample '.*' of $t/a.json is also in $t/a.json" "$t/err" && [ ! -e "$t/twice.json" ] \
    || { echo "same shard twice: rc=$rc"; cat "$t/err"; exit 1; }
[ "$(wc -l < "$t/err")" = 1 ] || { echo "expected one error line"; cat "$t/err"; exit 1; }
# shards of different methods without --method: exit 2 naming both tables and methods; with --method it merges
"$hq" calibrate "$model" --data "$t/a" -o "$t/a_mse.json" --method mse "${pre[@]}"
set +e
"$hq" calibrate --merge "$t/b.json" "$t/a_mse.json" -o "$t/mixed.json" -q 2>"$t/err"; rc=$?
set -e
[ "$rc" = 2 ] && grep -q "$t/b.json (method entropy) and $t/a_mse.json (method mse)" "$t/err" && [ ! -e "$t/mixed.json" ] \
    || { echo "disagreeing methods: rc=$rc"; cat "$t/err"; exit 1; }
"$hq" calibrate --merge "$t/b.json" "$t/a_mse.json" -o "$t/mixed.json" --method mse -q
grep -q '"method": "mse"' "$t/mixed.json"
echo "calibrate e2e ok"

#!/usr/bin/env bash
# NaN/Inf in calibration data: one warning per sample file that holds them, naming the file, the input and the
# counts, plus one summary line; not one warning per tensor they reach. Per-tensor counts stay in the table.
set -euo pipefail
hq="$1"; src="$2"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
model="$src/models/ppocr_mobile_v2_cls.onnx"
mkdir -p "$t/data"
/usr/bin/python3 - "$t/data" <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(3)
for i in range(3):
    x = rng.uniform(-1, 1, size=(1, 3, 48, 192)).astype(np.float32)
    if i == 1:
        x[0, 0, 5, :5] = np.nan
        x[0, 2, 7, 9:11] = np.inf
    np.save(f"{sys.argv[1]}/s{i}.npy", x)
PY
"$hq" calibrate "$model" --data "$t/data" -o "$t/table.json" --device cpu -q 2>"$t/log"
n=$(grep -c '^warning' "$t/log" || true)
[ "$n" = 2 ] || { echo "expected 2 warning lines, got $n:"; cat "$t/log"; exit 1; }
grep -q "^warning: $t/data/s1.npy: input 'x' holds 5 NaN and 2 Inf values" "$t/log" \
    || { echo "no warning naming the sample file"; cat "$t/log"; exit 1; }
grep -q "^warning: 1 of 3 samples had NaN/Inf inputs; [0-9]* tensors saw NaN/Inf values" "$t/log" \
    || { echo "no summary line"; cat "$t/log"; exit 1; }
/usr/bin/python3 - "$t/table.json" "$t/log" <<'PY'
import json, re, sys
j = json.load(open(sys.argv[1]))
bad = [k for k, v in j["tensors"].items() if v["nan"] or v["inf"]]
assert len(bad) > 1, bad  # the NaN reaches many tensors, yet only one warning named it
assert j["tensors"]["x"]["nan"] == 5 and j["tensors"]["x"]["inf"] == 2, j["tensors"]["x"]
assert j["nonfinite_inputs"] == [["s1", "x", 5, 2]], j.get("nonfinite_inputs")
n = int(re.search(r"(\d+) tensors saw NaN/Inf", open(sys.argv[2]).read()).group(1))
assert n == len(bad), (n, len(bad))
print("NaN sample reported once;", len(bad), "tensors with NaN/Inf in the table")
PY

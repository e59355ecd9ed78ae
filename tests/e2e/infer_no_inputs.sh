#!/usr/bin/env bash
# infer on a model without inputs (ONNX's node test test_constant): it runs once, without --data, and writes
# OUTDIR/run/<output>.npy equal to the node test's expected output; --data is ignored with a note; --json
# prints the summary on stdout.
set -euo pipefail
hq="$1"; src="$2"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
case_dir=/usr/share/libonnx-testdata/data/node/test_constant
[ -d "$case_dir" ] || { echo "skipped: $case_dir missing (Debian libonnx-testdata)"; exit 0; }
"$hq" infer "$case_dir/model.onnx" -o "$t/out" --device cpu --json > "$t/summary.json" 2>"$t/log"
"$hq" infer "$case_dir/model.onnx" --data "$case_dir" -o "$t/out2" --device cpu 2>"$t/log2"
grep -q "no inputs, so --data $case_dir is ignored" "$t/log2" || { echo "no note about --data"; cat "$t/log2"; exit 1; }
/usr/bin/python3 - "$t" "$case_dir" <<'PY'
import json, os, sys
import numpy as np
import onnx
from onnx import numpy_helper
t, case = sys.argv[1], sys.argv[2]
model = onnx.load(os.path.join(case, "model.onnx"))
assert len(model.graph.input) == 0
name = model.graph.output[0].name
want = numpy_helper.to_array(onnx.load_tensor(os.path.join(case, "test_data_set_0", "output_0.pb")))
for out in ("out", "out2"):
    assert os.listdir(os.path.join(t, out)) == ["run"], os.listdir(os.path.join(t, out))
    got = np.load(os.path.join(t, out, "run", name + ".npy"))
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape, want.dtype, want.shape)
    assert np.array_equal(got, want), "output differs from the node test's expected output"
s = json.load(open(os.path.join(t, "summary.json")))
assert s["command"] == "infer" and s["samples"] == 1 and s["outputs"] == [name] and s["files"] == 1, s
print("infer without inputs ok:", name, want.shape)
PY

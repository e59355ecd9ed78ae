#!/usr/bin/env bash
# inspect on the real model: JSON has the documented keys and values; --ops lists the claimed ops.
set -euo pipefail
hq="$1"; src="$2"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
"$hq" inspect "$src/models/ppocr_mobile_v2_cls.onnx" --json --shape x=1x3x48x192 > "$t/i.json"
/usr/bin/python3 - "$t/i.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["opsets"] == {"ai.onnx": 9}, j["opsets"]
assert j["inputs"][0]["name"] == "x" and j["inputs"][0]["shape"] == [1, 3, 48, 192]
assert j["op_counts"]["Conv"] == 53, j["op_counts"]
assert "Constant" not in j["op_counts"], "Constant nodes should be lifted to initializers"
assert j["parameters"] > 100000
layers = j["quantizable_layers"]
assert len(layers) == 54 and all(l["macs"] is not None for l in layers)
assert j["macs_total"] == sum(l["macs"] for l in layers) and j["macs_total"] > 10_000_000
print("inspect ok:", j["macs_total"], "MACs")
PY
"$hq" inspect --ops > "$t/ops.txt"
for op in Conv Gemm MatMul Relu Softmax Resize QuantizeLinear DequantizeLinear Reshape; do
    grep -q "^$op " "$t/ops.txt" || { echo "op $op not listed"; exit 1; }
done

#!/usr/bin/env bash
# hyquant infer (--device cpu) on the real PaddleOCR model reproduces ONNX Runtime's outputs within 1e-5
# absolute. (--device auto vs cpu is tests/e2e/device.sh.)
set -euo pipefail
hq="$1"; src="$2"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
"$hq" infer "$src/models/ppocr_mobile_v2_cls.onnx" --data "$src/models/ppocr_cls_reference/inputs" -o "$t/cpu" \
    --device cpu 2>"$t/cpu.log"
/usr/bin/python3 - "$t" "$src/models/ppocr_cls_reference/ort_outputs" <<'PY'
import sys, os, numpy as np
out, ref = sys.argv[1], sys.argv[2]
worst = 0.0
names = sorted(f[:-4] for f in os.listdir(ref))
assert len(names) == 8, names
for n in names:
    want = np.load(os.path.join(ref, n + ".npy"))
    files = os.listdir(os.path.join(out, "cpu", n))
    assert len(files) == 1, files
    got = np.load(os.path.join(out, "cpu", n, files[0]))
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, want.shape, got.dtype)
    worst = max(worst, float(np.max(np.abs(got - want))))
print(f"max abs difference vs ONNX Runtime: {worst:.3g}")
assert worst <= 1e-5, worst
PY

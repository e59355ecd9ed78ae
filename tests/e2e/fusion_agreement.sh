#!/usr/bin/env bash
# Issue 15: the fused oneDNN path agrees with the OpenBLAS reference path (HQ_CPU_REFERENCE=1) within 1e-5
# relative on the bundled classifier, with every conv on oneDNN (HQ_DNNL_MIN_MACS=0) and with the default
# threshold; calibration tables with fusion on and HQ_EXEC_NO_FUSION=1 are byte-identical (cmp).
set -euo pipefail
hq="$1"; src="$2"
py=/usr/bin/python3
"$py" -c 'import numpy' 2>/dev/null || py=$(bash "$src/scripts/venv.sh")
HQ_DNNL_MIN_MACS=0 "$py" "$src/scripts/check_fusion.py" "$hq" --models-dir /nonexistent --r50 /nonexistent
"$py" "$src/scripts/check_fusion.py" "$hq" --models-dir /nonexistent --r50 /nonexistent --no-calib
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
d="$src/models/ppocr_cls_reference/inputs" m="$src/models/ppocr_mobile_v2_cls.onnx"
HQ_DNNL_MIN_MACS=0 "$hq" calibrate "$m" --data "$d" -o "$t/fused.json" -q
HQ_DNNL_MIN_MACS=0 HQ_EXEC_NO_FUSION=1 "$hq" calibrate "$m" --data "$d" -o "$t/unfused.json" -q
cmp "$t/fused.json" "$t/unfused.json"
echo "tables byte-identical with fusion on and off"

#!/usr/bin/env bash
# Bad input gives exit 2, one error line naming the file/input, and nothing partial at the output path.
set -uo pipefail
hq="$1"; src="$2"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
model="$src/models/ppocr_mobile_v2_cls.onnx"
fail=0
expect() {  # expect CODE NEEDLE -- command...
    local code="$1" needle="$2"; shift 3
    "$@" >"$t/out" 2>"$t/err"; local rc=$?
    local lines; lines=$(grep -c '^error' "$t/err")
    if [ "$rc" != "$code" ] || ! grep '^error' "$t/err" | grep -qF -- "$needle" || [ "$lines" != 1 ]; then
        echo "FAIL: '$*' gave rc=$rc (want $code), stderr:"; cat "$t/err"; fail=1
    else
        echo "ok: $* -> $(cat "$t/err")"
    fi
}
expect 2 "$t/missing.onnx" -- "$hq" inspect "$t/missing.onnx"
printf 'hello, not a model\n' > "$t/text.onnx"
expect 2 "$t/text.onnx" -- "$hq" inspect "$t/text.onnx"
head -c 100000 "$model" > "$t/trunc.onnx"
expect 2 "$t/trunc.onnx" -- "$hq" inspect "$t/trunc.onnx"
: > "$t/empty.onnx"
expect 2 "$t/empty.onnx" -- "$hq" inspect "$t/empty.onnx"
expect 2 "$t" -- "$hq" inspect "$t"
expect 2 "--shape x=" -- "$hq" inspect "$model" --shape x=1x3
expect 2 "--device hip" -- "$hq" infer "$model" --data "$src/models/ppocr_cls_reference/inputs" -o "$t/o1" --device hip
[ -e "$t/o1" ] && { echo "FAIL: partial output left"; fail=1; }
expect 2 "$t/no/such/dir" -- "$hq" infer "$model" --data "$src/models/ppocr_cls_reference/inputs" -o "$t/no/such/dir"
mkdir -p "$t/data_empty"
expect 2 "$t/data_empty" -- "$hq" infer "$model" --data "$t/data_empty" -o "$t/o2"
[ -e "$t/o2" ] && { echo "FAIL: partial output left"; fail=1; }
# a sample of the wrong shape: names the file and the input; no output folder appears
mkdir -p "$t/data_bad"
cp "$src/models/ppocr_cls_reference/inputs/0000.npy" "$t/data_bad/a.npy"
/usr/bin/python3 -c "import numpy as np; np.save('$t/data_bad/b.npy', np.zeros((1,4,48,192), np.float32))"
expect 2 "b.npy" -- "$hq" infer "$model" --data "$t/data_bad" -o "$t/o3"
grep -qF "'x'" "$t/err" || { echo "FAIL: error does not name input x"; fail=1; }
[ -e "$t/o3" ] && { echo "FAIL: partial output left"; fail=1; }
ls -A "$t" | grep -q '\.tmp\.' && { echo "FAIL: temporary files left"; ls -A "$t"; fail=1; }
exit $fail

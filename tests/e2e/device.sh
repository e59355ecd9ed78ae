#!/usr/bin/env bash
# --device (SPEC "Devices"). Without a HIP device (or in a build without HIP): `auto` says exactly once that it
# uses the CPU and why, and its outputs equal --device cpu byte for byte; `hip` and `hip:0` are exit 2 with one
# error line naming the reason and nothing written; a bad value is exit 2. With a HIP device: `auto` names it
# once, its outputs agree with the CPU's within float tolerance, a device number out of range is exit 2 naming
# how many there are, and calibrating on every device equals calibrating on hip:0 byte for byte.
set -uo pipefail
hq="$1"; src="$2"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
model="$src/models/ppocr_mobile_v2_cls.onnx"
data="$src/models/ppocr_cls_reference/inputs"
fail=0
expect2() {  # expect2 NEEDLE OUTPUT -- command...: exit 2, one error line holding NEEDLE, nothing at OUTPUT
    local needle="$1" out="$2"; shift 3
    "$@" >"$t/out" 2>"$t/err"; local rc=$?
    if [ "$rc" != 2 ] || [ "$(grep -c '^error' "$t/err")" != 1 ] || ! grep '^error' "$t/err" | grep -qE -- "$needle"; then
        echo "FAIL: '$*' gave rc=$rc (want 2, one error line matching '$needle'), stderr:"; cat "$t/err"; fail=1
    else
        echo "ok: $* -> $(grep '^error' "$t/err")"
    fi
    if [ -e "$out" ]; then echo "FAIL: '$*' left $out"; fail=1; fi
}

"$hq" infer "$model" --data "$data" -o "$t/cpu" --device cpu 2>"$t/cpu.log" || { echo "FAIL: --device cpu"; cat "$t/cpu.log"; exit 1; }
grep -q '^info: device' "$t/cpu.log" && { echo "FAIL: --device cpu logged a device line at info"; cat "$t/cpu.log"; fail=1; }
"$hq" infer "$model" --data "$data" -o "$t/auto" --device auto 2>"$t/auto.log" || { echo "FAIL: --device auto"; cat "$t/auto.log"; exit 1; }
"$hq" infer "$model" --data "$data" -o "$t/default" 2>/dev/null || { echo "FAIL: no --device"; exit 1; }
cmp -s <(cd "$t/auto" && find . -type f | sort | xargs cat) <(cd "$t/default" && find . -type f | sort | xargs cat) \
    || { echo "FAIL: the default device differs from --device auto"; fail=1; }

if grep -q 'using HIP device' "$t/auto.log"; then
    # ---- a HIP device is present ----
    [ "$(grep -c '^info: device' "$t/auto.log")" = 1 ] && grep -qE 'using HIP device hip:0 \(.+\)' "$t/auto.log" \
        || { echo "FAIL: auto did not name the device once"; cat "$t/auto.log"; fail=1; }
    /usr/bin/python3 - "$t/cpu" "$t/auto" <<'PY' || fail=1
import os, sys, numpy as np
cpu, dev = sys.argv[1], sys.argv[2]
worst = 0.0
for s in sorted(os.listdir(cpu)):
    for f in sorted(os.listdir(os.path.join(cpu, s))):
        a, b = np.load(os.path.join(cpu, s, f)), np.load(os.path.join(dev, s, f))
        assert a.shape == b.shape and a.dtype == b.dtype, (s, f, a.shape, b.shape)
        assert np.allclose(a, b, rtol=1e-4, atol=1e-5), (s, f, float(np.max(np.abs(a - b))))
        worst = max(worst, float(np.max(np.abs(a - b))))
print(f"HIP vs CPU outputs: max abs difference {worst:.3g}")
PY
    "$hq" infer "$model" --data "$data" -o "$t/hip0" --device hip:0 2>"$t/hip0.log" || { echo "FAIL: --device hip:0"; cat "$t/hip0.log"; fail=1; }
    expect2 'no HIP device 99 \([0-9]+ devices? (is|are) present' "$t/o99" -- "$hq" infer "$model" --data "$data" -o "$t/o99" --device hip:99
    pre=(--size 48x192 --keep-aspect --pad-value 0 --mean 127.5 --std 127.5)
    "$hq" calibrate "$model" --data "$src/models/textlines/calib" -o "$t/all.json" --device hip "${pre[@]}" 2>"$t/call.log" \
        && "$hq" calibrate "$model" --data "$src/models/textlines/calib" -o "$t/one.json" --device hip:0 "${pre[@]}" 2>/dev/null \
        || { echo "FAIL: calibrate on the device"; cat "$t/call.log"; fail=1; }
    cmp -s "$t/all.json" "$t/one.json" || { echo "FAIL: calibrating on every device differs from hip:0 alone"; fail=1; }
    grep '^info' "$t/call.log"
else
    # ---- no HIP device, or a build without HIP ----
    n=$(grep -c 'using the CPU' "$t/auto.log")
    [ "$n" = 1 ] && [ "$(grep -c '^info: device' "$t/auto.log")" = 1 ] \
        && grep 'using the CPU' "$t/auto.log" | grep -qE 'no HIP (device|backend)' \
        || { echo "FAIL: auto did not say exactly once that it uses the CPU and why"; cat "$t/auto.log"; fail=1; }
    echo "ok: auto -> $(grep 'using the CPU' "$t/auto.log")"
    cmp -s <(cd "$t/cpu" && find . -type f | sort | xargs cat) <(cd "$t/auto" && find . -type f | sort | xargs cat) \
        && [ "$(cd "$t/cpu" && find . -type f | sort)" = "$(cd "$t/auto" && find . -type f | sort)" ] \
        || { echo "FAIL: --device auto outputs differ from --device cpu"; fail=1; }
    why='--device hip(:0)?: .*no HIP (device|backend)'
    expect2 "$why" "$t/o1" -- "$hq" infer "$model" --data "$data" -o "$t/o1" --device hip
    expect2 "$why" "$t/o2" -- "$hq" infer "$model" --data "$data" -o "$t/o2" --device hip:0
    expect2 "$why" "$t/c1.json" -- "$hq" calibrate "$model" --data "$data" -o "$t/c1.json" --device hip
    expect2 "$why" "$t/c2.json" -- "$hq" calibrate "$model" --data "$data" -o "$t/c2.json" --device hip:0
fi
expect2 "--device 'bogus'" "$t/o3" -- "$hq" infer "$model" --data "$data" -o "$t/o3" --device bogus
expect2 "--device 'hip:x'" "$t/o4" -- "$hq" infer "$model" --data "$data" -o "$t/o4" --device hip:x
expect2 "--device 'hip:'" "$t/o5" -- "$hq" calibrate "$model" --data "$data" -o "$t/o5" --device hip:
ls -A "$t" | grep -q '\.tmp\.' && { echo "FAIL: temporary files left"; ls -A "$t"; fail=1; }
[ "$fail" = 0 ] && echo "device e2e ok"
exit $fail

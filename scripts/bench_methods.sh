#!/usr/bin/env bash
# Accuracy of hyquant's range handling on the bench set (scripts/bench_models.py), measured in ONNX Runtime:
# each model quantized with several flag sets ("variants": the range method, the guard on or off), every
# written model run in one ORT process beside the FP32 model on the bench set's eval samples, and per variant
# the worst output's SQNR and cosine, top-1 where the model has labels, how many layers the guard moved and which
# range methods `--method auto` chose. No timing (scripts/bench_quantized.sh times).
#
# Usage: scripts/bench_methods.sh [--models a,b,...] [--variants "NAME=FLAGS;NAME=FLAGS..."] [--quick]
#   default variants: minmax_noguard="--guard-sqnr 0"; minmax=""; auto_noguard="--method auto --guard-sqnr 0";
#                     auto="--method auto"
# Environment: HYQUANT (default <repo>/build/hyquant), HQ_BASE_FLAGS (default "--target ort-cpu"),
#   BENCH_OUT (default <repo>/build-bench). Output: a Markdown table on stdout; $BENCH_OUT/methods/bench_methods.json.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HQ=${HYQUANT:-$ROOT/build/hyquant}
HQ_BASE_FLAGS=${HQ_BASE_FLAGS---target ort-cpu}
BENCH_OUT=${BENCH_OUT:-$ROOT/build-bench}
MODELS=""
QUICK=""
VARIANTS='minmax_noguard=--guard-sqnr 0;minmax=;auto_noguard=--method auto --guard-sqnr 0;auto=--method auto'
while [ $# -gt 0 ]; do
    case "$1" in
        --models) MODELS=$2; shift 2 ;;
        --variants) VARIANTS=$2; shift 2 ;;
        --quick) QUICK=--quick; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "error: unknown argument $1" >&2; exit 2 ;;
    esac
done
log() { echo "[bench_methods] $*" >&2; }
[ -x "$HQ" ] || { echo "error: hyquant binary $HQ not found (set HYQUANT)" >&2; exit 2; }
PY=$("$ROOT/scripts/venv.sh")
OUT=$BENCH_OUT/methods
mkdir -p "$OUT"
"$PY" "$ROOT/scripts/bench_models.py" prepare --out "$BENCH_OUT/models" ${MODELS:+--models "$MODELS"} $QUICK >"$OUT/models.json"
mapfile -t NAMES < <("$PY" -c 'import json,sys; [print(m["name"]) for m in json.load(open(sys.argv[1]))]' "$OUT/models.json")
IFS=';' read -r -a VARS <<<"$VARIANTS"

for name in "${NAMES[@]}"; do
    D=$BENCH_OUT/models/$name
    W=$OUT/$name
    rm -rf "$W" && mkdir -p "$W"
    args=(--fp32 "$D/model.onnx" --eval "$D/eval" --rounds 1 --json "$W/measure.json")
    for v in "${VARS[@]}"; do
        vn=${v%%=*}
        vf=${v#*=}
        t0=$(date +%s.%N)
        # shellcheck disable=SC2086  # flag lists
        rc=0
        "$HQ" quantize "$D/model.onnx" -o "$W/$vn.onnx" --data "$D/calib" $HQ_BASE_FLAGS $vf \
            --report "$W/$vn.report.json" -q >"$W/$vn.log" 2>&1 || rc=$?
        t1=$(date +%s.%N)
        echo "{\"rc\": $rc, \"seconds\": $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')}" >"$W/$vn.run.json"
        if [ "$rc" = 0 ]; then
            args+=(--model "$vn=$W/$vn.onnx")
        else
            log "$name/$vn: quantize exit $rc: $(grep -m1 -i error "$W/$vn.log" || tail -1 "$W/$vn.log")"
        fi
    done
    [ "$name" = ppocr_cls ] && args+=(--labels-json "$D/meta.json")
    "$PY" "$ROOT/scripts/bench_ort.py" measure "${args[@]}" >"$W/measure.log" 2>&1 ||
        { log "$name: measure failed: $(tail -1 "$W/measure.log")"; echo '{}' >"$W/measure.json"; }
    log "$name: done"
done

"$PY" - "$OUT" "$VARIANTS" "${NAMES[@]}" <<'EOF'
import json, sys
from pathlib import Path
out, variants, names = Path(sys.argv[1]), [v.split("=", 1)[0] for v in sys.argv[2].split(";")], sys.argv[3:]
rows, table = {}, []
hdr = "| model | " + " | ".join(f"{v} dB / cos / moved" for v in variants) + " | auto's methods |"
table.append(hdr)
table.append("|" + "---|" * (len(variants) + 2))
for n in names:
    w = out / n
    meas = json.loads((w / "measure.json").read_text() or "{}").get("models", {})
    rows[n] = {}
    cells, methods = [], ""
    for v in variants:
        run = json.loads((w / f"{v}.run.json").read_text())
        rep = w / f"{v}.report.json"
        rj = json.loads(rep.read_text()) if rep.exists() else {}
        g = rj.get("guard") or {}
        moved = len(g.get("moved", [])) if g else None
        rm = (rj.get("calibration") or {}).get("range_methods") or {}
        if rm:
            c = {}
            for m in rm.values():
                c[m] = c.get(m, 0) + 1
            methods = ", ".join(f"{k} {c[k]}" for k in sorted(c))
        m = meas.get(v)
        r = dict(rc=run["rc"], moved=moved)
        if m:
            r.update(sqnr_db=m["sqnr_db"], cosine=m["cosine"], worst_output=m["worst_output"], top1=m.get("top1"))
            top = f" / top1 {100 * m['top1']:.1f}" if m.get("top1") is not None else ""
            cells.append(f"{float(m['sqnr_db']):.1f} / {m['cosine']:.4f} / {moved if moved is not None else '-'}{top}")
        else:
            cells.append(f"exit {run['rc']}")
        rows[n][v] = r
    table.append(f"| {n} | " + " | ".join(cells) + f" | {methods} |")
(out / "bench_methods.json").write_text(json.dumps(rows, indent=1) + "\n")
print("\n".join(table))
EOF

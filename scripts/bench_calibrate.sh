#!/usr/bin/env bash
# Calibration benchmark: cost of `hyquant calibrate` relative to plain `hyquant infer` on the same
# samples (target <= 1.15), and peak memory of calibrate for 10 vs 1000 samples (target <= 1.1).
#
#   scripts/bench_calibrate.sh [--threads N] [--reps R] [--r50-reps R] [--cls-copies C]
#                              [--r50-count K] [--methods "minmax percentile entropy mse"]
#                              [--only cls|png|resnet50|rss] [--keep]
#   scripts/bench_calibrate.sh --mpi K [--threads N] [--reps R] [--cls-copies C] [--methods "..."]
#
# Defaults: 2 threads; methods minmax percentile entropy mse; the bundled model
# models/ppocr_mobile_v2_cls.onnx on its 8 reference .npy inputs repeated 25 times (200 samples,
# 3 reps) and on the 48 calibration PNGs repeated 4 times (192 samples, 3 reps, with
# --size 48x192 --keep-aspect --pad-value 0 --mean 127.5 --std 127.5); the generated ResNet-50
# (scripts/gen_models.py, cached in build-bench/bench/) on 24 random .npy inputs (3 reps; with 8, the
# 1-sample run's noise decided the marginal ratio: 1.17-1.64 for one binary).
# Builds hyquant (Release, $BUILD_DIR, default build-bench/) if needed.
# Needs: cmake, ninja, /usr/bin/python3 with numpy and onnx, GNU time (/usr/bin/time; installed
# with apt-get when missing and running as root).
#
# Time ratio: for each repetition, `hyquant infer` and `hyquant calibrate --method M` (every
# method) run as whole processes on the same folder of N samples and on a folder of 1 sample; the
# order rotates every repetition. Printed per method:
#   whole  = median T_calibrate(N) / median T_infer(N)                   (what a user waits)
#   marg.  = median[(T_cal(N) - T_cal(1))/(N-1)] / median[(T_inf(N) - T_inf(1))/(N-1)]
#            (per-sample cost only: model load, graph passes and process start removed)
# infer also writes every output .npy and calibrate writes one table; both read the same .npy.
# Peak RSS: `/usr/bin/time -f %M hyquant calibrate` (max resident set, KiB) on 10 and on 1000
# samples of the bundled model (augmented copies of the 8 reference inputs: random gain 0.8-1.2 and
# noise sigma 0.05, clipped to [-1, 1], written as .npy into a temp folder), per method; ratio
# RSS(1000)/RSS(10).
# MPI (--mpi K, needs an MPI build and mpirun): `hyquant calibrate` of the bundled model on its 8 reference .npy
# inputs repeated C times (default 25: 200 samples), one process vs `mpirun -np K` (each rank its block of the
# samples, --threads N per rank, default 1), per method, R reps (default 3); printed: median wall times and the
# speed-up T(1 process) / T(K ranks). The tables are checked equal (provenance aside). Only --mpi's part runs.
# Only medians and ratios mean anything: machines are shared and noisy.
set -euo pipefail
source "$(dirname "$0")/bench_common.sh"

THREADS=2 REPS=3 R50_REPS=3 CLS_COPIES=25 R50_COUNT=24 ONLY="" KEEP=0 MPI_RANKS=0 THREADS_GIVEN=0
METHODS="minmax percentile entropy mse"
while [ $# -gt 0 ]; do
    case $1 in
        --threads) THREADS=$2; THREADS_GIVEN=1; shift 2 ;;
        --mpi) MPI_RANKS=$2; shift 2 ;;
        --reps) REPS=$2; shift 2 ;;
        --r50-reps) R50_REPS=$2; shift 2 ;;
        --cls-copies) CLS_COPIES=$2; shift 2 ;;
        --r50-count) R50_COUNT=$2; shift 2 ;;
        --methods) METHODS=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) fail "unknown option $1 (see --help)" ;;
    esac
done
want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }
if [ "$MPI_RANKS" != 0 ]; then
    [ "$MPI_RANKS" -ge 2 ] 2>/dev/null || fail "--mpi K: K must be an integer >= 2"
    command -v mpirun >/dev/null 2>&1 || fail "--mpi: mpirun not found (sudo apt-get install openmpi-bin libopenmpi-dev)"
    [ "$THREADS_GIVEN" = 1 ] || THREADS=1
    ONLY=mpi
fi

if [ ! -x /usr/bin/time ]; then
    if [ "$(id -u)" = 0 ]; then
        log "installing GNU time (apt-get install time)"
        (apt-get install -y -qq time >&2 || { apt-get update -qq >&2 && apt-get install -y -qq time >&2; }) ||
            fail "cannot install the Debian package 'time'"
    else
        fail "/usr/bin/time is missing: sudo apt-get install time"
    fi
fi
ensure_build
ensure_python
want resnet50 && ensure_resnet50 "$R50_COUNT"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hq-bench-calib.XXXXXX")
[ "$KEEP" = 1 ] && log "keeping $TMP" || trap 'rm -rf "$TMP"' EXIT
IMG_FLAGS=(--size 48x192 --keep-aspect --pad-value 0 --mean 127.5 --std 127.5)

echo "hyquant $("$HQ" --version 2>&1 | head -1) | $(nproc) cores | threads $THREADS | methods: $METHODS"

# bench_time LABEL MODEL DATA_DIR COPIES EXT REPS [extra hyquant flags...]
bench_time() {
    local label=$1 model=$2 data=$3 copies=$4 ext=$5 reps=$6; shift 6
    local flags=("$@") w=$TMP/$label k f
    mkdir -p "$w/one" "$w/many"
    ln -s "$(readlink -f "$(ls "$data"/*."$ext" | head -1)")" "$w/one/"
    for ((k = 0; k < copies; ++k)); do
        for f in "$data"/*."$ext"; do ln -s "$(readlink -f "$f")" "$w/many/$(printf 'c%03d' "$k")_$(basename "$f")"; done
    done
    local n; n=$(find "$w/many" -maxdepth 1 -name "*.$ext" | wc -l)
    log "$label: $n samples, $reps reps, $THREADS threads"

    local -A whole marg
    local tasks=(infer $METHODS) r i j t tn t1 tt kind
    for t in "${tasks[@]}"; do whole[$t]=""; marg[$t]=""; done
    for ((r = 0; r < reps; ++r)); do
        for ((i = 0; i < ${#tasks[@]}; ++i)); do
            j=$(( (i + r) % ${#tasks[@]} ))   # rotate the order every repetition
            t=${tasks[$j]}
            for kind in many one; do
                rm -rf "$w/out" "$w/table.json"
                if [ "$t" = infer ]; then
                    run_timed tt "$w/$t.log" "$HQ" infer "$model" --data "$w/$kind" -o "$w/out" --threads "$THREADS" -q "${flags[@]}" ||
                        { log "$label: hyquant infer FAILED: $(tail -3 "$w/$t.log" | tr '\n' ' ')"; return 0; }
                else
                    run_timed tt "$w/$t.log" "$HQ" calibrate "$model" --data "$w/$kind" -o "$w/table.json" --method "$t" \
                        --threads "$THREADS" -q "${flags[@]}" ||
                        { log "$label: hyquant calibrate --method $t FAILED: $(tail -3 "$w/$t.log" | tr '\n' ' ')"; return 0; }
                fi
                if [ $kind = many ]; then tn=$tt; else t1=$tt; fi
            done
            whole[$t]+=" $tn"
            marg[$t]+=" $(calc "($tn - $t1) / ($n - 1)")"
            log "$label rep $((r + 1)) $t: T($n)=${tn}ms T(1)=${t1}ms"
        done
    done
    local wi mi
    wi=$(median ${whole[infer]}) mi=$(median ${marg[infer]})
    echo "== $label: $(basename "$model"), $n samples, $THREADS threads, $reps reps (target: calibrate/infer <= 1.15)"
    printf '  %-10s  %12s  %9s  %16s  %9s\n' task "T(N) median" "whole" "per-sample median" "marg."
    printf '  %-10s  %10s ms  %9s  %13s ms  %9s\n' infer "$wi" 1.00 "$mi" 1.00
    for t in $METHODS; do
        local wm mm
        wm=$(median ${whole[$t]}) mm=$(median ${marg[$t]})
        printf '  %-10s  %10s ms  %9s  %13s ms  %9s\n' "$t" "$wm" "$(calc "$wm / $wi" 2)" "$mm" "$(calc "$mm / $mi" 2)"
    done
}

bench_rss() {
    local w=$TMP/rss
    log "rss: writing 1000 augmented samples of the bundled model's reference inputs"
    "$PY" - "$CLS_INPUTS" "$w/d1000" "$w/d10" <<'EOF'
import glob, os, sys
import numpy as np
src, d1000, d10 = sys.argv[1:4]
refs = [np.load(f) for f in sorted(glob.glob(os.path.join(src, "*.npy")))]
rng = np.random.default_rng(7)
os.makedirs(d1000); os.makedirs(d10)
for k in range(1000):
    x = refs[k % len(refs)].astype(np.float64)
    x = x * rng.uniform(0.8, 1.2) + rng.normal(0.0, 0.05, x.shape)
    x = np.clip(x, -1.0, 1.0).astype(np.float32)
    np.save(os.path.join(d1000, f"{k:04d}.npy"), x)
    if k < 10:
        np.save(os.path.join(d10, f"{k:04d}.npy"), x)
EOF
    echo "== peak RSS of hyquant calibrate, $(basename "$CLS_MODEL"): 10 vs 1000 samples, $THREADS threads (target: ratio <= 1.1)"
    printf '  %-10s  %12s  %12s  %7s  %10s\n' method "RSS 10 (KiB)" "RSS 1000" ratio "time 1000"
    local m n r10 r1000 t  # t: time of the last (1000-sample) run
    for m in $METHODS; do
        for n in 10 1000; do
            rm -f "$w/t$n.json"
            run_timed t "$w/cal$n.log" /usr/bin/time -f '%M' -o "$w/rss$n" "$HQ" calibrate "$CLS_MODEL" --data "$w/d$n" \
                -o "$w/t$n.json" --method "$m" --threads "$THREADS" -q ||
                { log "rss: hyquant calibrate --method $m on $n samples FAILED: $(tail -3 "$w/cal$n.log" | tr '\n' ' ')"; continue 2; }
        done
        r10=$(tail -1 "$w/rss10") r1000=$(tail -1 "$w/rss1000")
        printf '  %-10s  %12s  %12s  %7s  %7.0f ms\n' "$m" "$r10" "$r1000" "$(calc "$r1000 / $r10" 3)" "$t"
    done
}

# bench_mpi: one process vs K ranks on the same folder, per method.
bench_mpi() {
    local w=$TMP/mpi k f m r tone tmany
    mkdir -p "$w/many"
    for ((k = 0; k < CLS_COPIES; ++k)); do
        for f in "$CLS_INPUTS"/*.npy; do ln -s "$(readlink -f "$f")" "$w/many/$(printf 'c%03d' "$k")_$(basename "$f")"; done
    done
    local n; n=$(find "$w/many" -maxdepth 1 -name '*.npy' | wc -l)
    local mpirun=(mpirun --oversubscribe -np "$MPI_RANKS")
    [ "$(id -u)" = 0 ] && mpirun+=(--allow-run-as-root)
    export OMPI_MCA_btl_vader_single_copy_mechanism=none
    "${mpirun[@]}" "$HQ" calibrate "$CLS_MODEL" --data "$w/many" -o "$w/probe.json" --samples 2 -q 2>"$w/probe.err" ||
        fail "mpirun of hyquant failed: $(tail -3 "$w/probe.err" | tr '\n' ' ')"
    grep -q "built without MPI" "$w/probe.err" && fail "$HQ was built without MPI (install libopenmpi-dev, rebuild)"
    echo "== calibrate $(basename "$CLS_MODEL"), $n samples: 1 process vs $MPI_RANKS ranks, $THREADS threads per" \
        "process/rank, $REPS reps ($(nproc) cores: expect <= $(( $(nproc) < MPI_RANKS ? $(nproc) : MPI_RANKS )))"
    printf '  %-10s  %14s  %14s  %8s\n' method "1 process (ms)" "$MPI_RANKS ranks (ms)" speed-up
    for m in $METHODS; do
        local ones="" ks=""
        for ((r = 0; r < REPS; ++r)); do
            rm -f "$w/one.json" "$w/k.json"
            run_timed tone "$w/one.log" "$HQ" calibrate "$CLS_MODEL" --data "$w/many" -o "$w/one.json" --method "$m" \
                --threads "$THREADS" -q || fail "calibrate --method $m: $(tail -3 "$w/one.log" | tr '\n' ' ')"
            run_timed tmany "$w/k.log" "${mpirun[@]}" "$HQ" calibrate "$CLS_MODEL" --data "$w/many" -o "$w/k.json" \
                --method "$m" --threads "$THREADS" -q || fail "mpirun calibrate --method $m: $(tail -3 "$w/k.log" | tr '\n' ' ')"
            cmp -s <(grep -v -e '^  "ranks": ' -e '^  "rank_samples": ' "$w/one.json") \
                <(grep -v -e '^  "ranks": ' -e '^  "rank_samples": ' "$w/k.json") ||
                fail "method $m: the table of $MPI_RANKS ranks differs from one process's"
            ones+=" $tone" ks+=" $tmany"
            log "mpi rep $((r + 1)) $m: 1 process ${tone}ms, $MPI_RANKS ranks ${tmany}ms"
        done
        local m1 mk
        m1=$(median $ones) mk=$(median $ks)
        printf '  %-10s  %14s  %14s  %8s\n' "$m" "$m1" "$mk" "$(calc "$m1 / $mk" 2)"
    done
}

want mpi && bench_mpi
want cls && bench_time ppocr_cls "$CLS_MODEL" "$CLS_INPUTS" "$CLS_COPIES" npy "$REPS"
want png && bench_time ppocr_cls_png "$CLS_MODEL" "$ROOT/models/textlines/calib" 4 png "$REPS" "${IMG_FLAGS[@]}"
want resnet50 && bench_time resnet50 "$R50_MODEL" "$(r50_inputs_dir "$R50_COUNT")" 1 npy "$R50_REPS"
want rss && bench_rss
exit 0

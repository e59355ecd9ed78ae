# Shared helpers for scripts/bench_infer.sh and scripts/bench_calibrate.sh (sourced, not run).
# Environment: BUILD_DIR (default <repo>/build-bench), JOBS (ninja jobs, default 2),
# PY (default /usr/bin/python3: Debian's, with python3-onnx and python3-numpy),
# HYQUANT (a hyquant binary to use as is: nothing is built; e.g. a copy taken while the tree is
# being edited).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PY:-/usr/bin/python3}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
JOBS=${JOBS:-2}
HQ=${HYQUANT:-$BUILD_DIR/hyquant}
BENCH_CACHE=$BUILD_DIR/bench          # generated ResNet-50 and its inputs (git-ignored: build-*/)
CLS_MODEL=$ROOT/models/ppocr_mobile_v2_cls.onnx
CLS_INPUTS=$ROOT/models/ppocr_cls_reference/inputs
CLS_ORT_REF=$ROOT/models/ppocr_cls_reference/ort_outputs

log() { echo "[bench] $*" >&2; }
fail() { echo "error: $*" >&2; exit 1; }

# Configure (once) and build the hyquant target in Release; ninja makes this a no-op when up to date.
ensure_build() {
    if [ -n "${HYQUANT:-}" ]; then
        [ -x "$HQ" ] || fail "HYQUANT=$HQ is not an executable"
        log "using $HQ as is (HYQUANT set; nothing built)"
        return 0
    fi
    command -v ninja >/dev/null || fail "ninja is not installed (scripts/setup.sh installs the build deps)"
    if [ ! -f "$BUILD_DIR/build.ninja" ]; then
        log "configuring $BUILD_DIR (Release)"
        cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
    fi
    log "building hyquant in $BUILD_DIR (ninja -j$JOBS; no-op when up to date)"
    ninja -C "$BUILD_DIR" -j"$JOBS" hyquant >&2 || fail "build failed"
    [ -x "$HQ" ] || fail "$HQ was not built"
}

ensure_ort() { "$ROOT/scripts/ort/setup.sh" >&2 || fail "ONNX Runtime setup failed (scripts/ort/setup.sh)"; }

ensure_python() {
    "$PY" -c 'import numpy, onnx' 2>/dev/null ||
        fail "$PY lacks numpy/onnx (Debian: apt-get install python3-numpy python3-onnx)"
}

# The generated ResNet-50 and K random inputs, made once and cached under $BENCH_CACHE.
R50_MODEL=$BENCH_CACHE/resnet50.onnx
r50_inputs_dir() { echo "$BENCH_CACHE/resnet50_inputs_$1"; }
ensure_resnet50() {  # $1: number of inputs
    ensure_python
    mkdir -p "$BENCH_CACHE"
    if [ ! -s "$R50_MODEL" ]; then
        log "generating $R50_MODEL (about 30 s)"
        "$PY" "$ROOT/scripts/gen_models.py" resnet50 "$R50_MODEL" --seed 0 >&2 || fail "gen_models.py resnet50 failed"
    fi
    local d; d=$(r50_inputs_dir "$1")
    if [ ! -d "$d" ]; then
        "$PY" "$ROOT/scripts/gen_models.py" inputs "$d.tmp" --shape 1x3x224x224 --count "$1" --seed 1 >&2 ||
            fail "gen_models.py inputs failed"
        mv "$d.tmp" "$d"
    fi
}

now_ns() { date +%s%N; }

# run_timed VAR LOGFILE CMD...: runs CMD (stdout+stderr to LOGFILE), stores its wall time in ms in VAR.
# Returns CMD's exit status.
run_timed() {
    local __var=$1 __log=$2; shift 2
    local t0 t1 rc=0
    t0=$(now_ns)
    "$@" >"$__log" 2>&1 || rc=$?
    t1=$(now_ns)
    printf -v "$__var" '%s' "$(awk -v ns=$((t1 - t0)) 'BEGIN{printf "%.3f", ns / 1e6}')"
    return $rc
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{ if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }
calc() { awk "BEGIN{ printf \"%.${2:-3}f\", $1 }"; }

# replicate SRC DST COPIES: DST gets COPIES symlinks c<k>_<name> to every SRC/*.npy (sample order kept).
replicate() {
    local src=$1 dst=$2 copies=$3 k f
    mkdir -p "$dst"
    for ((k = 0; k < copies; ++k)); do
        for f in "$src"/*.npy; do ln -s "$(readlink -f "$f")" "$dst/$(printf 'c%03d' "$k")_$(basename "$f")"; done
    done
}
count_npy() { find "$1" -maxdepth 1 -name '*.npy' | wc -l; }

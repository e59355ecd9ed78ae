#!/usr/bin/env bash
# quantize under MPI (mpirun -np 2 and -np 3; lib/dist). Four runs each write the same model, plan and reports, byte
# for byte, as one process, and print the same --json summary: the accuracy-budget search (--max-drop on a model
# where it moves layers to fp16/fp32 and back over ten evaluations), the default quality guard repairing that model,
# mixed precision by sensitivity with bias correction, --max-drop, labels and the guard on the bundled model, and
# the plain default on it (the guard on the held-out last quarter of --data). Nothing is stripped: the runs use
# the same relative paths, so the command line in the model's metadata is the same, and no rank count is recorded.
# Only rank 0 writes (no other file, one summary). A truncated .npy on one rank (calibration data, then evaluation
# data) ends the job with exit 2, that rank's one-line reason and nothing written; a rank killed mid-run
# (HYQUANT_TEST_KILL_RANK, in calibration and in the budget search) ends the job non-zero within a bounded time,
# nothing written.
# SKIPPED without mpirun or an MPI build.
set -euo pipefail
hq="$1"; src="$2"
if ! command -v mpirun >/dev/null 2>&1; then echo "SKIPPED: mpirun not found (Debian: openmpi-bin)"; exit 0; fi
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
/usr/bin/python3 "$src/scripts/gen_guard_models.py" "$t" >/dev/null  # const_channel.onnx: plain INT8 breaks it
model="$src/models/ppocr_mobile_v2_cls.onnx"
pre=(--size 48x192 --keep-aspect --pad-value 0 --mean 127.5 --std 127.5)
mkdir "$t/ev"  # the first 12 labelled eval images (fast), with their labels
ls "$src/models/textlines/eval" | sort | head -12 | while read -r f; do ln -s "$src/models/textlines/eval/$f" "$t/ev/$f"; done
grep -v '^\s*#' "$src/models/textlines/eval_labels.txt" | grep -v '^\s*$' | head -12 > "$t/labels.txt"

cd "$t"
mpirun --allow-run-as-root --oversubscribe -np 2 "$hq" calibrate const_channel.onnx --data const_channel_calib \
    -o probe.json -q 2>probe.err || { cat probe.err; exit 1; }
if grep -q "built without MPI" probe.err; then echo "SKIPPED: this hyquant was built without MPI"; exit 0; fi

# The same command in run_1 (one process), run_2 and run_3 (mpirun -np K), from the same relative paths.
quantize_in() {  # K NAME ARGS... : quantize in run_K, stdout to NAME.out, stderr to NAME.err
    local np=$1 name=$2; shift 2
    local launch=(); [ "$np" = 1 ] || launch=(mpirun --allow-run-as-root --oversubscribe -np "$np")
    mkdir -p "run_$np"
    (cd "run_$np" && "${launch[@]}" "$hq" quantize "$@" --threads 1 --json >"$name.out" 2>"$name.err") ||
        { echo "$name on $np processes failed"; cat "run_$np/$name.err"; exit 1; }
}
cases=(budget guard mixed default)
for np in 1 2 3; do
    start=$(date +%s)
    quantize_in $np budget ../const_channel.onnx -o budget.onnx --data ../const_channel_calib \
        --eval-data ../const_channel_eval --max-drop 1 --guard-sqnr 0 --report budget.json --report budget.md
    quantize_in $np guard ../const_channel.onnx -o guard.onnx --data ../const_channel_calib \
        --eval-data ../const_channel_eval --report guard.json
    quantize_in $np mixed "$model" -o mixed.onnx --data "$src/models/textlines/calib" --samples 12 "${pre[@]}" \
        --precision mixed --min-sqnr 60 --sensitivity-samples 4 --bias-correction --max-drop 0.5 --eval-data ../ev \
        --labels ../labels.txt --report mixed.json
    # the plain default: int8 for dcu, the guard on the last quarter of --data (held out of calibration)
    quantize_in $np default "$model" -o default.onnx --data "$src/models/textlines/calib" --samples 12 "${pre[@]}" \
        --report default.json
    echo "quantize on $np process(es): $(( $(date +%s) - start )) s"
done
for np in 2 3; do
    for c in "${cases[@]}"; do
        for f in "$c.onnx" "$c.plan.json" "$c.json" "$c.out"; do
            cmp "run_1/$f" "run_$np/$f" || { echo "$c: $f of $np ranks differs from one process"; exit 1; }
        done
        [ "$(grep -c '^info: wrote ' "run_$np/$c.err")" = 1 ] && ! grep -q 'rank [0-9]' "run_$np/$c.err" ||
            { echo "$c on $np ranks: expected one summary from rank 0 and nothing from the others"; cat "run_$np/$c.err"; exit 1; }
    done
    cmp run_1/budget.md "run_$np/budget.md" || { echo "budget.md of $np ranks differs"; exit 1; }
    [ "$(ls run_1)" = "$(ls "run_$np")" ] || { echo "$np ranks wrote other files:"; ls run_1 "run_$np"; exit 1; }
done
/usr/bin/python3 - <<'PY'
import json
b = json.load(open("run_1/budget.json"))
steps = b["accuracy"]["search_steps"]
moved = [l for l in b["layers"] if l["precision"] != "int8"]
assert len(steps) >= 5 and moved and b["accuracy"]["budget"]["ok"], (len(steps), moved)  # the search took decisions
g = json.load(open("run_1/guard.json"))["guard"]
assert g["moved"] and g["met"] and g["evaluations"] >= 3, g  # the guard repaired
m = json.load(open("run_1/mixed.json"))
assert any(l["precision"] == "fp16" for l in m["layers"]), "mixed: no layer below --min-sqnr 60"
assert all(l["sensitivity_db"] is not None for l in m["layers"]), "mixed: sensitivities missing"
assert "bias correction" in " ".join(m["notes"]) and m["accuracy"]["budget"]["ok"] and m["guard"]["met"]
d = json.load(open("run_1/default.json"))["guard"]
assert d["met"] and d["samples"] == 12 and "held out" in d["data"], d
print(f"mpi quantize: budget search ({len(steps)} steps, {len(moved)} layers moved), guard ({len(g['moved'])} moved), "
      "mixed + bias correction + --max-drop + guard, default guard on held-out --data: same bytes on 2 and 3 ranks as one process")
PY

# A truncated .npy: in the calibration data (sorted index 9 of 12: rank 1's block on 2 ranks), then in the evaluation
# data (index 6 of 8: rank 2's block on 3 ranks): exit 2, that rank's reason on one line, nothing written.
cp -r const_channel_calib bad_calib && cp -r const_channel_eval bad_eval
head -c 60 const_channel_calib/0009.npy > bad_calib/0009.npy
head -c 60 const_channel_eval/0006.npy > bad_eval/0006.npy
for c in "2 bad_calib const_channel_eval 1 bad_calib/0009.npy" "3 const_channel_calib bad_eval 2 bad_eval/0006.npy"; do
    read -r np calib eval rank file <<<"$c"
    rm -rf out && mkdir out
    set +e
    (cd out && timeout 120 mpirun --allow-run-as-root --oversubscribe -np "$np" "$hq" quantize ../const_channel.onnx \
        -o q.onnx --data "../$calib" --eval-data "../$eval" --max-drop 1 --report q.json -q 2>../err); rc=$?
    set -e
    [ "$rc" = 2 ] && [ -z "$(ls out)" ] && [ "$(grep -c '^error:' err)" = 1 ] &&
        grep -q "^error: rank $rank: ../$file: " err ||
        { echo "truncated $file on rank $rank of $np: rc=$rc, wrote: $(ls out)"; cat err; exit 1; }
    echo "mpi quantize: truncated $file -> exit 2: $(grep '^error:' err)"
done

# Rank 1 killed at its 3rd sample (calibration) and at its 21st (6 calibration + 6 sensitivity samples, then 4 per
# evaluation: the budget search's third evaluation): non-zero well within the bound, nothing written.
for n in 3 21; do
    rm -rf out && mkdir out
    start=$(date +%s)
    set +e
    (cd out && HYQUANT_TEST_KILL_RANK=1:$n HYQUANT_MPI_TIMEOUT=20 timeout 90 mpirun --allow-run-as-root --oversubscribe \
        -x HYQUANT_TEST_KILL_RANK -x HYQUANT_MPI_TIMEOUT -np 2 "$hq" quantize ../const_channel.onnx -o q.onnx \
        --data ../const_channel_calib --eval-data ../const_channel_eval --max-drop 1 --report q.json 2>../err); rc=$?
    set -e
    took=$(( $(date +%s) - start ))
    [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ -z "$(ls out)" ] ||
        { echo "rank 1 killed at sample $n: rc=$rc after ${took}s, wrote: $(ls out)"; cat err; exit 1; }
    [ $n = 3 ] || grep -q "budget search step 1" err || { echo "the kill at sample $n came before the search"; cat err; exit 1; }
    echo "mpi quantize: rank 1 killed at its sample $n -> job ended with rc=$rc after ${took}s"
done
echo "mpi quantize ok"

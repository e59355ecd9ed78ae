#!/usr/bin/env bash
# calibrate and evaluate under MPI (mpirun -np 2 and -np 3; lib/dist): the table of every range method equals the
# one-process table byte for byte once the provenance lines ("ranks", "rank_samples") are dropped, and records the
# ranks and their samples; evaluate's JSON report equals the one-process report; a truncated .npy on rank 1 ends
# the job with exit 2, that rank's one-line reason on stderr and nothing written; a rank killed mid-run
# (HYQUANT_TEST_KILL_RANK) ends the job non-zero within a bounded time. SKIPPED without mpirun or an MPI build.
set -euo pipefail
hq="$1"; src="$2"
if ! command -v mpirun >/dev/null 2>&1; then echo "SKIPPED: mpirun not found (Debian: openmpi-bin)"; exit 0; fi
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
mpi() { local np=$1; shift; mpirun --allow-run-as-root --oversubscribe -np "$np" "$@"; }
model="$src/models/ppocr_mobile_v2_cls.onnx"
pre=(--size 48x192 --keep-aspect --pad-value 0 --mean 127.5 --std 127.5)
calib="$src/models/textlines/calib"
mpi 2 "$hq" calibrate "$model" --data "$calib" -o "$t/probe.json" --samples 2 "${pre[@]}" 2>"$t/probe.err" ||
    { cat "$t/probe.err"; exit 1; }
if grep -q "built without MPI" "$t/probe.err"; then echo "SKIPPED: this hyquant was built without MPI"; exit 0; fi

strip() { grep -v -e '^  "ranks": ' -e '^  "rank_samples": ' "$1"; }
for method in minmax percentile entropy mse; do
    "$hq" calibrate "$model" --data "$calib" -o "$t/one_$method.json" --method "$method" --threads 1 -q "${pre[@]}"
    for np in 2 3; do
        mpi "$np" "$hq" calibrate "$model" --data "$calib" -o "$t/mpi${np}_$method.json" --method "$method" \
            --threads 1 -q "${pre[@]}"
        cmp <(strip "$t/one_$method.json") <(strip "$t/mpi${np}_$method.json") ||
            { echo "$method: the table of $np ranks differs from one process"; exit 1; }
    done
done
/usr/bin/python3 - "$t" <<'PY'
import json, sys
t = sys.argv[1]
one = json.load(open(f"{t}/one_entropy.json"))
assert "ranks" not in one and len(one["sample_digests"]) == 48
for np_, shares in ((2, [[0, 24], [24, 48]]), (3, [[0, 16], [16, 32], [32, 48]])):
    m = json.load(open(f"{t}/mpi{np_}_entropy.json"))
    assert m["ranks"] == np_ and m["rank_samples"] == shares, (m["ranks"], m["rank_samples"])
    assert m["sample_digests"] == one["sample_digests"] and m["samples"] == 48
print("mpi calibrate: tables equal one process for all four methods, on 2 and 3 ranks")
PY
# only rank 0 prints: one summary line
mpi 3 "$hq" calibrate "$model" --data "$calib" -o "$t/log.json" "${pre[@]}" 2>"$t/log.err"
[ "$(grep -c '^info: calibrated' "$t/log.err")" = 1 ] && grep -q 'on 3 ranks' "$t/log.err" ||
    { echo "expected one summary line from rank 0"; cat "$t/log.err"; exit 1; }

# evaluate: the JSON report of 2 and 3 ranks equals one process's
"$hq" quantize "$model" -o "$t/int8.onnx" --data "$calib" "${pre[@]}" -q
labels="$src/models/textlines/eval_labels.txt"
ev=("$model" "$t/int8.onnx" --data "$src/models/textlines/eval" --labels "$labels" --layer-samples 30 "${pre[@]}" -q)
"$hq" evaluate "${ev[@]}" --report "$t/ev1.json" --threads 1
for np in 2 3; do
    mpi "$np" "$hq" evaluate "${ev[@]}" --report "$t/ev$np.json" --threads 1 --json > "$t/ev$np.stdout"
done
/usr/bin/python3 - "$t" <<'PY'
import json, sys
t = sys.argv[1]
def load(p):
    j = json.load(open(p))
    j.pop("command", None)  # provenance
    return j
one = load(f"{t}/ev1.json")
for np_ in (2, 3):
    assert load(f"{t}/ev{np_}.json") == one, f"evaluate report of {np_} ranks differs from one process"
    json.load(open(f"{t}/ev{np_}.stdout"))  # rank 0 alone prints the --json summary
print("mpi evaluate: reports equal one process on 2 and 3 ranks")
PY

# a corrupt sample on rank 1 (sorted index 30 of 48: rank 1's block on 2 ranks): exit 2, its reason, nothing written
"$hq" infer "$model" --data "$calib" "${pre[@]}" -o "$t/unused" --save-inputs "$t/npy" -q
bad=$(ls -d "$t/npy"/*/ | sort | sed -n 31p)  # one folder per sample: NAME/x.npy
bad=$(ls "$bad"*.npy | head -1)
head -c 100 "$bad" > "$t/cut" && mv "$t/cut" "$bad"
set +e
timeout 120 mpirun --allow-run-as-root --oversubscribe -np 2 "$hq" calibrate "$model" --data "$t/npy" \
    -o "$t/bad.json" -q 2>"$t/err"; rc=$?
set -e
[ "$rc" = 2 ] && [ ! -e "$t/bad.json" ] && [ "$(grep -c '^error:' "$t/err")" = 1 ] &&
    grep -q "^error: rank 1: .*$(basename "$(dirname "$bad")")" "$t/err" ||
    { echo "corrupt sample on rank 1: rc=$rc"; cat "$t/err"; exit 1; }
set +e
timeout 120 mpirun --allow-run-as-root --oversubscribe -np 3 "$hq" evaluate "$model" "$t/int8.onnx" --data "$t/npy" \
    --report "$t/bad_ev.json" -q 2>"$t/err"; rc=$?
set -e
[ "$rc" = 2 ] && [ ! -e "$t/bad_ev.json" ] && grep -q "^error: rank 1: " "$t/err" ||
    { echo "evaluate, corrupt sample on rank 1: rc=$rc"; cat "$t/err"; exit 1; }

# rank 1 killed after its 3rd sample: the job ends non-zero, well within the bound, nothing written
for cmd in calibrate evaluate; do
    if [ $cmd = calibrate ]; then args=("$model" --data "$calib" -o "$t/killed.json"); out="$t/killed.json"
    else args=("$model" "$t/int8.onnx" --data "$calib" --report "$t/killed_ev.json"); out="$t/killed_ev.json"; fi
    start=$(date +%s)
    set +e
    HYQUANT_TEST_KILL_RANK=1:3 HYQUANT_MPI_TIMEOUT=20 timeout 90 mpirun --allow-run-as-root --oversubscribe \
        -x HYQUANT_TEST_KILL_RANK -x HYQUANT_MPI_TIMEOUT -np 2 "$hq" $cmd "${args[@]}" "${pre[@]}" -q 2>"$t/err"; rc=$?
    set -e
    took=$(( $(date +%s) - start ))
    [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ ! -e "$out" ] ||
        { echo "$cmd, rank 1 killed: rc=$rc after ${took}s"; cat "$t/err"; exit 1; }
    echo "mpi $cmd: rank 1 killed -> job ended with rc=$rc after ${took}s"
done
echo "mpi ok"

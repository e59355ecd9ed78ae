# Shared by the real-model e2e tests (sourced, not a test itself): they set hq, src, py, t and call these.
realm() { "$py" -W ignore "$src/scripts/real_models.py" "$@"; }

# family_check NAME MODEL DATA MIN_COS PATTERN: inspect exits 0 and prints a line matching PATTERN; infer matches
# ONNX Runtime (cosine >= MIN_COS per output and sample); quantize (default target, guard on) meets the guard and
# writes $t/q_NAME.onnx, which runs in ONNX Runtime on DATA.
family_check() {
    local name=$1 model=$2 data=$3 mincos=$4 pattern=$5
    "$hq" inspect "$model" > "$t/$name.inspect"
    grep -q "$pattern" "$t/$name.inspect" || { echo "inspect $name: no line matching '$pattern'"; return 1; }
    "$hq" infer "$model" --data "$data" -o "$t/out_$name" -q
    realm compare "$model" "$data" "$t/out_$name" --min-cos "$mincos"
    "$hq" quantize "$model" -o "$t/q_$name.onnx" --data "$data" --json -q > "$t/q_$name.json"
    "$py" -c "import json,sys; g=json.load(open(sys.argv[1]))['guard']; print(sys.argv[2], 'quantized: guard', g); assert g['met']" \
        "$t/q_$name.json" "$name"
    realm ort-run "$t/q_$name.onnx" "$data"
}

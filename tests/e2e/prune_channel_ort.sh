#!/usr/bin/env bash
# Channel pruning checked in ONNX Runtime (npm onnxruntime-node): generated graphs (Conv/BN, residual Add,
# Concat + BN, depthwise with and without a channel multiplier, GAP/Flatten -> Gemm, Resize + MaxPool) and the
# bundled PP-OCR classifier are pruned with --pattern channel; the masked reference (the original with the
# removed channels' filters, biases and BatchNorm scale/bias zeroed, built by scripts/gen_prune_models.py from
# the report's removed_channels) and the pruned model give the same outputs in ORT. Also: same flags give a
# byte-identical model, the written plan re-applies to the same model, bad plans are exit 2 with nothing
# written, --scope global works, and --eval-data reports the accuracy of the pruned model. With --data (bias
# compensation, activation criterion) the PP-OCR model runs in ORT and ORT agrees with hyquant's executor.
set -euo pipefail
hq="$1"; src="$2"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
py=/usr/bin/python3
gen="$src/scripts/gen_prune_models.py"
bash "$src/scripts/ort/setup.sh" >/dev/null
ort() { node "$src/scripts/ort/run.js" "$1" --data "$2" -o "$3" --overwrite >/dev/null; }
names=(conv_bn residual concat depthwise depthwise_x2 gap_gemm flatten_gemm resize_pool)

$py "$gen" models "$t/gen" --samples 2 >/dev/null
mkdir -p "$t/out"
for name in "${names[@]}"; do
    "$hq" prune "$t/gen/$name.onnx" -o "$t/$name.pruned.onnx" --pattern channel --sparsity 0.5 --include-ends \
        --report "$t/$name.json" -q
    $py "$gen" mask "$t/gen/$name.onnx" "$t/$name.json" "$t/$name.masked.onnx" >/dev/null
    ort "$t/$name.masked.onnx" "$t/gen/${name}_data" "$t/out/$name.masked"
    ort "$t/$name.pruned.onnx" "$t/gen/${name}_data" "$t/out/$name.pruned" ||
        { echo "ONNX Runtime could not run the pruned $name"; exit 1; }
done

# The bundled model: layer scope (+ plan, determinism), global scope, masked reference on the reference inputs.
model="$src/models/ppocr_mobile_v2_cls.onnx"
pre=(--size 48x192 --keep-aspect --pad-value 0 --mean 127.5 --std 127.5)
pp() { "$hq" prune "$model" -o "$t/pp.onnx" --pattern channel --sparsity 0.25 --report "$t/pp.json" \
    --report "$t/pp.md" --plan-out "$t/pp.plan.json" -q; }
pp; cp "$t/pp.onnx" "$t/pp_first.onnx"; pp
cmp "$t/pp.onnx" "$t/pp_first.onnx" || { echo "two runs gave different models"; exit 1; }
"$hq" prune "$model" -o "$t/pp_plan.onnx" --plan "$t/pp.plan.json" --sparsity 0.9 -q
"$hq" prune "$model" -o "$t/pp_l2.onnx" --pattern channel --sparsity 0.25 --criterion l2 --channel-multiple 4 \
    --report "$t/pp_l2.json" -q
"$hq" prune "$model" -o "$t/pp_g.onnx" --pattern channel --sparsity 0.25 --scope global --min-keep 0.25 \
    --report "$t/pp_g.json" -q
mkdir -p "$t/eval"
ls "$src/models/textlines/eval" | head -8 | while read -r f; do cp "$src/models/textlines/eval/$f" "$t/eval/"; done
"$hq" prune "$model" -o "$t/pp_eval.onnx" --pattern channel --sparsity 0.1 --report "$t/pp_eval.json" \
    --eval-data "$t/eval" --labels "$src/models/textlines/eval_labels.txt" --samples 8 "${pre[@]}" -q
"$hq" prune "$model" -o "$t/pp_comp.onnx" --pattern channel --sparsity 0.25 --data "$src/models/textlines/calib" --no-reconstruct \
    --samples 16 --report "$t/pp_comp.json" "${pre[@]}" -q
"$hq" infer "$t/pp_comp.onnx" --data "$src/models/ppocr_cls_reference/inputs" -o "$t/out/pp_comp.hq" -q
$py "$gen" mask "$model" "$t/pp.json" "$t/pp.masked.onnx" >/dev/null
for m in pp pp_l2 pp_g pp_comp; do
    ort "$t/$m.onnx" "$src/models/ppocr_cls_reference/inputs" "$t/out/$m.pruned" ||
        { echo "ONNX Runtime could not run $m.onnx"; exit 1; }
done
ort "$t/pp.masked.onnx" "$src/models/ppocr_cls_reference/inputs" "$t/out/pp.masked"

# Bad plans and options: exit 2, nothing written.
echo '{"schema": 1, "layers": [{"node": "no_such_node", "pattern": "channel", "sparsity": 0.5}]}' > "$t/bad_node.json"
echo '{"schema": 1, "layers": [{"node": "p2o.Conv.1", "sparsity": 2}]}' > "$t/bad_sparsity.json"
for args in "--plan $t/bad_node.json" "--plan $t/bad_sparsity.json" "--pattern channel --sparsity 1" \
            "--pattern channel --criterion l3" "--pattern channel --channel-multiple 0" \
            "--plan $t/pp.plan.json --scope global" "--pattern channel --criterion activation" \
            "--data $src/models/textlines/calib --no-reconstruct"; do
    set +e
    # shellcheck disable=SC2086
    "$hq" prune "$model" -o "$t/bad.onnx" $args -q 2>"$t/err.txt"; rc=$?
    set -e
    [ "$rc" = 2 ] || { echo "expected exit 2 for '$args', got $rc"; cat "$t/err.txt"; exit 1; }
    [ ! -e "$t/bad.onnx" ] || { echo "bad.onnx left behind for '$args'"; exit 1; }
done
grep -q "no_such_node" <("$hq" prune "$model" -o "$t/bad.onnx" --plan "$t/bad_node.json" 2>&1 || true)

$py - "$t" "$model" "${names[@]}" <<'PY'
import glob, json, os, sys
import numpy as np, onnx
t, model, names = sys.argv[1], sys.argv[2], sys.argv[3:]

def outputs(d):
    return {os.path.relpath(f, d): np.load(f) for f in sorted(glob.glob(f"{d}/*/*.npy"))}

def compare(a_dir, b_dir, what, tol=1e-4):
    a, b = outputs(a_dir), outputs(b_dir)
    assert a and a.keys() == b.keys(), (what, a.keys(), b.keys())
    worst = 0.0
    for k in a:
        assert a[k].shape == b[k].shape, (what, k, a[k].shape, b[k].shape)
        scale = max(1.0, float(np.abs(a[k]).max()))
        worst = max(worst, float(np.abs(a[k] - b[k]).max()) / scale)
    assert worst <= tol, f"{what}: pruned and masked differ by {worst:.3g} (relative to the output scale)"
    return worst

def io_shapes(m):
    dims = lambda v: [d.dim_value if d.HasField("dim_value") else d.dim_param for d in v.type.tensor_type.shape.dim]
    return [(v.name, dims(v)) for v in m.graph.input], [(v.name, dims(v)) for v in m.graph.output]

def params(m):
    n = sum(int(np.prod(i.dims)) for i in m.graph.initializer)
    for node in m.graph.node:
        if node.op_type == "Constant":
            n += int(np.prod(node.attribute[0].t.dims))
    return n

expect = {"conv_bn": ["c0", "c1"], "residual": ["c0", "c1", "c2"], "concat": ["ca", "cb"],
          "depthwise": ["c0", "dw"], "depthwise_x2": ["c0", "dw"], "gap_gemm": ["c0"], "flatten_gemm": ["c0"],
          "resize_pool": ["c0", "c1"]}
for name in names:
    r = json.load(open(f"{t}/{name}.json"))
    pruned = {l["node"] for l in r["layers"] if l["removed_channels"]}
    assert pruned == set(expect[name]), (name, pruned)
    for l in r["layers"]:
        if l["skipped_reason"] is not None:
            assert not l["removed_channels"] and l["channels_after"] == l["channels_before"], (name, l)
        else:
            assert l["channels_after"] + len(l["removed_channels"]) == l["channels_before"], (name, l)
    orig, pm = onnx.load(f"{t}/gen/{name}.onnx"), onnx.load(f"{t}/{name}.pruned.onnx")
    onnx.checker.check_model(pm, full_check=True)
    assert io_shapes(orig) == io_shapes(pm), (name, io_shapes(orig), io_shapes(pm))
    assert params(pm) < params(orig) and r["parameters_total_after"] < r["parameters_total"], name
    assert r["macs_after"] < r["macs_before"], (name, r["macs_before"], r["macs_after"])
    w = compare(f"{t}/out/{name}.masked", f"{t}/out/{name}.pruned", name)
    print(f"{name}: pruned == masked in ORT (worst {w:.2g}); layers pruned {sorted(pruned)}")
r = json.load(open(f"{t}/concat.json"))
assert any(n.op_type == "BatchNormalization" for n in onnx.load(f"{t}/concat.pruned.onnx").graph.node)

# PP-OCR
ref, pm = onnx.load(model), onnx.load(f"{t}/pp.onnx")
assert io_shapes(ref)[0] == io_shapes(pm)[0] and [n for n, _ in io_shapes(ref)[1]] == [n for n, _ in io_shapes(pm)[1]]
meta = {p.key: p.value for p in pm.metadata_props}
assert json.loads(meta["hyquant_prune"])["pattern"] == "channel", meta
for name in ("pp", "pp_l2", "pp_g"):
    r = json.load(open(f"{t}/{name}.json"))
    assert r["kind"] == "prune" and r["pattern"] == "channel", r
    pruned = [l for l in r["layers"] if l["skipped_reason"] is None]
    skipped = {l["node"]: l["skipped_reason"] for l in r["layers"] if l["skipped_reason"]}
    assert len(pruned) > 40 and "p2o.Conv.0" in skipped and "p2o.MatMul.0" in skipped, skipped
    assert r["parameters_total_after"] < 0.8 * r["parameters_total"], name
    assert r["size_bytes"]["output"] < r["size_bytes"]["input"], name
    if name == "pp_l2":
        for l in pruned:
            if not l["tied_to"] and l["channels_before"] >= 4 and l["op_type"] == "Conv":
                assert l["channels_after"] % 4 == 0 or l["channels_after"] == l["channels_before"], l
    print(f"{name}: {len(pruned)} layers pruned, {len(skipped)} skipped, parameters "
          f"{r['parameters_total']} -> {r['parameters_total_after']}, bytes {r['size_bytes']['input']} -> "
          f"{r['size_bytes']['output']}")
w = compare(f"{t}/out/pp.masked", f"{t}/out/pp.pruned", "ppocr")
print(f"ppocr: pruned == masked in ORT (worst {w:.2g})")
assert pm.graph == onnx.load(f"{t}/pp_plan.onnx").graph, "re-applying the written plan gave a different graph"
plan = json.load(open(f"{t}/pp.plan.json"))
assert plan["schema"] == 1 and len(plan["layers"]) == len(json.load(open(f"{t}/pp.json"))["layers"])
c = json.load(open(f"{t}/pp_comp.json"))
comp = c["compensation"]
assert comp["enabled"] and comp["samples"] == 16 and c["criterion"] == "activation", comp
lost = [l for l in c["layers"] if l["input_channels_removed"] > 0]
assert len(lost) > 30 and comp["layers_compensated"] == len(lost), comp
assert all(l["compensated"] for l in lost), [l["node"] for l in lost if not l["compensated"]]
assert sum(l["bias_change"] > 0 for l in lost) > 20, lost  # 0 where only dead (always 0) channels were removed
meta = {p.key: p.value for p in onnx.load(f"{t}/pp_comp.onnx").metadata_props}
assert json.loads(meta["hyquant_prune"])["bias_compensation"] is True, meta
onnx.checker.check_model(onnx.load(f"{t}/pp_comp.onnx"), full_check=True)
w = compare(f"{t}/out/pp_comp.hq", f"{t}/out/pp_comp.pruned", "ppocr compensated: ORT vs hyquant")
print(f"ppocr 0.25 compensated: {comp['layers_compensated']} layers compensated; ORT == hyquant (worst {w:.2g})")
e = json.load(open(f"{t}/pp_eval.json"))
acc = e["accuracy"]
assert acc["samples"] == 8 and acc["outputs"][0]["name"] == "softmax_0.tmp_0", acc
assert acc["accuracy"]["reference"] is not None and acc["accuracy"]["candidate"] is not None, acc
print(f"ppocr 0.1 channel: accuracy {acc['accuracy']['reference']} -> {acc['accuracy']['candidate']} on 8 images")
PY
echo "prune channel ORT e2e ok"

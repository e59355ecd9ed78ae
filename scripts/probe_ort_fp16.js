#!/usr/bin/env node
// Which ops does ONNX Runtime's CPU execution provider run in float16? Builds one tiny float16 model per
// candidate op (scripts/ort_probe/make_models.py, Debian python3-onnx), loads each in onnxruntime-node
// (the CPU build), runs it on random inputs, and looks at the optimized graph ORT saves: when the CPU EP
// has no float16 kernel for a node, ORT's InsertCastTransformer wraps it in Casts named
// "InsertedPrecisionFreeCast_*" and runs it in float32.
//
//   (cd scripts/ort_probe && ONNXRUNTIME_NODE_INSTALL=skip npm install)   # once
//   node scripts/probe_ort_fp16.js [--opsets 13,21] [--json]
//
// Result per op and opset: "native" (float16 kernel), "fallback" (runs, but in float32 between inserted
// Casts), "fails: <message>" (session creation or run failed), "bad-output" (non-finite output).
// hyquant's FP16 rewrite hard-codes the result (lib/quant/fp16_rewrite.cpp).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const here = path.join(__dirname, 'ort_probe');
const ort = require(path.join(here, 'node_modules', 'onnxruntime-node'));
const PY = '/usr/bin/python3';

function halfBits(f) {  // float32 -> IEEE half bits (round to nearest, inputs are small normals)
  const b = new DataView(new ArrayBuffer(4));
  b.setFloat32(0, f);
  const x = b.getUint32(0);
  const sign = (x >>> 16) & 0x8000;
  const e = ((x >>> 23) & 0xff) - 127 + 15;
  if (e <= 0) return sign;
  return sign | (e << 10) | ((x >>> 13) & 0x3ff);
}
function halfToFloat(h) {
  const e = (h >> 10) & 0x1f, m = h & 0x3ff, s = h & 0x8000 ? -1 : 1;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function makeInput(spec, seed) {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  let r = seed >>> 0;
  const rnd = () => ((r = (r * 1664525 + 1013904223) >>> 0) / 4294967296) * 2 - 1;
  if (spec.dtype === 'float16') {
    const a = new Uint16Array(n);
    for (let i = 0; i < n; ++i) a[i] = halfBits(rnd());
    return new ort.Tensor('float16', a, spec.shape);
  }
  if (spec.dtype === 'float32') return new ort.Tensor('float32', Float32Array.from({ length: n }, rnd), spec.shape);
  throw new Error(`unsupported input dtype ${spec.dtype}`);
}

function finite(t) {
  if (t.type === 'float16') {
    for (const h of t.data) if (!Number.isFinite(halfToFloat(h))) return false;
  } else if (t.type === 'float32') {
    for (const v of t.data) if (!Number.isFinite(v)) return false;
  }
  return true;
}

async function probe(opset, work) {
  const dir = path.join(work, `m${opset}`);
  execFileSync(PY, [path.join(here, 'make_models.py'), dir, String(opset)]);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const results = [];
  for (const c of manifest) {
    const opt = path.join(dir, `opt_${c.file}`);
    const res = { op: c.op, opset: c.opset, status: null };
    try {
      const s = await ort.InferenceSession.create(path.join(dir, c.file), {
        executionProviders: ['cpu'], graphOptimizationLevel: 'disabled', optimizedModelFilePath: opt,
        intraOpNumThreads: 1, logSeverityLevel: 3,
      });
      const feeds = {};
      c.inputs.forEach((spec, k) => { feeds[spec.name] = makeInput(spec, 17 + k); });
      const out = await s.run(feeds);
      res.status = Object.values(out).every(finite) ? 'ok' : 'bad-output';
      res.opt = opt;
      await s.release();
    } catch (e) {
      res.status = `fails: ${String(e.message || e).split('\n')[0].slice(0, 200)}`;
    }
    results.push(res);
  }
  // Inserted Casts in the graphs ORT saved: which nodes it moved to float32.
  const opts = results.filter((r) => r.opt).map((r) => r.opt);
  const casts = JSON.parse(execFileSync(PY, ['-c', `
import json, sys, onnx
r = {}
for f in sys.argv[1:]:
    g = onnx.load(f).graph
    r[f] = sum(1 for n in g.node if n.name.startswith('InsertedPrecisionFreeCast'))
print(json.dumps(r))`, ...opts]).toString());
  for (const r of results) {
    if (r.status !== 'ok') continue;
    r.status = casts[r.opt] > 0 ? 'fallback' : 'native';
    delete r.opt;
  }
  for (const r of results) delete r.opt;
  return results;
}

(async () => {
  const args = process.argv.slice(2);
  let opsets = [13, 21];
  const json = args.includes('--json');
  const oi = args.indexOf('--opsets');
  if (oi >= 0) opsets = args[oi + 1].split(',').map(Number);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hq-ort-fp16-'));
  const all = [];
  try {
    for (const o of opsets) all.push(...(await probe(o, work)));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const version = ort.env.versions.node || ort.env.versions.common;
  if (json) {
    process.stdout.write(JSON.stringify({ ort_version: version, results: all }, null, 1) + '\n');
    return;
  }
  console.log(`onnxruntime-node ${version}, CPU execution provider, float16 models`);
  for (const r of all) console.log(`${r.op.padEnd(24)} opset ${String(r.opset).padEnd(3)} ${r.status}`);
  for (const st of ['native', 'fallback']) {
    for (const o of opsets) {
      const ops = [...new Set(all.filter((r) => r.status === st && r.opset >= o && (r.opset === o || !all.some(
        (q) => q.op === r.op && q.opset === o))).map((r) => r.op))].sort();
      console.log(`\n${st} (opset ${o}): ${ops.join(' ')}`);
    }
  }
})().catch((e) => {
  process.stderr.write(`error: ${e.stack || e}\n`);
  process.exit(1);
});

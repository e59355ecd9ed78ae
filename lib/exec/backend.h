// Backend: one small interface a device implements (ggml-style); the CPU backend is the reference.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "exec/kernel.h"

namespace hq::exec {

// Calibration statistics of one float32 tensor (min/max over its finite values).
struct TensorStats {
    float min = 0, max = 0;
    uint64_t finite = 0, nan = 0, inf = 0;
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string name() const = 0;
    // "" when the node can run here, else why not (unknown op, opset, attribute value).
    virtual std::string supports(const graph::Node& n, int64_t opset) const = 0;
    // Runs one node; inputs and outputs are host tensors.
    virtual void run(KernelContext& ctx) const = 0;
    // The kernel run() would call for n, resolved once by the executor; nullptr: the executor calls run().
    virtual KernelFn kernel_for(const graph::Node& n, int64_t opset) const { return nullptr; }
    // Whether the executor hands Conv nodes fused epilogues (KernelContext::post_ops, graph/fusion.h).
    virtual bool fuses() const { return false; }
    // A tensor stored channel-blocked (KernelContext::out_blocked) in plain row-major layout.
    virtual Tensor unblocked(const Tensor& t) const { return t; }

    // Calibration statistics computed where the tensor lives (a device backend that still holds a
    // copy of a tensor it produced). Both return false when this backend does not compute them (the
    // CPU backend): the caller then computes them on the host. Results must equal the host's exactly.
    // tensor_stats: min/max over the finite values, counts of finite, NaN and +-Inf values.
    virtual bool tensor_stats(const Tensor& t, TensorStats& s) const { return false; }
    // Adds every finite value x of `t` to bins[8192] over [-2^exponent, 2^exponent):
    // bin = 4096 + floor(x * 2^(12 - exponent)) computed without rounding (the rule of
    // calib/histogram.cpp fill(); the caller guarantees the range covers every finite value).
    virtual bool tensor_histogram(const Tensor& t, int exponent, uint64_t* bins) const { return false; }

    // One line on the work done so far, for the log (device nodes, CPU fallbacks, bytes copied); "" for the CPU.
    virtual std::string summary() const { return ""; }
};

}  // namespace hq::exec

// What a device op handler (ops_*.cpp) sees of the HIP backend while it maps one node onto kernels, and the
// registration of handlers. A handler first decides from the node, its attributes and the host input tensors
// whether it handles the node exactly as the CPU executor would; if not it returns false before asking for
// any output, and the node runs on the CPU. Then it takes device inputs, allocates device outputs, launches
// kernels on stream() and returns true; the backend downloads the outputs into host tensors afterwards.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "exec/hip/kernels.h"
#include "exec/kernel.h"

namespace hq::exec::hip {

class OpEnv {
public:
    virtual ~OpEnv() = default;
    KernelContext& ctx;
    explicit OpEnv(KernelContext& c) : ctx(c) {}

    const graph::Node& node() const { return ctx.node; }
    int64_t opset() const { return ctx.opset; }
    virtual hipStream_t stream() const = 0;

    // Device copy of input i (a cache hit, or an upload now).
    virtual const void* in(size_t i) = 0;
    // Device output i of dtype `dt` and shape `s` (uninitialized); downloaded into ctx.outputs[i] after the
    // handler returns.
    virtual void* out(size_t i, DType dt, const Shape& s) = 0;
    // Device memory for this node only (uninitialized).
    virtual void* scratch(size_t bytes) = 0;
    // `bytes` of host data uploaded for this node only.
    virtual const void* upload(const void* host, size_t bytes) = 0;
    // Host data derived from the tensors `from` (parameters converted, expanded, combined), uploaded once and
    // reused while those tensors are alive and unchanged; `tag` names the derivation and its attributes.
    virtual const void* derived(const std::vector<const Tensor*>& from, const std::string& tag, const void* host,
                                size_t bytes) = 0;
    // True when derived(from, tag, ...) would hit (lets a handler skip building the host data).
    virtual const void* derived_hit(const std::vector<const Tensor*>& from, const std::string& tag) = 0;

    template <typename T>
    const T* upload_vec(const std::vector<T>& v) {
        return static_cast<const T*>(upload(v.data(), v.size() * sizeof(T)));
    }
};

using OpFn = bool (*)(OpEnv&);
using OpTable = std::map<std::string, OpFn>;

// Registration of the device handlers, one function per file (ai.onnx domain).
void register_math_ops(OpTable& t);  // ops_math.cpp: elementwise, activations, Cast, Where, BatchNorm, Q/DQ
void register_nn_ops(OpTable& t);    // ops_nn.cpp: Conv, Gemm, MatMul, pooling, Softmax, Reduce*, norms
void register_data_ops(OpTable& t);  // ops_data.cpp: Transpose, Slice, Concat, Split, Gather, Expand, Tile, Resize

}  // namespace hq::exec::hip

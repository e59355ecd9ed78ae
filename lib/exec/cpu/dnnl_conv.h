// oneDNN float32 convolution with fused post-ops: the one door to oneDNN (dnnl_conv.cpp is the only includer
// of its headers). Primitives are created once per geometry + post-ops and cached; weights of initializers are
// reordered once per storage (kept while that storage lives). oneDNN's reference implementations are refused:
// the caller then runs its own im2col + OpenBLAS kernel.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/fusion.h"

namespace hq::exec::cpu {

// Conv geometry: nsp spatial dims (1..3), stored in the last nsp of three slots (leading slots are 1 / 0).
struct DnnlConvGeom {
    int64_t nsp = 0, N = 0, C = 0, M = 0, groups = 1;
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
    bool src_blocked = false, dst_blocked = false;  // x / y (and the sum operand in y) channel-blocked (2-D only)
};

// Channels per block of the blocked layout (nChw16c or nChw8c): 16 where oneDNN runs AVX-512 kernels, 8 otherwise
// (its AVX2 / SSE4.1 jit convolutions take nChw8c only). HQ_DNNL_BLOCK=8|16 overrides it (read once).
int dnnl_block();
// Layout conversions between plain NCHW and dnnl_block()-channel blocks (C % dnnl_block() == 0, same element count).
Tensor blocked_to_plain(const Tensor& t);
Tensor plain_to_blocked(const Tensor& t);

// False when HQ_CPU_REFERENCE=1 (the OpenBLAS reference path only, no fusion).
bool dnnl_enabled();
// Overrides HQ_CPU_REFERENCE for this process (tests run both paths); executors made afterwards see it.
void dnnl_set_enabled(bool on);

// Convs whose channels do not fill whole channel blocks and that have fewer multiply-accumulates run on the
// reference kernels (with the fused epilogue applied there): below it oneDNN's per-call cost (padded layout
// reorders in and out) outweighs its faster arithmetic. Convs with channels in whole blocks always go to oneDNN
// (measured: MTCNN O-Net's 0.3-2.4M MAC convs 5x faster there once tensors stay blocked between them).
// Default 3,000,000; HQ_DNNL_MIN_MACS=N overrides it.
int64_t dnnl_min_macs();
void dnnl_set_min_macs(int64_t n);  // for tests (0: every float32 conv through oneDNN)

// y = ops(conv(x, w) + bias), where an Add op adds y's prior content (the caller stores the operand in y first).
// `w_owner`: the weight's storage when the weight is an initializer (its reordered copy is cached), else nullptr
// (reordered on every call). Returns false, writing nothing, when oneDNN has only a reference implementation.
bool dnnl_conv_f32(const DnnlConvGeom& g, const float* x, const float* w, const std::shared_ptr<void>* w_owner,
                   const float* bias, float* y, const std::vector<graph::PostOp>& ops);

// How many leading post-ops of `ops` one oneDNN 2.6 primitive applies correctly: its brgconv applies two eltwise
// post-ops of one algorithm with the first one's parameters, so the chain is cut before such a repeat (the rest is
// applied by the caller's epilogue).
size_t dnnl_post_ops_prefix(const std::vector<graph::PostOp>& ops);

// The implementation oneDNN chose for a geometry ("" when refused), for tests and logs.
std::string dnnl_conv_impl(const DnnlConvGeom& g, bool bias, const std::vector<graph::PostOp>& ops);

}  // namespace hq::exec::cpu

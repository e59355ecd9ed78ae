// Device handlers of the compute-heavy ops: Conv (any group, 1-3 spatial dims, pads/strides/dilations/auto_pad),
// Gemm (transA/transB, alpha, beta, broadcast C), MatMul (batched, broadcast, 1-D operands), MaxPool /
// AveragePool / GlobalAveragePool / GlobalMaxPool, Softmax / LogSoftmax / Hardmax, Reduce*,
// LayerNormalization and InstanceNormalization. Geometry and attribute rules are those of lib/exec/cpu/conv.cpp,
// gemm.cpp, pool.cpp, reduce.cpp and norm.cpp; cases they do not cover exactly return false (CPU).
#include <cmath>

#include "exec/hip/ops_common.h"

namespace hq::exec::hip {

namespace {

constexpr int64_t k2G = int64_t(1) << 30;

// --------------------------------------------------------------------------------------------------- Conv

enum class AutoPad { NotSet, SameUpper, SameLower, Valid, Unknown };
AutoPad auto_pad_of(const graph::Node& n) {
    const std::string a = n.attr_string("auto_pad", "NOTSET");
    if (a == "NOTSET") return AutoPad::NotSet;
    if (a == "SAME_UPPER") return AutoPad::SameUpper;
    if (a == "SAME_LOWER") return AutoPad::SameLower;
    if (a == "VALID") return AutoPad::Valid;
    return AutoPad::Unknown;
}

// strides / dilations / pads per spatial dim into the last nsp of three slots (leading ones).
bool window_attrs(const graph::Node& nd, int64_t nsp, int64_t s[3], int64_t d[3], int64_t pb[3], int64_t pe[3]) {
    auto st = nd.attr_ints("strides", std::vector<int64_t>(nsp, 1));
    auto dl = nd.attr_ints("dilations", std::vector<int64_t>(nsp, 1));
    auto pads = nd.attr_ints("pads", std::vector<int64_t>(2 * nsp, 0));
    if ((int64_t)st.size() != nsp || (int64_t)dl.size() != nsp || (int64_t)pads.size() != 2 * nsp) return false;
    for (int64_t i = 0; i < 3; ++i) s[i] = d[i] = 1, pb[i] = pe[i] = 0;
    for (int64_t i = 0; i < nsp; ++i) {
        const int64_t j = 3 - nsp + i;
        if (st[i] < 1 || dl[i] < 1 || pads[i] < 0 || pads[i + nsp] < 0) return false;
        s[j] = st[i], d[j] = dl[i], pb[j] = pads[i], pe[j] = pads[i + nsp];
    }
    return true;
}

bool k_conv(OpEnv& e) {
    const auto& nd = e.node();
    if (!e.ctx.has_input(0) || !e.ctx.has_input(1)) return false;
    const Tensor& x = e.ctx.in(0);
    const Tensor& w = e.ctx.in(1);
    const auto t = ftype_of(x.dtype());
    if (!t || w.dtype() != x.dtype() || x.rank() < 3 || x.rank() > 5 || w.rank() != x.rank()) return false;
    const int64_t groups = nd.attr_int("group", 1), C = x.dim(1), M = w.dim(0);
    if (groups < 1 || C % groups || M % groups || w.dim(1) * groups != C) return false;
    const Tensor* b = e.ctx.has_input(2) ? &e.ctx.in(2) : nullptr;
    if (b && (b->numel() != M || b->dtype() != x.dtype())) return false;
    const AutoPad ap = auto_pad_of(nd);
    if (ap == AutoPad::Unknown) return false;
    k::ConvArgs a;
    a.t = *t;
    a.N = x.dim(0), a.C = C, a.M = M, a.groups = groups;
    const int64_t nsp = x.rank() - 2;
    int64_t pe[3];
    if (!window_attrs(nd, nsp, a.s, a.d, a.pb, pe)) return false;
    const auto ks = nd.attr_ints("kernel_shape");
    if (!ks.empty() && (int64_t)ks.size() != nsp) return false;
    for (int64_t i = 0; i < nsp; ++i) {
        const int64_t j = 3 - nsp + i;
        a.in[j] = x.dim(2 + i);
        a.k[j] = w.dim(2 + i);
        if (!ks.empty() && ks[i] != a.k[j]) return false;
        const int64_t ext = (a.k[j] - 1) * a.d[j] + 1;
        if (ap == AutoPad::SameUpper || ap == AutoPad::SameLower) {
            a.out[j] = (a.in[j] + a.s[j] - 1) / a.s[j];
            const int64_t total = std::max<int64_t>(0, (a.out[j] - 1) * a.s[j] + ext - a.in[j]);
            a.pb[j] = ap == AutoPad::SameUpper ? total / 2 : total - total / 2;
            pe[j] = total - a.pb[j];
        } else {
            if (ap == AutoPad::Valid) a.pb[j] = pe[j] = 0;
            const int64_t span = a.in[j] + a.pb[j] + pe[j] - ext;
            if (span < 0) return false;
            a.out[j] = span / a.s[j] + 1;
        }
        // The kernels decompose indices in 32 bits.
        if (a.in[j] + a.pb[j] + pe[j] + ext >= k2G || a.out[j] * a.s[j] >= k2G) return false;
    }
    const int64_t P = a.out[0] * a.out[1] * a.out[2], K = (C / groups) * a.k[0] * a.k[1] * a.k[2];
    if (P >= k2G || K >= k2G) return false;
    Shape ys = {a.N, M};
    for (int64_t i = 0; i < nsp; ++i) ys.push_back(a.out[3 - nsp + i]);
    a.x = e.in(0);
    a.w = e.in(1);
    a.bias = b ? e.in(2) : nullptr;
    a.y = e.out(0, x.dtype(), ys);
    k::conv(e.stream(), a);
    return true;
}

// ---------------------------------------------------------------------------------------------- Gemm, MatMul

bool k_gemm(OpEnv& e) {
    const auto& nd = e.node();
    const Tensor& A = e.ctx.in(0);
    const Tensor& B = e.ctx.in(1);
    const auto t = ftype_of(A.dtype());
    if (!t || B.dtype() != A.dtype() || A.rank() != 2 || B.rank() != 2) return false;
    const bool ta = nd.attr_int("transA", 0) != 0, tb = nd.attr_int("transB", 0) != 0;
    k::GemmArgs g;
    g.t = *t;
    g.alpha = nd.attr_float("alpha", 1.f);
    g.beta = nd.attr_float("beta", 1.f);
    g.M = ta ? A.dim(1) : A.dim(0);
    g.K = ta ? A.dim(0) : A.dim(1);
    g.N = tb ? B.dim(0) : B.dim(1);
    if ((tb ? B.dim(1) : B.dim(0)) != g.K) return false;
    const Tensor* c = e.ctx.has_input(2) && g.beta != 0.f ? &e.ctx.in(2) : nullptr;
    if (c) {
        if (c->dtype() != A.dtype() || c->rank() > 2) return false;
        const auto bs = try_broadcast(c->shape(), {g.M, g.N});
        if (!bs || *bs != Shape({g.M, g.N})) return false;
        const auto st = broadcast_strides(c->shape(), {g.M, g.N});
        g.bias_sm = st[0], g.bias_sn = st[1];
    }
    g.a_sm = ta ? 1 : A.dim(1), g.a_sk = ta ? A.dim(1) : 1;
    g.b_sk = tb ? 1 : B.dim(1), g.b_sn = tb ? B.dim(1) : 1;
    g.c_sm = g.N;
    g.a = e.in(0);
    g.b = e.in(1);
    g.bias = c ? e.in(2) : nullptr;
    g.c = e.out(0, A.dtype(), {g.M, g.N});
    k::gemm(e.stream(), g);
    return true;
}

bool k_matmul(OpEnv& e) {
    const Tensor& A = e.ctx.in(0);
    const Tensor& B = e.ctx.in(1);
    const auto t = ftype_of(A.dtype());
    if (!t || B.dtype() != A.dtype() || A.rank() < 1 || B.rank() < 1) return false;
    Shape sa = A.shape(), sb = B.shape();
    if (sa.size() == 1) sa.insert(sa.begin(), 1);
    if (sb.size() == 1) sb.push_back(1);
    const int64_t m = sa[sa.size() - 2], kk = sa.back(), n = sb.back();
    if (sb[sb.size() - 2] != kk) return false;
    const Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
    const auto by = try_broadcast(ba, bb);
    if (!by || by->size() > 6) return false;
    Shape ys = *by;
    if (A.rank() > 1) ys.push_back(m);
    if (B.rank() > 1) ys.push_back(n);
    k::GemmArgs g;
    g.t = *t;
    g.M = m, g.N = n, g.K = kk;
    g.a_sm = kk, g.a_sk = 1, g.b_sk = n, g.b_sn = 1, g.c_sm = n, g.c_bs = m * n;
    // Batch strides of A and B (contiguous [batch..., rows, cols]) broadcast to the output batch.
    auto batch_strides = [&](const Shape& bs, int64_t mat) {
        std::vector<int64_t> s(by->size(), 0);
        int64_t st = mat;
        for (size_t d = bs.size(); d-- > 0;) {
            s[by->size() - bs.size() + d] = bs[d] == 1 ? 0 : st;
            st *= bs[d];
        }
        return s;
    };
    const auto sta = batch_strides(ba, m * kk), stb = batch_strides(bb, kk * n);
    g.nbatch = (int)by->size();
    for (int d = 0; d < g.nbatch; ++d) g.batch_size[d] = (*by)[d], g.batch_a[d] = sta[d], g.batch_b[d] = stb[d];
    g.a = e.in(0);
    g.b = e.in(1);
    g.c = e.out(0, A.dtype(), ys);
    k::gemm(e.stream(), g);
    return true;
}

// --------------------------------------------------------------------------------------------------- pooling

bool k_pool(OpEnv& e, bool max) {
    const auto& nd = e.node();
    if (max && e.ctx.wants_output(1)) return false;  // Indices: CPU
    const Tensor& x = e.ctx.in(0);
    const auto t = ftype_of(x.dtype());
    const auto ks = nd.attr_ints("kernel_shape");
    const int64_t nsp = x.rank() - 2;
    if (!t || nsp < 1 || nsp > 3 || (int64_t)ks.size() != nsp) return false;
    const std::string ap = nd.attr_string("auto_pad", "NOTSET");
    if (ap != "NOTSET" && ap != "SAME_UPPER" && ap != "SAME_LOWER" && ap != "VALID") return false;
    const bool ceil_mode = nd.attr_int("ceil_mode", 0) != 0;
    k::PoolArgs a;
    a.mode = max ? 0 : (nd.attr_int("count_include_pad", 0) != 0 ? 2 : 1);
    a.planes = x.dim(0) * x.dim(1);
    if (!window_attrs(nd, nsp, a.s, a.d, a.pb, a.pe)) return false;
    for (int64_t i = 0; i < nsp; ++i) {
        const int64_t j = 3 - nsp + i;
        if (ks[i] < 1) return false;
        a.in[j] = x.dim(2 + i);
        a.k[j] = ks[i];
        const int64_t ext = (a.k[j] - 1) * a.d[j] + 1;
        if (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
            a.out[j] = (a.in[j] + a.s[j] - 1) / a.s[j];
            const int64_t total = std::max<int64_t>(0, (a.out[j] - 1) * a.s[j] + ext - a.in[j]);
            a.pb[j] = ap == "SAME_UPPER" ? total / 2 : total - total / 2;
            a.pe[j] = total - a.pb[j];
            continue;
        }
        if (ap == "VALID") a.pb[j] = a.pe[j] = 0;
        const int64_t span = a.in[j] + a.pb[j] + a.pe[j] - ext;
        if (span < 0) return false;
        a.out[j] = (ceil_mode ? (span + a.s[j] - 1) / a.s[j] : span / a.s[j]) + 1;
        if (ceil_mode && (a.out[j] - 1) * a.s[j] >= a.in[j] + a.pb[j]) --a.out[j];
    }
    Shape ys = {x.dim(0), x.dim(1)};
    for (int64_t i = 0; i < nsp; ++i) ys.push_back(a.out[3 - nsp + i]);
    const void* px = e.in(0);
    k::pool(e.stream(), *t, px, e.out(0, x.dtype(), ys), a);
    return true;
}

bool k_global_pool(OpEnv& e, bool max) {
    const Tensor& x = e.ctx.in(0);
    const auto t = ftype_of(x.dtype());
    if (!t || x.rank() < 3) return false;
    Shape ys = {x.dim(0), x.dim(1)};
    ys.resize(x.rank(), 1);
    const int64_t planes = x.dim(0) * x.dim(1);
    const void* px = e.in(0);
    k::global_pool(e.stream(), max, *t, px, e.out(0, x.dtype(), ys), planes, x.numel() / std::max<int64_t>(planes, 1));
    return true;
}

// ------------------------------------------------------------------------------------------- softmax, reduce

bool k_softmax(OpEnv& e, int mode) {
    const Tensor& x = e.ctx.in(0);
    const auto t = ftype_of(x.dtype());
    if (!t) return false;
    const int64_t r = x.rank();
    const bool old = e.opset() < 13;
    const auto axis = norm_axis(e.node().attr_int("axis", old ? 1 : -1), std::max<int64_t>(r, 1));
    if (!axis) return false;
    const int64_t outer = prod(x.shape(), 0, std::min(*axis, r));
    const int64_t n = old ? prod(x.shape(), std::min(*axis, r), r) : (r ? x.dim(*axis) : 1);
    const int64_t inner = old ? 1 : prod(x.shape(), *axis + 1, r);
    const void* px = e.in(0);
    k::softmax(e.stream(), mode, *t, px, e.out(0, x.dtype(), x.shape()), outer, n, inner);
    return true;
}

bool k_reduce(OpEnv& e, k::RedOp op) {
    const auto& nd = e.node();
    const Tensor& x = e.ctx.in(0);
    const auto t = ftype_of(x.dtype());
    if (!t) return false;
    const bool axes_input = e.opset() >= (op == k::RedOp::Sum ? 13 : 18);
    std::vector<int64_t> axes;
    if (axes_input) {
        if (e.ctx.has_input(1)) axes = e.ctx.in(1).to_i64();
    } else {
        axes = nd.attr_ints("axes", {});
    }
    const bool keepdims = nd.attr_int("keepdims", 1) != 0;
    if (axes.empty() && axes_input && nd.attr_int("noop_with_empty_axes", 0) != 0) return false;  // CPU: a view
    const int64_t r = x.rank();
    std::vector<bool> red(r, axes.empty());
    for (int64_t a : axes) {
        if (a < -r || a >= std::max<int64_t>(r, 1)) return false;
        if (r > 0) red[a < 0 ? a + r : a] = true;
    }
    // Kept and reduced dims: size-1 dims dropped, neighbours of the same kind merged (contiguous), as the CPU's
    // ReducePlan.
    const auto st = shape_strides(x.shape());
    std::vector<std::pair<int64_t, int64_t>> kept, rg;  // (size, stride)
    Shape out_shape;
    k::ReduceArgs a;
    a.n_out = 1, a.n_red = 1;
    int last = -1;  // kind of the previous dim of size > 1: 0 kept, 1 reduced
    for (int64_t d = 0; d < r; ++d) {
        const int64_t sz = x.dim(d);
        const int kind = red[d] ? 1 : 0;
        (kind ? a.n_red : a.n_out) *= sz;
        if (!kind || keepdims) out_shape.push_back(kind ? 1 : sz);
        if (sz == 1) continue;
        auto& v = kind ? rg : kept;
        if (last == kind)
            v.back() = {v.back().first * sz, st[d]};
        else
            v.push_back({sz, st[d]});
        last = kind;
    }
    auto fill = [](const std::vector<std::pair<int64_t, int64_t>>& v, int& rank, int64_t* size, int64_t* stride) {
        rank = 0;
        for (const auto& [s, t] : v) {
            if (rank == k::kMaxDims) return false;
            size[rank] = s, stride[rank] = t, ++rank;
        }
        return true;
    };
    if (!fill(kept, a.kept_rank, a.kept_size, a.kept_stride) || !fill(rg, a.red_rank, a.red_size, a.red_stride))
        return false;
    const void* px = e.in(0);
    k::reduce(e.stream(), op, *t, px, e.out(0, x.dtype(), out_shape), a);
    return true;
}

// ----------------------------------------------------------------------------------------------------- norms

// Scale / bias broadcast to `norm_shape` as float32 (absent: `def`), converted on the host and cached.
const float* norm_params(OpEnv& e, const Tensor& scale, const Tensor* bias, const Shape& norm_shape) {
    std::vector<const Tensor*> from{&scale};
    if (bias) from.push_back(bias);
    const std::string tag = "ln:" + shape_str(norm_shape) + (bias ? "b" : "");
    if (const void* p = e.derived_hit(from, tag)) return static_cast<const float*>(p);
    const int64_t n = shape_numel(norm_shape);
    std::vector<float> host(2 * (size_t)n, 0.f);
    const Tensor* ps[2] = {&scale, bias};
    for (int k = 0; k < 2; ++k) {
        if (!ps[k]) continue;
        const auto strides = broadcast_strides(ps[k]->shape(), norm_shape);
        for (int64_t i = 0; i < n; ++i) {
            int64_t rem = i, off = 0;
            for (size_t d = norm_shape.size(); d-- > 0;) {
                off += (rem % norm_shape[d]) * strides[d];
                rem /= norm_shape[d];
            }
            host[k * n + i] = (float)ps[k]->at_f64(off);
        }
    }
    return static_cast<const float*>(e.derived(from, tag, host.data(), host.size() * 4));
}

bool k_layernorm(OpEnv& e) {
    const auto& nd = e.node();
    if (nd.attr_int("stash_type", 1) != 1) return false;
    const Tensor& x = e.ctx.in(0);
    const auto t = ftype_of(x.dtype());
    if (!t || x.rank() < 1) return false;
    const int64_t r = x.rank();
    const auto axis = norm_axis(nd.attr_int("axis", -1), r);
    if (!axis) return false;
    const Shape norm_shape(x.shape().begin() + *axis, x.shape().end());
    const Tensor& scale = e.ctx.in(1);
    const Tensor* bias = e.ctx.has_input(2) ? &e.ctx.in(2) : nullptr;
    for (const Tensor* p : {&scale, bias}) {
        if (!p) continue;
        if (!dtype_is_float(p->dtype()) || p->rank() > (int64_t)norm_shape.size()) return false;
        const auto b = try_broadcast(p->shape(), norm_shape);
        if (!b || *b != norm_shape) return false;
    }
    const int64_t outer = prod(x.shape(), 0, *axis), n = shape_numel(norm_shape);
    Shape stat_shape(x.shape().begin(), x.shape().begin() + *axis);
    stat_shape.resize(r, 1);
    const float* params = norm_params(e, scale, bias, norm_shape);
    const void* px = e.in(0);
    void* py = e.out(0, x.dtype(), x.shape());
    float* pm = e.ctx.wants_output(1) ? static_cast<float*>(e.out(1, DType::F32, stat_shape)) : nullptr;
    float* pi = e.ctx.wants_output(2) ? static_cast<float*>(e.out(2, DType::F32, stat_shape)) : nullptr;
    k::row_norm(e.stream(), *t, px, py, outer, n, params, bias ? params + n : nullptr, false, 1,
                nd.attr_float("epsilon", 1e-5f), pm, pi);
    return true;
}

bool k_instancenorm(OpEnv& e) {
    const Tensor& x = e.ctx.in(0);
    const auto t = ftype_of(x.dtype());
    if (!t || x.rank() < 2 || e.ctx.num_inputs() != 3) return false;
    const int64_t N = x.dim(0), C = x.dim(1), inner = prod(x.shape(), 2, x.shape().size());
    const Tensor& scale = e.ctx.in(1);
    const Tensor& bias = e.ctx.in(2);
    if (scale.numel() != C || bias.numel() != C || !dtype_is_float(scale.dtype()) || !dtype_is_float(bias.dtype()))
        return false;
    const Tensor scale_c = scale.reshaped({C}), bias_c = bias.reshaped({C});
    const float* params = norm_params(e, scale_c, &bias_c, Shape{C});
    const void* px = e.in(0);
    k::row_norm(e.stream(), *t, px, e.out(0, x.dtype(), x.shape()), N * C, inner, params, params + C, true, C,
                e.node().attr_float("epsilon", 1e-5f), nullptr, nullptr);
    return true;
}

}  // namespace

void register_nn_ops(OpTable& t) {
    t["Conv"] = k_conv;
    t["Gemm"] = k_gemm;
    t["MatMul"] = k_matmul;
    t["MaxPool"] = [](OpEnv& e) { return k_pool(e, true); };
    t["AveragePool"] = [](OpEnv& e) { return k_pool(e, false); };
    t["GlobalAveragePool"] = [](OpEnv& e) { return k_global_pool(e, false); };
    t["GlobalMaxPool"] = [](OpEnv& e) { return k_global_pool(e, true); };
    t["Softmax"] = [](OpEnv& e) { return k_softmax(e, 0); };
    t["LogSoftmax"] = [](OpEnv& e) { return k_softmax(e, 1); };
    t["Hardmax"] = [](OpEnv& e) { return k_softmax(e, 2); };
    t["ReduceSum"] = [](OpEnv& e) { return k_reduce(e, k::RedOp::Sum); };
    t["ReduceMean"] = [](OpEnv& e) { return k_reduce(e, k::RedOp::Mean); };
    t["ReduceMax"] = [](OpEnv& e) { return k_reduce(e, k::RedOp::Max); };
    t["ReduceMin"] = [](OpEnv& e) { return k_reduce(e, k::RedOp::Min); };
    t["ReduceProd"] = [](OpEnv& e) { return k_reduce(e, k::RedOp::Prod); };
    t["ReduceL1"] = [](OpEnv& e) { return k_reduce(e, k::RedOp::L1); };
    t["ReduceL2"] = [](OpEnv& e) { return k_reduce(e, k::RedOp::L2); };
    t["ReduceSumSquare"] = [](OpEnv& e) { return k_reduce(e, k::RedOp::SumSquare); };
    t["ReduceLogSum"] = [](OpEnv& e) { return k_reduce(e, k::RedOp::LogSum); };
    t["ReduceLogSumExp"] = [](OpEnv& e) { return k_reduce(e, k::RedOp::LogSumExp); };
    t["LayerNormalization"] = [](OpEnv& e) { return e.opset() >= 17 && k_layernorm(e); };
    t["InstanceNormalization"] = k_instancenorm;
}

}  // namespace hq::exec::hip

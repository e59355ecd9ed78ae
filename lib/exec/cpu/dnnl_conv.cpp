// oneDNN float32 Conv (see dnnl_conv.h). Layout: channel-blocked source/destination (16-channel blocks where oneDNN
// runs AVX-512, 8 on AVX2 and SSE4.1: dnnl_block()), weights in oneDNN's preferred format; NCHW tensors are
// reordered in and out at every call (HQ_DNNL_PLAIN=1 asks for plain NCHW source/destination instead, for
// measurements). Each thread has its own stream, scratchpad and staging buffers.
#include "exec/cpu/dnnl_conv.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <dnnl.hpp>
#include <algorithm>
#include <map>
#include <mutex>

#include "core/threads.h"

extern "C" void omp_set_num_threads(int);

namespace hq::exec::cpu {

namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

bool env_on(const char* name) {
    const char* v = std::getenv(name);
    return v && *v && std::strcmp(v, "0") != 0;
}

dnnl::engine& engine() {
    static dnnl::engine e(dnnl::engine::kind::cpu, 0);
    return e;
}

struct Prim {
    bool ok = false;
    std::string impl;
    dnnl::convolution_forward conv;
    dnnl::memory::desc src_user, src_md, w_user, w_md, dst_user, dst_md, bias_md;
    dnnl::reorder src_in, w_in, dst_in, dst_out;  // used where the chosen format differs from the user's
    bool has_sum = false;
    size_t scratch = 0;
    dnnl::memory::desc scratch_md;
};

struct WeightEntry {
    std::weak_ptr<void> owner;
    const void* data = nullptr;
    std::shared_ptr<std::vector<float>> buf;  // reordered weights
};

std::mutex g_mu;
std::map<std::string, std::shared_ptr<Prim>> g_prims;
std::map<std::pair<const Prim*, const void*>, WeightEntry> g_weights;

dnnl::memory::dims spatial(const int64_t* v, int64_t nsp, int64_t minus = 0) {
    dnnl::memory::dims r;
    for (int64_t i = 3 - nsp; i < 3; ++i) r.push_back(v[i] - minus);
    return r;
}

tag blocked_tag(int64_t nsp) {
    if (dnnl_block() == 16) return nsp == 1 ? tag::nCw16c : nsp == 2 ? tag::nChw16c : tag::nCdhw16c;
    return nsp == 1 ? tag::nCw8c : nsp == 2 ? tag::nChw8c : tag::nCdhw8c;
}
tag data_tag(int64_t nsp) { return nsp == 1 ? tag::ncw : nsp == 2 ? tag::nchw : tag::ncdhw; }
tag weight_tag(int64_t nsp, bool grouped) {
    if (grouped) return nsp == 1 ? tag::goiw : nsp == 2 ? tag::goihw : tag::goidhw;
    return nsp == 1 ? tag::oiw : nsp == 2 ? tag::oihw : tag::oidhw;
}

std::string key_of(const DnnlConvGeom& g, bool bias, const std::vector<graph::PostOp>& ops) {
    std::string k;
    auto add = [&](int64_t v) { k += std::to_string(v) + ","; };
    add(g.nsp), add(g.N), add(g.C), add(g.M), add(g.groups), add(bias), add(g.src_blocked), add(g.dst_blocked);
    for (int i = 0; i < 3; ++i) add(g.in[i]), add(g.out[i]), add(g.k[i]), add(g.s[i]), add(g.d[i]), add(g.pb[i]), add(g.pe[i]);
    for (const auto& op : ops) {
        k += "|" + std::to_string((int)op.kind) + ":";
        k.append(reinterpret_cast<const char*>(&op.alpha), sizeof(float));
        k.append(reinterpret_cast<const char*>(&op.beta), sizeof(float));
    }
    return k;
}

// oneDNN 2.6's brgconv applies two eltwise post-ops of one algorithm with the first one's alpha/beta (measured:
// Clip(-1,6) then Clip(0,1) came out as two Clip(-1,6)); such chains are refused here (the kernel applies them).
// The first entry of `po` that repeats an earlier eltwise algorithm with other parameters; po.len() when none.
int first_conflict(const dnnl::post_ops& po) {
    for (int j = 1; j < po.len(); ++j)
        for (int i = 0; i < j; ++i) {
            if (po.kind(i) != dnnl::primitive::kind::eltwise || po.kind(j) != dnnl::primitive::kind::eltwise) continue;
            float si, ai, bi, sj, aj, bj;
            dnnl::algorithm alg_i, alg_j;
            po.get_params_eltwise(i, si, alg_i, ai, bi);
            po.get_params_eltwise(j, sj, alg_j, aj, bj);
            if (alg_i == alg_j && (ai != aj || bi != bj)) return j;
        }
    return po.len();
}
bool conflicting(const dnnl::post_ops& po) { return first_conflict(po) < po.len(); }

dnnl::post_ops make_post_ops(const std::vector<graph::PostOp>& ops, bool& has_sum) {
    using K = graph::PostOp::Kind;
    using A = dnnl::algorithm;
    dnnl::post_ops po;
    has_sum = false;
    for (const auto& op : ops) {
        switch (op.kind) {
            case K::Relu: po.append_eltwise(1.f, A::eltwise_relu, 0.f, 0.f); break;
            case K::LeakyRelu: po.append_eltwise(1.f, A::eltwise_relu, op.alpha, 0.f); break;
            case K::Clip: po.append_eltwise(1.f, A::eltwise_clip, op.alpha, op.beta); break;
            case K::HardSwish: po.append_eltwise(1.f, A::eltwise_hardswish, 0.f, 0.f); break;
            case K::HardSigmoid:  // one rounding of alpha * x + beta (fma): not bit-identical to the kernel's two
                po.append_eltwise(1.f, A::eltwise_linear, op.alpha, op.beta);
                po.append_eltwise(1.f, A::eltwise_clip, 0.f, 1.f);
                break;
            case K::Sigmoid: po.append_eltwise(1.f, A::eltwise_logistic, 0.f, 0.f); break;
            case K::Swish: po.append_eltwise(1.f, A::eltwise_swish, 1.f, 0.f); break;
            case K::Linear: po.append_eltwise(1.f, A::eltwise_linear, op.alpha, op.beta); break;
            case K::Add:
                po.append_sum(1.f);
                has_sum = true;
                break;
        }
    }
    return po;
}

std::shared_ptr<Prim> create(const DnnlConvGeom& g, bool bias, const std::vector<graph::PostOp>& ops) {
    auto p = std::make_shared<Prim>();
    try {
        const int64_t nsp = g.nsp;
        const bool grouped = g.groups > 1;
        dnnl::memory::dims src_d = {g.N, g.C}, dst_d = {g.N, g.M}, w_d;
        for (auto v : spatial(g.in, nsp)) src_d.push_back(v);
        for (auto v : spatial(g.out, nsp)) dst_d.push_back(v);
        if (grouped) w_d = {g.groups, g.M / g.groups, g.C / g.groups};
        else w_d = {g.M, g.C};
        for (auto v : spatial(g.k, nsp)) w_d.push_back(v);
        const tag blocked = blocked_tag(nsp);
        p->src_user = dnnl::memory::desc(src_d, dt::f32, g.src_blocked ? blocked : data_tag(nsp));
        p->dst_user = dnnl::memory::desc(dst_d, dt::f32, g.dst_blocked ? blocked : data_tag(nsp));
        p->w_user = dnnl::memory::desc(w_d, dt::f32, weight_tag(nsp, grouped));
        p->bias_md = dnnl::memory::desc({g.M}, dt::f32, tag::x);
        const bool plain = env_on("HQ_DNNL_PLAIN");
        // Channel blocks (measured on ResNet-50: the jit kernels on nChw16c and its reorders beat brgconv on the
        // nhwc layout oneDNN picks for `any` by ~15%; on AVX2 oneDNN 2.6 has jit kernels for nChw8c only, nChw16c
        // gets its reference kernel); inputs with fewer channels than a block stay `any`.
        auto src_any =
            dnnl::memory::desc(src_d, dt::f32, plain ? data_tag(nsp) : g.C >= dnnl_block() ? blocked : tag::any);
        auto dst_any = dnnl::memory::desc(dst_d, dt::f32, plain ? data_tag(nsp) : blocked);
        auto w_any = dnnl::memory::desc(w_d, dt::f32, tag::any);
        dnnl::primitive_attr attr;
        const dnnl::post_ops po = make_post_ops(ops, p->has_sum);
        if (conflicting(po)) {
            p->impl = "refused: post-ops repeat an eltwise algorithm with other parameters";
            return p;
        }
        attr.set_post_ops(po);
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        auto desc = bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                           dnnl::algorithm::convolution_direct, src_any, w_any,
                                                           p->bias_md, dst_any, spatial(g.s, nsp), spatial(g.d, nsp, 1),
                                                           spatial(g.pb, nsp), spatial(g.pe, nsp))
                         : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                           dnnl::algorithm::convolution_direct, src_any, w_any,
                                                           dst_any, spatial(g.s, nsp), spatial(g.d, nsp, 1),
                                                           spatial(g.pb, nsp), spatial(g.pe, nsp));
        dnnl::convolution_forward::primitive_desc pd(desc, attr, engine(), true);
        if (!pd) return p;
        p->impl = pd.impl_info_str();
        if (p->impl.find("ref") != std::string::npos) return p;
        p->src_md = pd.src_desc();
        p->w_md = pd.weights_desc();
        p->dst_md = pd.dst_desc();
        p->scratch_md = pd.scratchpad_desc();
        p->scratch = p->scratch_md.get_size();
        p->conv = dnnl::convolution_forward(pd);
        auto& e = engine();
        if (p->src_md != p->src_user) p->src_in = dnnl::reorder(dnnl::memory(p->src_user, e, nullptr), dnnl::memory(p->src_md, e, nullptr));
        if (p->w_md != p->w_user) p->w_in = dnnl::reorder(dnnl::memory(p->w_user, e, nullptr), dnnl::memory(p->w_md, e, nullptr));
        if (p->dst_md != p->dst_user) {
            p->dst_out = dnnl::reorder(dnnl::memory(p->dst_md, e, nullptr), dnnl::memory(p->dst_user, e, nullptr));
            if (p->has_sum) p->dst_in = dnnl::reorder(dnnl::memory(p->dst_user, e, nullptr), dnnl::memory(p->dst_md, e, nullptr));
        }
        p->ok = true;
    } catch (const dnnl::error& err) {
        spdlog::debug("oneDNN conv: {} (using the OpenBLAS kernel)", err.what());
        p->ok = false;
    }
    return p;
}

std::shared_ptr<Prim> get(const DnnlConvGeom& g, bool bias, const std::vector<graph::PostOp>& ops) {
    const std::string k = key_of(g, bias, ops);
    {
        std::lock_guard<std::mutex> lock(g_mu);
        auto it = g_prims.find(k);
        if (it != g_prims.end()) return it->second;
    }
    auto p = create(g, bias, ops);  // outside the lock: creation takes milliseconds
    spdlog::debug("oneDNN conv {}: {}", k.substr(0, k.find('|')), p->ok ? p->impl : "refused (" + p->impl + ")");
    std::lock_guard<std::mutex> lock(g_mu);
    return g_prims.emplace(k, p).first->second;
}

// Per-thread staging buffer `slot` of at least n bytes (64-byte aligned).
void* staging(int slot, size_t n) {
    struct Buf {
        void* p = nullptr;
        size_t n = 0;
        ~Buf() { std::free(p); }
    };
    thread_local Buf bufs[6];
    Buf& b = bufs[slot];
    if (b.n < n) {
        std::free(b.p);
        b.n = (n + 63) / 64 * 64;
        b.p = std::aligned_alloc(64, b.n);
        if (!b.p) throw std::bad_alloc();
    }
    return b.p;
}

// The reordered weights of an initializer, made once per (primitive, storage) while the storage lives.
std::shared_ptr<std::vector<float>> cached_weights(const Prim& p, const float* w, const std::shared_ptr<void>& owner,
                                                   dnnl::stream& s) {
    const std::pair<const Prim*, const void*> key{&p, owner.get()};
    {
        std::lock_guard<std::mutex> lock(g_mu);
        auto it = g_weights.find(key);
        if (it != g_weights.end()) {
            auto live = it->second.owner.lock();
            if (live && live.get() == owner.get() && it->second.data == w) return it->second.buf;
        }
    }
    auto buf = std::make_shared<std::vector<float>>(p.w_md.get_size() / sizeof(float) + 16);
    dnnl::memory src(p.w_user, engine(), const_cast<float*>(w)), dst(p.w_md, engine(), buf->data());
    p.w_in.execute(s, src, dst);
    s.wait();
    std::lock_guard<std::mutex> lock(g_mu);
    for (auto it = g_weights.begin(); it != g_weights.end();)  // drop copies whose storage is gone
        it = it->second.owner.expired() ? g_weights.erase(it) : std::next(it);
    g_weights[key] = WeightEntry{owner, w, buf};
    return buf;
}

}  // namespace

namespace {
std::atomic<int> g_enabled{-1};  // -1: not read from the environment yet
}  // namespace

namespace {
// One plane-major pass: blocked [N][C/B][S][B] <-> plain [N][C][S].
template <bool ToPlain, int B>
Tensor convert_blocks(const Tensor& t) {
    HQ_ASSERT(t.dtype() == DType::F32 && t.rank() >= 3 && t.dim(1) % B == 0, shape_str(t.shape()));
    Tensor r = Tensor::uninit(DType::F32, t.shape());
    const int64_t N = t.dim(0), CB = t.dim(1) / B, S = t.numel() / (N * CB * B);
    const float* a = t.data<float>();
    float* b = r.data<float>();
    parallel_for(N * CB, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t nb = lo; nb < hi; ++nb) {
            for (int64_t c = 0; c < B; ++c)
                for (int64_t sp = 0; sp < S; ++sp) {
                    const int64_t ib = nb * B * S + sp * B + c, ip = (nb * B + c) * S + sp;
                    if constexpr (ToPlain) b[ip] = a[ib];
                    else b[ib] = a[ip];
                }
        }
    });
    return r;
}
}  // namespace

int dnnl_block() {
    static const int block = [] {
        const char* e = std::getenv("HQ_DNNL_BLOCK");
        if (e && (std::strcmp(e, "8") == 0 || std::strcmp(e, "16") == 0)) return std::atoi(e);
        using isa = dnnl::cpu_isa;
        switch (dnnl::get_effective_cpu_isa()) {
            case isa::avx512_mic:
            case isa::avx512_mic_4ops:
            case isa::avx512_core:
            case isa::avx512_core_vnni:
            case isa::avx512_core_bf16:
            case isa::avx512_core_amx: return 16;
            default: return 8;
        }
    }();
    return block;
}

Tensor blocked_to_plain(const Tensor& t) {
    return dnnl_block() == 16 ? convert_blocks<true, 16>(t) : convert_blocks<true, 8>(t);
}
Tensor plain_to_blocked(const Tensor& t) {
    return dnnl_block() == 16 ? convert_blocks<false, 16>(t) : convert_blocks<false, 8>(t);
}

bool dnnl_enabled() {
    int v = g_enabled.load(std::memory_order_relaxed);
    if (v < 0) {
        v = env_on("HQ_CPU_REFERENCE") ? 0 : 1;
        g_enabled.store(v);
    }
    return v == 1;
}

void dnnl_set_enabled(bool on) { g_enabled.store(on ? 1 : 0); }

namespace {
std::atomic<int64_t> g_min_macs{-1};
}  // namespace

int64_t dnnl_min_macs() {
    int64_t v = g_min_macs.load(std::memory_order_relaxed);
    if (v < 0) {
        const char* e = std::getenv("HQ_DNNL_MIN_MACS");
        v = e && *e ? std::max<int64_t>(0, std::atoll(e)) : 3000000;
        g_min_macs.store(v);
    }
    return v;
}

void dnnl_set_min_macs(int64_t n) { g_min_macs.store(std::max<int64_t>(0, n)); }

size_t dnnl_post_ops_prefix(const std::vector<graph::PostOp>& ops) {
    bool sum = false;
    const int cut = first_conflict(make_post_ops(ops, sum));
    int entries = 0;  // oneDNN entries of ops[0..k]: HardSigmoid makes two (linear, clip), every other op one
    for (size_t k = 0; k < ops.size(); ++k) {
        entries += ops[k].kind == graph::PostOp::Kind::HardSigmoid ? 2 : 1;
        if (entries > cut) return k;
    }
    return ops.size();
}

std::string dnnl_conv_impl(const DnnlConvGeom& g, bool bias, const std::vector<graph::PostOp>& ops) {
    auto p = get(g, bias, ops);
    return p->ok ? p->impl : "";
}

namespace {

// A stride-1 2-D conv dilated by (dh, dw) whose input size and pads are multiples of the dilation is a batch of
// dh * dw undilated convs, one per phase (r, q) of the input grid (space to batch): y[dh*i + r][dw*j + q] =
// sum_k w[k] * x[dh*(i + kh - pb/dh) + r][dw*(j + kw - pw/dw) + q] (x zero outside), the same taps in the same
// order. oneDNN 2.6 has no jit kernel for some dilated geometries (MLSD's 5x-dilated 3x3 on nChw8c: reference only).
bool space_to_batch_fits(const DnnlConvGeom& g) {
    if (g.nsp != 2) return false;
    bool dilated = false;
    for (int i = 1; i < 3; ++i) {
        const int64_t d = g.d[i];
        if (d < 1 || g.s[i] != 1 || g.in[i] % d || g.out[i] % d || g.pb[i] % d || g.pe[i] % d) return false;
        dilated |= d > 1;
    }
    return dilated;
}

// [N][C/E][H][W][E] <-> [N*dh*dw][C/E][H/dh][W/dw][E] (E = channels per stored element group: 1 plain, the block
// size channel-blocked); batch index (n*dh + h%dh)*dw + w%dw.
template <int64_t E>
void phase_rows(bool to_batch, const float* a, float* b, int64_t N, int64_t CG, int64_t H, int64_t W, int64_t dh,
                int64_t dw) {
    const int64_t H2 = H / dh, W2 = W / dw;
    parallel_for(N * CG * H, 8, [&](int64_t lo, int64_t hi) {
        for (int64_t row = lo; row < hi; ++row) {
            const int64_t h = row % H, cg = row / H % CG, n = row / (H * CG);
            const int64_t grid = row * W * E;
            for (int64_t q = 0; q < dw; ++q) {
                const int64_t n2 = (n * dh + h % dh) * dw + q;
                const int64_t phase = ((n2 * CG + cg) * H2 + h / dh) * W2 * E;
                for (int64_t j = 0; j < W2; ++j) {
                    const int64_t g = grid + (j * dw + q) * E, p = phase + j * E;
                    if (to_batch) std::memcpy(b + p, a + g, E * sizeof(float));
                    else std::memcpy(b + g, a + p, E * sizeof(float));
                }
            }
        }
    });
}

void phase_shuffle(bool to_batch, const float* a, float* b, int64_t N, int64_t CG, int64_t H, int64_t W, int64_t E,
                   int64_t dh, int64_t dw) {
    if (E == 16) phase_rows<16>(to_batch, a, b, N, CG, H, W, dh, dw);
    else if (E == 8) phase_rows<8>(to_batch, a, b, N, CG, H, W, dh, dw);
    else phase_rows<1>(to_batch, a, b, N, CG * E, H, W, dh, dw);
}

}  // namespace

bool dnnl_conv_f32(const DnnlConvGeom& g, const float* x, const float* w, const std::shared_ptr<void>* w_owner,
                   const float* bias, float* y, const std::vector<graph::PostOp>& ops) {
    if (space_to_batch_fits(g) && !get(g, bias != nullptr, ops)->ok) {
        DnnlConvGeom b = g;
        const int64_t dh = g.d[1], dw = g.d[2];
        b.N = g.N * dh * dw;
        for (int i = 1; i < 3; ++i) {
            b.in[i] = g.in[i] / g.d[i];
            b.out[i] = g.out[i] / g.d[i];
            b.pb[i] = g.pb[i] / g.d[i];
            b.pe[i] = g.pe[i] / g.d[i];
            b.d[i] = 1;
        }
        if (!get(b, bias != nullptr, ops)->ok) return false;
        const int64_t ex = g.src_blocked ? dnnl_block() : 1, ey = g.dst_blocked ? dnnl_block() : 1;
        const size_t nx = (size_t)(g.N * g.C * g.in[1] * g.in[2]), ny = (size_t)(g.N * g.M * g.out[1] * g.out[2]);
        float* xb = static_cast<float*>(staging(4, nx * sizeof(float)));
        float* yb = static_cast<float*>(staging(5, ny * sizeof(float)));
        phase_shuffle(true, x, xb, g.N, g.C / ex, g.in[1], g.in[2], ex, dh, dw);
        bool sum = false;
        make_post_ops(ops, sum);
        if (sum) phase_shuffle(true, y, yb, g.N, g.M / ey, g.out[1], g.out[2], ey, dh, dw);  // the Add operand
        if (!dnnl_conv_f32(b, xb, w, w_owner, bias, yb, ops)) return false;
        phase_shuffle(false, yb, y, g.N, g.M / ey, g.out[1], g.out[2], ey, dh, dw);
        return true;
    }
    thread_local int omp_threads = 0;  // before creating primitives: oneDNN splits the work for this count
    if (omp_threads != num_threads()) {
        omp_threads = num_threads();
        omp_set_num_threads(omp_threads);
    }
    bind_workers();
    auto p = get(g, bias != nullptr, ops);
    if (!p->ok) return false;
    auto& e = engine();
    thread_local dnnl::stream s(e);
    dnnl::memory src_user(p->src_user, e, const_cast<float*>(x)), dst_user(p->dst_user, e, y);
    dnnl::memory src = src_user, dst = dst_user, wm;
    if (p->src_md != p->src_user) {
        src = dnnl::memory(p->src_md, e, staging(0, p->src_md.get_size()));
        p->src_in.execute(s, src_user, src);
    }
    std::shared_ptr<std::vector<float>> wkeep;
    if (p->w_md == p->w_user) {
        wm = dnnl::memory(p->w_user, e, const_cast<float*>(w));
    } else if (w_owner && *w_owner) {
        wkeep = cached_weights(*p, w, *w_owner, s);
        wm = dnnl::memory(p->w_md, e, wkeep->data());
    } else {
        wm = dnnl::memory(p->w_md, e, staging(1, p->w_md.get_size()));
        dnnl::memory wu(p->w_user, e, const_cast<float*>(w));
        p->w_in.execute(s, wu, wm);
    }
    if (p->dst_md != p->dst_user) {
        dst = dnnl::memory(p->dst_md, e, staging(2, p->dst_md.get_size()));
        if (p->has_sum) p->dst_in.execute(s, dst_user, dst);
    }
    std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, dst}};
    if (bias) args[DNNL_ARG_BIAS] = dnnl::memory(p->bias_md, e, const_cast<float*>(bias));
    if (p->scratch) args[DNNL_ARG_SCRATCHPAD] = dnnl::memory(p->scratch_md, e, staging(3, p->scratch));
    p->conv.execute(s, args);
    if (p->dst_md != p->dst_user) p->dst_out.execute(s, dst, dst_user);
    s.wait();
    return true;
}

}  // namespace hq::exec::cpu

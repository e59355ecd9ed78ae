// Conv and ConvTranspose on the CPU (1-D, 2-D, 3-D). float32 Conv runs through oneDNN (dnnl_conv.h) with the
// executor's fused epilogue where oneDNN has a JIT implementation; the code below is the reference path
// (HQ_CPU_REFERENCE=1) and the fallback. Spatial dims are normalized to three (D, H, W) with
// leading ones, so one code path serves every rank. Conv: im2col (tiled over output rows to bound the
// column buffer) + GEMM; 1x1 stride-1 unpadded convs feed the input to GEMM directly; convs with one input
// channel per group (depthwise) use a direct kernel. ConvTranspose: GEMM + col2im.
// float16/bfloat16 are staged through float32; float64 runs the same code with dgemm.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "exec/cpu/common.h"
#include "exec/cpu/dnnl_conv.h"
#include "exec/cpu/kernels.h"

namespace hq::exec::cpu {

namespace {


constexpr int64_t kColBudget = int64_t(1) << 21;  // elements of the im2col / col2im buffer per tile

struct Geom {
    int64_t nsp = 0;  // spatial rank (1..3)
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
    int64_t in_size() const { return in[0] * in[1] * in[2]; }
    int64_t out_size() const { return out[0] * out[1] * out[2]; }
    int64_t kvol() const { return k[0] * k[1] * k[2]; }
};

enum class AutoPad { NotSet, SameUpper, SameLower, Valid };

AutoPad auto_pad_of(const graph::Node& n) {
    const std::string a = n.attr_string("auto_pad", "NOTSET");
    if (a == "SAME_UPPER") return AutoPad::SameUpper;
    if (a == "SAME_LOWER") return AutoPad::SameLower;
    if (a == "VALID") return AutoPad::Valid;
    return AutoPad::NotSet;
}

std::string check_conv_attrs(const graph::Node& n, int64_t) {
    const std::string a = n.attr_string("auto_pad", "NOTSET");
    if (a != "NOTSET" && a != "SAME_UPPER" && a != "SAME_LOWER" && a != "VALID")
        return "auto_pad '" + a + "' is not supported";
    if (n.attr_int("group", 1) < 1) return "group must be >= 1";
    for (const char* name : {"strides", "dilations"})
        for (int64_t v : n.attr_ints(name))
            if (v < 1) return std::string(name) + " must be >= 1";
    for (int64_t v : n.attr_ints("pads"))
        if (v < 0) return "negative pads are not supported";
    return "";
}

// Reads strides/dilations/pads (per spatial dim) into the last nsp slots of g.
void read_window_attrs(const KernelContext& ctx, Geom& g) {
    const auto& nd = ctx.node;
    const int64_t r = g.nsp;
    auto st = nd.attr_ints("strides", std::vector<int64_t>(r, 1));
    auto dl = nd.attr_ints("dilations", std::vector<int64_t>(r, 1));
    auto pads = nd.attr_ints("pads", std::vector<int64_t>(2 * r, 0));
    HQ_CHECK((int64_t)st.size() == r, nd.label(), ": strides has ", st.size(), " values, expected ", r);
    HQ_CHECK((int64_t)dl.size() == r, nd.label(), ": dilations has ", dl.size(), " values, expected ", r);
    HQ_CHECK((int64_t)pads.size() == 2 * r, nd.label(), ": pads has ", pads.size(), " values, expected ", 2 * r);
    for (int64_t i = 0; i < 3; ++i) {
        g.in[i] = g.out[i] = g.k[i] = g.s[i] = g.d[i] = 1;
        g.pb[i] = g.pe[i] = 0;
    }
    for (int64_t i = 0; i < r; ++i) {
        const int64_t j = 3 - r + i;
        g.s[j] = st[i];
        g.d[j] = dl[i];
        g.pb[j] = pads[i];
        g.pe[j] = pads[i + r];
    }
    if (ctx.extra_pads) {  // a skipped Pad's (planned for Conv with explicit pads only)
        HQ_ASSERT((int64_t)ctx.extra_pads->size() == 2 * r, nd.label(), ": folded pads of the wrong rank");
        for (int64_t i = 0; i < r; ++i) {
            g.pb[3 - r + i] += (*ctx.extra_pads)[(size_t)i];
            g.pe[3 - r + i] += (*ctx.extra_pads)[(size_t)(i + r)];
        }
    }
}

// Range [lo, hi) of output positions o in [0, count) with 0 <= o * stride + off < limit.
inline void valid_range(int64_t off, int64_t stride, int64_t limit, int64_t count, int64_t& lo, int64_t& hi) {
    lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
    hi = limit - 1 - off < 0 ? 0 : (limit - 1 - off) / stride + 1;
    hi = std::min(hi, count);
    lo = std::min(lo, hi);
}

// Scratch buffer reused across calls on the same thread (no per-call heap churn).
template <typename T>
T* scratch(size_t n) {
    thread_local std::vector<T> buf;
    if (buf.size() < n) buf.resize(n);
    return buf.data();
}

// ---------------------------------------------------------------------------------------------- Conv

// Column rows [Cg * kvol] x output positions of output rows [r0, r1) (row = od * OH + oh).
template <typename T>
void im2col(const T* x, int64_t cg, const Geom& g, int64_t r0, int64_t r1, T* col) {
    const int64_t ow_n = g.out[2], cols = (r1 - r0) * ow_n, kvol = g.kvol(), rows = cg * kvol;
    const int64_t D = g.in[0], H = g.in[1], W = g.in[2];
    parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)), [&](int64_t b, int64_t e) {
        for (int64_t row = b; row < e; ++row) {
            const int64_t c = row / kvol, kidx = row % kvol;
            const int64_t kd = kidx / (g.k[1] * g.k[2]), kh = (kidx / g.k[2]) % g.k[1], kw = kidx % g.k[2];
            const T* xc = x + c * D * H * W;
            T* dst = col + row * cols;
            const int64_t off_w = kw * g.d[2] - g.pb[2];
            int64_t lo, hi;
            valid_range(off_w, g.s[2], W, ow_n, lo, hi);
            for (int64_t r = r0; r < r1; ++r) {
                const int64_t od = r / g.out[1], oh = r % g.out[1];
                const int64_t id = od * g.s[0] - g.pb[0] + kd * g.d[0], ih = oh * g.s[1] - g.pb[1] + kh * g.d[1];
                T* drow = dst + (r - r0) * ow_n;
                if (id < 0 || id >= D || ih < 0 || ih >= H) {
                    std::fill(drow, drow + ow_n, T(0));
                    continue;
                }
                const T* xrow = xc + (id * H + ih) * W + off_w;
                std::fill(drow, drow + lo, T(0));
                if (g.s[2] == 1) {
                    std::copy(xrow + lo, xrow + hi, drow + lo);
                } else {
                    const int64_t sw = g.s[2];
                    for (int64_t ow = lo; ow < hi; ++ow) drow[ow] = xrow[ow * sw];
                }
                std::fill(drow + hi, drow + ow_n, T(0));
            }
        }
    });
}

// Adds the taps of one input row to the output row interior [lo, hi), where every kw tap is inside the
// input: y[ow] += sum_kw w[kw] * x[ow * SW + kw * dw]. KW/SW > 0 are compile-time, 0 = runtime value.
template <typename T, int KW, int SW>
inline void dw_row(T* __restrict y, const T* __restrict x, const T* __restrict w, int64_t lo, int64_t hi, int64_t kw_n,
                   int64_t sw, int64_t dw) {
    const int64_t st = SW > 0 ? SW : sw;
    if constexpr (KW > 0) {
        T wr[KW];
        for (int k = 0; k < KW; ++k) wr[k] = w[k];
        for (int64_t ow = lo; ow < hi; ++ow) {
            T acc = y[ow];
            for (int k = 0; k < KW; ++k) acc += wr[k] * x[ow * st + k * dw];
            y[ow] = acc;
        }
    } else {
        for (int64_t k = 0; k < kw_n; ++k) {
            const T wv = w[k];
            const T* xs = x + k * dw;
            for (int64_t ow = lo; ow < hi; ++ow) y[ow] += wv * xs[ow * st];
        }
    }
}

// One depthwise output plane. [ilo, ihi): output columns where every kw tap lands inside the input row.
template <typename T, int KW, int SW>
HQ_CPU_CLONES void dw_plane(const T* xp, const T* wp, T bias, T* yp, const Geom& g, int64_t ilo, int64_t ihi) {
    const int64_t H = g.in[1], W = g.in[2], OW = g.out[2], kw_n = g.k[2], sw = g.s[2], dw = g.d[2];
    std::fill(yp, yp + g.out_size(), bias);
    for (int64_t od = 0; od < g.out[0]; ++od) {
        for (int64_t oh = 0; oh < g.out[1]; ++oh) {
            T* yrow = yp + (od * g.out[1] + oh) * OW;
            for (int64_t kd = 0; kd < g.k[0]; ++kd) {
                const int64_t id = od * g.s[0] - g.pb[0] + kd * g.d[0];
                if (id < 0 || id >= g.in[0]) continue;
                for (int64_t kh = 0; kh < g.k[1]; ++kh) {
                    const int64_t ih = oh * g.s[1] - g.pb[1] + kh * g.d[1];
                    if (ih < 0 || ih >= H) continue;
                    const T* xrow = xp + (id * H + ih) * W;
                    const T* wrow = wp + (kd * g.k[1] + kh) * kw_n;
                    // Interior: fused taps; x is addressed from the first tap of column 0.
                    if (ihi > ilo) dw_row<T, KW, SW>(yrow, xrow - g.pb[2], wrow, ilo, ihi, kw_n, sw, dw);
                    // Borders [0, ilo) and [ihi, OW): per-column bounds checks.
                    for (int64_t side = 0; side < 2; ++side) {
                        const int64_t o0 = side == 0 ? 0 : std::max(ihi, ilo), o1 = side == 0 ? ilo : OW;
                        for (int64_t ow = o0; ow < o1; ++ow) {
                            T acc = 0;
                            for (int64_t kw = 0; kw < kw_n; ++kw) {
                                const int64_t iw = ow * sw - g.pb[2] + kw * dw;
                                if (iw >= 0 && iw < W) acc += wrow[kw] * xrow[iw];
                            }
                            yrow[ow] += acc;
                        }
                    }
                }
            }
        }
    }
}

// One input channel per group (depthwise, any channel multiplier): direct sliding window, parallel over planes.
// Each valid (kd, kh) input row is applied to an output row in one fused pass over its kw taps.
template <typename T>
void conv_depthwise(const T* x, const T* w, const T* bias, T* y, int64_t n_batch, int64_t c_in, int64_t m_out,
                    const Geom& g) {
    const int64_t mult = m_out / c_in, is = g.in_size(), os = g.out_size(), kvol = g.kvol();
    const int64_t W = g.in[2], OW = g.out[2], KW = g.k[2], sw = g.s[2], dw = g.d[2];
    int64_t ilo = 0, ihi = OW;
    for (int64_t kw = 0; kw < KW; ++kw) {
        int64_t lo, hi;
        valid_range(kw * dw - g.pb[2], sw, W, OW, lo, hi);
        ilo = std::max(ilo, lo);
        ihi = std::min(ihi, hi);
    }
    if (ihi < ilo) ihi = ilo;
    using PlaneFn = void (*)(const T*, const T*, T, T*, const Geom&, int64_t, int64_t);
    PlaneFn plane = dw_plane<T, 0, 0>;
    if (KW == 3 && sw == 1)
        plane = dw_plane<T, 3, 1>;
    else if (KW == 3 && sw == 2)
        plane = dw_plane<T, 3, 2>;
    else if (KW == 5 && sw == 1)
        plane = dw_plane<T, 5, 1>;
    else if (KW == 5 && sw == 2)
        plane = dw_plane<T, 5, 2>;
    else if (KW == 7 && sw == 1)
        plane = dw_plane<T, 7, 1>;
    parallel_for(n_batch * m_out, 1, [&](int64_t b, int64_t e) {
        for (int64_t p = b; p < e; ++p) {
            const int64_t n = p / m_out, m = p % m_out;
            plane(x + (n * c_in + m / mult) * is, w + m * kvol, bias ? bias[m] : T(0), y + p * os, g, ilo, ihi);
        }
    });
}

template <typename T>
void conv_typed(const Tensor& xt, const Tensor& wt, const Tensor* bt, Tensor& yt, int64_t groups, const Geom& g) {
    const int64_t N = xt.dim(0), C = xt.dim(1), M = wt.dim(0);
    const int64_t cg = C / groups, mg = M / groups, kvol = g.kvol(), is = g.in_size(), os = g.out_size();
    const T* x = xt.data<T>();
    const T* w = wt.data<T>();
    const T* bias = bt ? bt->data<T>() : nullptr;
    T* y = yt.data<T>();
    if (y == nullptr || os == 0) return;
    if (cg == 1 && groups == C) {
        conv_depthwise<T>(x, w, bias, y, N, C, M, g);
        return;
    }
    const bool pointwise = kvol == 1 && g.s[0] == 1 && g.s[1] == 1 && g.s[2] == 1 && g.pb[0] == 0 && g.pb[1] == 0 &&
                           g.pb[2] == 0 && g.pe[0] == 0 && g.pe[1] == 0 && g.pe[2] == 0;
    const int64_t K = cg * kvol, out_rows = g.out[0] * g.out[1], ow_n = g.out[2];
    const int64_t rows_per_tile =
        std::clamp<int64_t>(kColBudget / std::max<int64_t>(K * ow_n, 1), 1, std::max<int64_t>(out_rows, 1));
    T* col = pointwise ? nullptr : scratch<T>((size_t)(K * rows_per_tile * ow_n));
    for (int64_t n = 0; n < N; ++n) {
        T* yn = y + n * M * os;
        if (bias) {
            for (int64_t m = 0; m < M; ++m) std::fill(yn + m * os, yn + (m + 1) * os, bias[m]);
        }
        const T beta = bias ? T(1) : T(0);
        for (int64_t gi = 0; gi < groups; ++gi) {
            const T* xg = x + (n * C + gi * cg) * is;
            const T* wg = w + gi * mg * K;
            T* yg = yn + gi * mg * os;
            if (pointwise) {
                blas_gemm(false, false, mg, os, K, T(1), wg, K, xg, is, beta, yg, os);
                continue;
            }
            for (int64_t r0 = 0; r0 < out_rows; r0 += rows_per_tile) {
                const int64_t r1 = std::min(out_rows, r0 + rows_per_tile), cols = (r1 - r0) * ow_n;
                im2col<T>(xg, cg, g, r0, r1, col);
                blas_gemm(false, false, mg, cols, K, T(1), wg, K, col, cols, beta, yg + r0 * ow_n, os);
            }
        }
    }
}

// Fills g from the input and weight shapes and the node's attributes.
Geom conv_geom(const KernelContext& ctx, const Shape& xs, const Shape& ws) {
    const auto& nd = ctx.node;
    Geom g;
    g.nsp = (int64_t)xs.size() - 2;
    read_window_attrs(ctx, g);
    auto ks = nd.attr_ints("kernel_shape");
    const AutoPad ap = auto_pad_of(nd);
    for (int64_t i = 0; i < g.nsp; ++i) {
        const int64_t j = 3 - g.nsp + i;
        g.in[j] = xs[2 + i];
        g.k[j] = ws[2 + i];
        HQ_CHECK(ks.empty() || ((int64_t)ks.size() == g.nsp && ks[i] == ws[2 + i]), nd.label(), ": kernel_shape ",
                 shape_str(ks), " does not match weight ", shape_str(ws));
        const int64_t ext = (g.k[j] - 1) * g.d[j] + 1;
        if (ap == AutoPad::SameUpper || ap == AutoPad::SameLower) {
            g.out[j] = (g.in[j] + g.s[j] - 1) / g.s[j];
            const int64_t total = std::max<int64_t>(0, (g.out[j] - 1) * g.s[j] + ext - g.in[j]);
            g.pb[j] = ap == AutoPad::SameUpper ? total / 2 : total - total / 2;
            g.pe[j] = total - g.pb[j];
        } else {
            if (ap == AutoPad::Valid) g.pb[j] = g.pe[j] = 0;
            const int64_t span = g.in[j] + g.pb[j] + g.pe[j] - ext;
            HQ_CHECK(span >= 0, nd.label(), ": kernel extent ", ext, " exceeds padded input ",
                     g.in[j] + g.pb[j] + g.pe[j], " in spatial dim ", i);
            g.out[j] = span / g.s[j] + 1;
        }
    }
    return g;
}

// Checks the input and weight of Conv / ConvTranspose against each other.
void check_conv_operands(const graph::Node& nd, const Tensor& x0, const Tensor& w0) {
    HQ_CHECK(x0.rank() >= 3 && x0.rank() <= 5, nd.label(), ": input rank ", x0.rank(), ", expected 3 to 5");
    HQ_CHECK(w0.rank() == x0.rank(), nd.label(), ": weight rank ", w0.rank(), ", expected ", x0.rank());
    HQ_CHECK(w0.dtype() == x0.dtype(), nd.label(), ": weight is ", dtype_name(w0.dtype()), ", input is ",
             dtype_name(x0.dtype()));
}

// The common tail of Conv and ConvTranspose: stages float16/bfloat16 through float32, checks the bias
// (M values), allocates the output [N, M, spatial...] and runs `typed(T{}, x, w, bias or nullptr, y)`.
template <typename F>
void run_conv_like(KernelContext& ctx, const Tensor& x0, const Tensor& w0, int64_t M, const Geom& g, F&& typed) {
    const auto& nd = ctx.node;
    const DType dt = x0.dtype();
    const bool staged = is_staged_float(dt);
    Tensor x = staged ? to_f32(x0) : x0, w = staged ? to_f32(w0) : w0, b;
    if (ctx.has_input(2)) {
        b = staged ? to_f32(ctx.in(2)) : ctx.in(2);
        HQ_CHECK(b.numel() == M && b.dtype() == x.dtype(), nd.label(), ": bias ", shape_str(b.shape()), " ",
                 dtype_name(ctx.in(2).dtype()), ", expected [", M, "] ", dtype_name(dt));
    }
    Shape ys = {x0.dim(0), M};
    for (int64_t i = 0; i < g.nsp; ++i) ys.push_back(g.out[3 - g.nsp + i]);
    Tensor y(x.dtype(), ys);
    const Tensor* bp = b.empty() ? nullptr : &b;
    if (x.dtype() == DType::F32) {
        typed(float{}, x, w, bp, y);
    } else if (x.dtype() == DType::F64) {
        typed(double{}, x, w, bp, y);
    } else {
        HQ_FAIL(nd.label(), ": unsupported element type ", dtype_name(dt));
    }
    ctx.set(0, staged ? from_f32(y, dt) : y);
}

// Checks Conv's x and w against each other and the group attribute; returns the group count.
int64_t conv_groups(const graph::Node& nd, const Tensor& x0, const Tensor& w0) {
    check_conv_operands(nd, x0, w0);
    const int64_t groups = nd.attr_int("group", 1);
    const int64_t C = x0.dim(1), M = w0.dim(0);
    HQ_CHECK(C % groups == 0 && M % groups == 0, nd.label(), ": channels ", C, " in / ", M,
             " out not divisible by group ", groups);
    HQ_CHECK(w0.dim(1) * groups == C, nd.label(), ": weight ", shape_str(w0.shape()), " expects ", w0.dim(1) * groups,
             " input channels, input has ", C);
    return groups;
}

// The Add post-op's operand when it fits the output (float32, same shape), else nullptr (epilogue not applied).
const Tensor* sum_operand_for(const KernelContext& ctx, const Shape& ys) {
    for (const auto& op : *ctx.post_ops)
        if (op.kind == graph::PostOp::Kind::Add) {
            const Tensor* o = ctx.sum_operand;
            return o && o->dtype() == DType::F32 && o->shape() == ys ? o : nullptr;
        }
    return nullptr;
}
bool has_sum(const std::vector<graph::PostOp>& ops) {
    for (const auto& op : ops)
        if (op.kind == graph::PostOp::Kind::Add) return true;
    return false;
}

// Post-ops [b, e) applied in place to y (any layout: element-wise; the Add operand `a` in y's layout).
void apply_ops(Tensor& y, const graph::PostOp* first, const graph::PostOp* last, const float* a) {
    float* p = y.data<float>();
    // One tight loop per op over cache-sized blocks (the same formulas as the unfused kernels).
    parallel_for(y.numel(), 16384, [&](int64_t b0, int64_t e0) {
        using K = graph::PostOp::Kind;
        for (int64_t b = b0; b < e0; b += 4096) {
            const int64_t e = std::min(e0, b + 4096);
            for (const graph::PostOp* o = first; o != last; ++o) {
                const auto& op = *o;
                const float al = op.alpha, be = op.beta;
                switch (op.kind) {
                    case K::Relu: for (int64_t i = b; i < e; ++i) p[i] = p[i] < 0 ? 0.f : p[i]; break;
                    case K::LeakyRelu: for (int64_t i = b; i < e; ++i) p[i] = p[i] < 0 ? p[i] * al : p[i]; break;
                    case K::Clip:
                        for (int64_t i = b; i < e; ++i) {
                            const float t = p[i] < al ? al : p[i];
                            p[i] = t > be ? be : t;
                        }
                        break;
                    case K::HardSwish:
                        for (int64_t i = b; i < e; ++i) p[i] = p[i] * std::max(0.f, std::min(1.f, p[i] / 6.f + 0.5f));
                        break;
                    case K::HardSigmoid:
                        for (int64_t i = b; i < e; ++i) p[i] = std::max(0.f, std::min(1.f, al * p[i] + be));
                        break;
                    case K::Sigmoid: for (int64_t i = b; i < e; ++i) p[i] = 1.f / (1.f + std::exp(-p[i])); break;
                    case K::Swish: for (int64_t i = b; i < e; ++i) p[i] = p[i] / (1.f + std::exp(-p[i])); break;
                    case K::Add: for (int64_t i = b; i < e; ++i) p[i] += a[i]; break;
                    // alpha 1 or beta 0 (the exact single ops): the same one rounding as the unfused Add or Mul.
                    case K::Linear: for (int64_t i = b; i < e; ++i) p[i] = al * p[i] + be; break;
                }
            }
        }
    });
}

// The fused epilogue applied after the reference kernel (where oneDNN refused the shape).
void apply_post_ops(KernelContext& ctx) {
    Tensor& y = ctx.outputs[0];
    if (!ctx.post_ops || y.dtype() != DType::F32) return;
    const Tensor* operand = sum_operand_for(ctx, y.shape());
    if (has_sum(*ctx.post_ops) && !operand) return;
    const auto& ops = *ctx.post_ops;
    apply_ops(y, ops.data(), ops.data() + ops.size(), operand ? operand->data<float>() : nullptr);
    ctx.fused = true;
}

// float32 Conv through oneDNN, with the fused epilogue when it fits; false when oneDNN refused the geometry.
// x may be channel-blocked (ctx.in_blocked); y is stored blocked when the executor allows it (ctx.out_blocked_ok).
bool conv_dnnl(KernelContext& ctx, const Tensor& x, const Tensor& w, int64_t groups, const Geom& g) {
    const Tensor* b = ctx.has_input(2) ? &ctx.in(2) : nullptr;
    const int64_t M = w.dim(0);
    if (b && (b->dtype() != DType::F32 || b->numel() != M)) return false;  // the reference path reports it
    Shape ys = {x.dim(0), M};
    for (int64_t i = 0; i < g.nsp; ++i) ys.push_back(g.out[3 - g.nsp + i]);
    if (shape_numel(ys) == 0 || x.numel() == 0) return false;
    static const std::vector<graph::PostOp> none;
    const std::vector<graph::PostOp>* ops = ctx.post_ops ? ctx.post_ops : &none;
    const Tensor* operand = nullptr;
    if (has_sum(*ops)) {
        operand = sum_operand_for(ctx, ys);
        if (!operand) ops = &none;
    }
    // oneDNN takes the longest correct prefix of the chain; an element-wise rest (no Add in it) runs in place after
    // it, in whatever layout y has. A cut before the Add: the whole chain runs as the epilogue (below).
    std::vector<graph::PostOp> head;
    const graph::PostOp* rest = nullptr;
    if (!ops->empty()) {
        const size_t k = dnnl_post_ops_prefix(*ops);
        bool sum_in_rest = false;
        for (size_t i = k; i < ops->size(); ++i) sum_in_rest |= (*ops)[i].kind == graph::PostOp::Kind::Add;
        if (k > 0 && k < ops->size() && !sum_in_rest) {
            head.assign(ops->begin(), ops->begin() + (std::ptrdiff_t)k);
            rest = ops->data() + k;
        }
    }
    const std::vector<graph::PostOp>& run_ops = rest ? head : *ops;
    DnnlConvGeom dg;
    dg.nsp = g.nsp, dg.N = x.dim(0), dg.C = x.dim(1), dg.M = M, dg.groups = groups;
    for (int i = 0; i < 3; ++i) {
        dg.in[i] = g.in[i], dg.out[i] = g.out[i], dg.k[i] = g.k[i], dg.s[i] = g.s[i], dg.d[i] = g.d[i];
        dg.pb[i] = g.pb[i], dg.pe[i] = g.pe[i];
    }
    dg.src_blocked = ctx.in_blocked;
    // Blocked output only for the group's full result (an unfused group's output goes to plain kernels).
    dg.dst_blocked = ctx.out_blocked_ok && g.nsp == 2 && M % dnnl_block() == 0 && (ops != &none || !ctx.post_ops);
    Tensor y;
    if (operand) {
        const void* o = operand->raw();
        if (ctx.sum_blocked != dg.dst_blocked) {
            y = dg.dst_blocked ? plain_to_blocked(*operand) : blocked_to_plain(*operand);
        } else if (ctx.sum_reusable && operand->storage().use_count() == 1 && o != x.raw() && o != w.raw() &&
                   (!b || o != b->raw())) {
            // In place only when nothing else holds the operand's storage and the conv does not read it.
            y = *operand;
        } else {
            y = Tensor::uninit(DType::F32, ys);
            std::memcpy(y.raw(), o, y.nbytes());
        }
    } else {
        y = Tensor::uninit(DType::F32, ys);
    }
    const std::shared_ptr<void>* owner = ctx.is_const(1) ? &w.storage() : nullptr;
    const float* bp = b ? b->data<float>() : nullptr;
    if (dnnl_conv_f32(dg, x.data<float>(), w.data<float>(), owner, bp, y.data<float>(), run_ops)) {
        if (rest) apply_ops(y, rest, ops->data() + ops->size(), nullptr);
        ctx.set(0, std::move(y));
        ctx.fused = !ops->empty();
        ctx.out_blocked = dg.dst_blocked;
        return true;
    }
    if (ops->empty()) return false;
    // oneDNN refused these post-ops (nothing was written; y holds the Add's operand, in y's layout). With an Add after
    // element-wise ops (oneDNN 2.6's AVX2 kernels take no sum after an eltwise post-op), the ops before the Add still
    // go with the conv, in the planned layout; the Add and the rest run after it (same formulas as the kernels).
    size_t add_at = 0;
    while (add_at < ops->size() && (*ops)[add_at].kind != graph::PostOp::Kind::Add) ++add_at;
    if (operand && add_at > 0 && add_at < ops->size()) {
        std::vector<graph::PostOp> pre(ops->begin(), ops->begin() + (std::ptrdiff_t)add_at);
        pre.resize(dnnl_post_ops_prefix(pre));
        Tensor z = Tensor::uninit(DType::F32, ys);
        if (!pre.empty() && dnnl_conv_f32(dg, x.data<float>(), w.data<float>(), owner, bp, z.data<float>(), pre)) {
            apply_ops(z, ops->data() + pre.size(), ops->data() + ops->size(), y.data<float>());
            ctx.set(0, std::move(z));
            ctx.fused = true;
            ctx.out_blocked = dg.dst_blocked;
            return true;
        }
    }
    // Otherwise the plain conv, then the epilogue here, in plain layout.
    dg.dst_blocked = false;
    y = Tensor::uninit(DType::F32, ys);
    if (!dnnl_conv_f32(dg, x.data<float>(), w.data<float>(), owner, bp, y.data<float>(), none)) return false;
    ctx.set(0, std::move(y));
    Tensor plain_operand;
    if (ctx.sum_blocked && ctx.sum_operand) {
        plain_operand = blocked_to_plain(*ctx.sum_operand);
        ctx.sum_operand = &plain_operand;
    }
    apply_post_ops(ctx);
    return true;
}

void conv_kernel(KernelContext& ctx) {
    const int64_t M = ctx.in(1).dim(0);
    {
        const Tensor& x0 = ctx.in(0);
        const Tensor& w0 = ctx.in(1);
        const int64_t groups = conv_groups(ctx.node, x0, w0);
        const Geom g = conv_geom(ctx, x0.shape(), w0.shape());
        const int64_t macs = x0.dim(0) * M * g.out_size() * (x0.dim(1) / groups) * g.kvol();
        // Channels in whole blocks (input channels too, or fewer than a block as in a first layer): oneDNN whatever the
        // size, the tensors stay blocked between such convs. Otherwise every call would pay a padded reorder in and
        // out, which only pays for big convs (measured on BlazeFace's 24-channel layers: 2.5x slower through oneDNN).
        const int64_t C = x0.dim(1);
        // Not in quantized graphs: there the reference kernels' sums were measured closer to ONNX Runtime's (the
        // FP16 QDQ classifier: cosine 0.99999987 vs 0.99968 through oneDNN).
        const int64_t B = dnnl_block();
        const bool whole_blocks = g.nsp == 2 && M % B == 0 && (C % B == 0 || C < B) && !ctx.quantized_graph;
        if (x0.dtype() == DType::F32 && dnnl_enabled() && (whole_blocks || macs >= dnnl_min_macs()) &&
            conv_dnnl(ctx, x0, w0, groups, g))
            return;
    }
    // The reference path reads and writes plain layout.
    Tensor x_plain, operand_plain;
    if (ctx.in_blocked) {
        x_plain = blocked_to_plain(ctx.in(0));
        ctx.inputs[0] = &x_plain;
        ctx.in_blocked = false;
    }
    if (ctx.sum_blocked && ctx.sum_operand) {
        operand_plain = blocked_to_plain(*ctx.sum_operand);
        ctx.sum_operand = &operand_plain;
        ctx.sum_blocked = false;
    }
    const Tensor& x0 = ctx.in(0);
    const Tensor& w0 = ctx.in(1);
    const int64_t groups = conv_groups(ctx.node, x0, w0);
    const Geom g = conv_geom(ctx, x0.shape(), w0.shape());
    run_conv_like(ctx, x0, w0, M, g, [&](auto tag, const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y) {
        conv_typed<decltype(tag)>(x, w, b, y, groups, g);
    });
    apply_post_ops(ctx);
}

// ------------------------------------------------------------------------------------- ConvTranspose

// Adds column rows [Mg * kvol] x input positions of input rows [r0, r1) into the output planes of the group.
template <typename T>
void col2im(const T* col, int64_t mg, const Geom& g, int64_t r0, int64_t r1, T* y) {
    const int64_t iw_n = g.in[2], cols = (r1 - r0) * iw_n, kvol = g.kvol(), os = g.out_size();
    const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
    parallel_for(mg, 1, [&](int64_t b, int64_t e) {
        for (int64_t m = b; m < e; ++m) {
            T* yp = y + m * os;
            for (int64_t kidx = 0; kidx < kvol; ++kidx) {
                const int64_t kd = kidx / (g.k[1] * g.k[2]), kh = (kidx / g.k[2]) % g.k[1], kw = kidx % g.k[2];
                const T* src = col + (m * kvol + kidx) * cols;
                const int64_t off_w = kw * g.d[2] - g.pb[2];
                int64_t lo, hi;
                valid_range(off_w, g.s[2], OW, iw_n, lo, hi);
                for (int64_t r = r0; r < r1; ++r) {
                    const int64_t id = r / g.in[1], ih = r % g.in[1];
                    const int64_t od = id * g.s[0] - g.pb[0] + kd * g.d[0], oh = ih * g.s[1] - g.pb[1] + kh * g.d[1];
                    if (od < 0 || od >= OD || oh < 0 || oh >= OH) continue;
                    T* yrow = yp + (od * OH + oh) * OW + off_w;
                    const T* srow = src + (r - r0) * iw_n;
                    const int64_t sw = g.s[2];
                    if (sw == 1) {
                        for (int64_t iw = lo; iw < hi; ++iw) yrow[iw] += srow[iw];
                    } else {
                        for (int64_t iw = lo; iw < hi; ++iw) yrow[iw * sw] += srow[iw];
                    }
                }
            }
        }
    });
}

template <typename T>
void conv_transpose_typed(const Tensor& xt, const Tensor& wt, const Tensor* bt, Tensor& yt, int64_t groups,
                          const Geom& g) {
    const int64_t N = xt.dim(0), C = xt.dim(1), mg = wt.dim(1), M = mg * groups;
    const int64_t cg = C / groups, kvol = g.kvol(), is = g.in_size(), os = g.out_size();
    const T* x = xt.data<T>();
    const T* w = wt.data<T>();
    const T* bias = bt ? bt->data<T>() : nullptr;
    T* y = yt.data<T>();
    if (y == nullptr || os == 0) return;
    const int64_t rows = mg * kvol, in_rows = g.in[0] * g.in[1], iw_n = g.in[2];
    const int64_t rows_per_tile =
        std::clamp<int64_t>(kColBudget / std::max<int64_t>(rows * iw_n, 1), 1, std::max<int64_t>(in_rows, 1));
    T* col = scratch<T>((size_t)(rows * rows_per_tile * iw_n));
    for (int64_t n = 0; n < N; ++n) {
        T* yn = y + n * M * os;
        if (bias) {
            for (int64_t m = 0; m < M; ++m) std::fill(yn + m * os, yn + (m + 1) * os, bias[m]);
        }
        for (int64_t gi = 0; gi < groups; ++gi) {
            const T* xg = x + (n * C + gi * cg) * is;
            const T* wg = w + gi * cg * rows;  // [cg, mg * kvol]
            for (int64_t r0 = 0; r0 < in_rows; r0 += rows_per_tile) {
                const int64_t r1 = std::min(in_rows, r0 + rows_per_tile), cols = (r1 - r0) * iw_n;
                blas_gemm(true, false, rows, cols, cg, T(1), wg, rows, xg + r0 * iw_n, is, T(0), col, cols);
                col2im<T>(col, mg, g, r0, r1, yn + gi * mg * os);
            }
        }
    }
}

void conv_transpose_kernel(KernelContext& ctx) {
    const auto& nd = ctx.node;
    const Tensor& x0 = ctx.in(0);
    const Tensor& w0 = ctx.in(1);
    check_conv_operands(nd, x0, w0);
    const int64_t groups = nd.attr_int("group", 1);
    const int64_t C = x0.dim(1), M = w0.dim(1) * groups;
    HQ_CHECK(w0.dim(0) == C && C % groups == 0, nd.label(), ": weight ", shape_str(w0.shape()), " does not match ", C,
             " input channels with group ", groups);
    Geom g;
    g.nsp = x0.rank() - 2;
    read_window_attrs(ctx, g);
    auto ks = nd.attr_ints("kernel_shape");
    auto op = nd.attr_ints("output_padding", std::vector<int64_t>(g.nsp, 0));
    auto osh = nd.attr_ints("output_shape");
    if ((int64_t)osh.size() == g.nsp + 2) osh.erase(osh.begin(), osh.begin() + 2);
    HQ_CHECK((int64_t)op.size() == g.nsp, nd.label(), ": output_padding has ", op.size(), " values, expected ", g.nsp);
    HQ_CHECK(osh.empty() || (int64_t)osh.size() == g.nsp, nd.label(), ": output_shape ", shape_str(osh),
             " does not match spatial rank ", g.nsp);
    const AutoPad ap = auto_pad_of(nd);
    for (int64_t i = 0; i < g.nsp; ++i) {
        const int64_t j = 3 - g.nsp + i;
        g.in[j] = x0.dim(2 + i);
        g.k[j] = w0.dim(2 + i);
        HQ_CHECK(ks.empty() || ((int64_t)ks.size() == g.nsp && ks[i] == g.k[j]), nd.label(), ": kernel_shape ",
                 shape_str(ks), " does not match weight ", shape_str(w0.shape()));
        const int64_t full = (g.in[j] - 1) * g.s[j] + op[i] + (g.k[j] - 1) * g.d[j] + 1;
        if (ap == AutoPad::Valid) g.pb[j] = g.pe[j] = 0;
        if (!osh.empty() || ap == AutoPad::SameUpper || ap == AutoPad::SameLower) {
            const int64_t target = !osh.empty() ? osh[i] : g.in[j] * g.s[j];
            const int64_t total = std::max<int64_t>(0, full - target);
            // As the ONNX spec and its reference: SAME_UPPER puts the odd pixel at the end.
            g.pb[j] = ap == AutoPad::SameLower ? total - total / 2 : total / 2;
            g.pe[j] = total - g.pb[j];
            g.out[j] = target;
        } else {
            g.out[j] = full - g.pb[j] - g.pe[j];
        }
        HQ_CHECK(g.out[j] >= 0, nd.label(), ": negative output size in spatial dim ", i);
    }
    run_conv_like(ctx, x0, w0, M, g, [&](auto tag, const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y) {
        conv_transpose_typed<decltype(tag)>(x, w, b, y, groups, g);
    });
}

}  // namespace

std::string conv_window_check(const graph::Node& n, int64_t opset) { return check_conv_attrs(n, opset); }

Tensor conv_tensors(const KernelContext& ctx, const Tensor& x, const Tensor& w) {
    const auto& nd = ctx.node;
    const int64_t groups = conv_groups(nd, x, w), M = w.dim(0);
    const Geom g = conv_geom(ctx, x.shape(), w.shape());
    Shape ys = {x.dim(0), M};
    for (int64_t i = 0; i < g.nsp; ++i) ys.push_back(g.out[3 - g.nsp + i]);
    Tensor y(x.dtype(), ys);
    if (x.dtype() == DType::F32)
        conv_typed<float>(x, w, nullptr, y, groups, g);
    else if (x.dtype() == DType::F64)
        conv_typed<double>(x, w, nullptr, y, groups, g);
    else
        HQ_FAIL(nd.label(), ": conv_tensors needs float32 or float64, got ", dtype_name(x.dtype()));
    return y;
}

void register_conv(KernelRegistry& r) {
    r.add("Conv", conv_kernel, check_conv_attrs);
    r.add("ConvTranspose", conv_transpose_kernel, check_conv_attrs);
}

}  // namespace hq::exec::cpu

// Pooling on the CPU: MaxPool (with optional Indices), AveragePool, GlobalAveragePool, GlobalMaxPool.
// Spatial dims are normalized to three (D, H, W) with leading ones; windows are clipped to the valid
// input range per output position, so the inner loops carry no bounds checks. Parallel over planes.
#include <algorithm>
#include <limits>
#include <type_traits>

#include "exec/cpu/common.h"
#include "exec/cpu/dnnl_conv.h"
#include "exec/cpu/kernels.h"

namespace hq::exec::cpu {

namespace {

struct PoolGeom {
    int64_t nsp = 0;
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
    int64_t in_size() const { return in[0] * in[1] * in[2]; }
    int64_t out_size() const { return out[0] * out[1] * out[2]; }
};

std::string check_pool(const graph::Node& n, int64_t) {
    const std::string a = n.attr_string("auto_pad", "NOTSET");
    if (a != "NOTSET" && a != "SAME_UPPER" && a != "SAME_LOWER" && a != "VALID")
        return "auto_pad '" + a + "' is not supported";
    if (!n.has_attr("kernel_shape")) return "kernel_shape is required";
    const auto ks = n.attr_ints("kernel_shape");
    if (ks.empty() || ks.size() > 3) return "only 1-D, 2-D and 3-D pooling is supported";
    for (int64_t v : ks)
        if (v < 1) return "kernel_shape values must be >= 1";
    for (const char* name : {"strides", "dilations"})
        for (int64_t v : n.attr_ints(name))
            if (v < 1) return std::string(name) + " must be >= 1";
    for (int64_t v : n.attr_ints("pads"))
        if (v < 0) return "negative pads are not supported";
    const int64_t so = n.attr_int("storage_order", 0);
    if (so != 0 && so != 1) return "storage_order must be 0 or 1";
    return "";
}

PoolGeom pool_geom(const KernelContext& ctx, const Shape& xs) {
    const auto& nd = ctx.node;
    PoolGeom g;
    g.nsp = (int64_t)xs.size() - 2;
    const auto ks = nd.attr_ints("kernel_shape");
    HQ_CHECK(g.nsp >= 1 && g.nsp <= 3, nd.label(), ": input rank ", xs.size(), ", expected 3 to 5");
    HQ_CHECK((int64_t)ks.size() == g.nsp, nd.label(), ": kernel_shape ", shape_str(ks), " does not match input ",
             shape_str(xs));
    const int64_t r = g.nsp;
    auto st = nd.attr_ints("strides", std::vector<int64_t>(r, 1));
    auto dl = nd.attr_ints("dilations", std::vector<int64_t>(r, 1));
    auto pads = nd.attr_ints("pads", std::vector<int64_t>(2 * r, 0));
    HQ_CHECK((int64_t)st.size() == r && (int64_t)dl.size() == r && (int64_t)pads.size() == 2 * r, nd.label(),
             ": strides/dilations/pads do not match spatial rank ", r);
    const std::string ap = nd.attr_string("auto_pad", "NOTSET");
    const bool ceil_mode = nd.attr_int("ceil_mode", 0) != 0;
    for (int64_t i = 0; i < 3; ++i) {
        g.in[i] = g.out[i] = g.k[i] = g.s[i] = g.d[i] = 1;
        g.pb[i] = g.pe[i] = 0;
    }
    for (int64_t i = 0; i < r; ++i) {
        const int64_t j = 3 - r + i;
        g.in[j] = xs[2 + i];
        g.k[j] = ks[i];
        g.s[j] = st[i];
        g.d[j] = dl[i];
        const int64_t ext = (g.k[j] - 1) * g.d[j] + 1;
        if (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
            g.out[j] = (g.in[j] + g.s[j] - 1) / g.s[j];
            const int64_t total = std::max<int64_t>(0, (g.out[j] - 1) * g.s[j] + ext - g.in[j]);
            g.pb[j] = ap == "SAME_UPPER" ? total / 2 : total - total / 2;
            g.pe[j] = total - g.pb[j];
            continue;
        }
        if (ap != "VALID") {
            g.pb[j] = pads[i];
            g.pe[j] = pads[i + r];
        }
        const int64_t span = g.in[j] + g.pb[j] + g.pe[j] - ext;
        HQ_CHECK(span >= 0, nd.label(), ": window extent ", ext, " exceeds padded input in spatial dim ", i);
        g.out[j] = (ceil_mode ? (span + g.s[j] - 1) / g.s[j] : span / g.s[j]) + 1;
        // The last window must start inside the input or its leading padding.
        if (ceil_mode && (g.out[j] - 1) * g.s[j] >= g.in[j] + g.pb[j]) --g.out[j];
    }
    return g;
}

// Taps [lo, hi) of a window starting at `start` that land inside [0, limit).
inline void tap_range(int64_t start, int64_t k, int64_t d, int64_t limit, int64_t& lo, int64_t& hi) {
    lo = start >= 0 ? 0 : (-start + d - 1) / d;
    hi = start >= limit ? 0 : std::min(k, (limit - start + d - 1) / d);
    lo = std::min(lo, hi);
}

Shape pooled_shape(const Shape& xs, const PoolGeom& g) {
    Shape ys = {xs[0], xs[1]};
    for (int64_t i = 0; i < g.nsp; ++i) ys.push_back(g.out[3 - g.nsp + i]);
    return ys;
}

// Calls body(plane, od, oh, ow, [d/h/w lo,hi ranges], input row starts) for every output position.
template <typename F>
void for_each_window(int64_t planes, const PoolGeom& g, F&& body) {
    const int64_t os = g.out_size();
    parallel_for(planes, std::max<int64_t>(1, 4096 / std::max<int64_t>(os, 1)), [&](int64_t b, int64_t e) {
        for (int64_t p = b; p < e; ++p) {
            int64_t o = 0;
            for (int64_t od = 0; od < g.out[0]; ++od) {
                const int64_t sd = od * g.s[0] - g.pb[0];
                int64_t dlo, dhi;
                tap_range(sd, g.k[0], g.d[0], g.in[0], dlo, dhi);
                for (int64_t oh = 0; oh < g.out[1]; ++oh) {
                    const int64_t sh = oh * g.s[1] - g.pb[1];
                    int64_t hlo, hhi;
                    tap_range(sh, g.k[1], g.d[1], g.in[1], hlo, hhi);
                    for (int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
                        const int64_t sw = ow * g.s[2] - g.pb[2];
                        int64_t wlo, whi;
                        tap_range(sw, g.k[2], g.d[2], g.in[2], wlo, whi);
                        body(p, o, sd, dlo, dhi, sh, hlo, hhi, sw, wlo, whi);
                    }
                }
            }
        }
    });
}

template <typename T>
void max_pool_typed(const Tensor& xt, Tensor& yt, int64_t* idx, const PoolGeom& g, bool col_major) {
    const int64_t planes = xt.dim(0) * xt.dim(1), is = g.in_size(), os = g.out_size();
    const int64_t H = g.in[1], W = g.in[2];
    const T* x = xt.data<T>();
    T* y = yt.data<T>();
    for_each_window(planes, g,
                    [&](int64_t p, int64_t o, int64_t sd, int64_t dlo, int64_t dhi, int64_t sh, int64_t hlo,
                        int64_t hhi, int64_t sw, int64_t wlo, int64_t whi) {
                        const T* xp = x + p * is;
                        T best = std::numeric_limits<T>::lowest();
                        int64_t arg = -1;
                        for (int64_t kd = dlo; kd < dhi; ++kd) {
                            const int64_t id = sd + kd * g.d[0];
                            for (int64_t kh = hlo; kh < hhi; ++kh) {
                                const int64_t ih = sh + kh * g.d[1];
                                const T* row = xp + (id * H + ih) * W + sw;
                                for (int64_t kw = wlo; kw < whi; ++kw) {
                                    const T v = row[kw * g.d[2]];
                                    if (v > best || arg < 0) {
                                        best = v;
                                        arg = (id * H + ih) * W + sw + kw * g.d[2];
                                    }
                                }
                            }
                        }
                        y[p * os + o] = best;
                        if (idx) {
                            int64_t flat = arg;
                            if (col_major && arg >= 0) {  // column-major over the spatial dims of the original rank
                                const int64_t iw = arg % W, ih = (arg / W) % H, id = arg / (W * H);
                                if (g.nsp == 1)
                                    flat = iw;
                                else if (g.nsp == 2)
                                    flat = ih + iw * H;
                                else
                                    flat = id + ih * g.in[0] + iw * g.in[0] * H;
                            }
                            idx[p * os + o] = p * is + flat;
                        }
                    });
}

// 2-D float32 MaxPool without indices or dilation: columns whose window lies inside the row run tap-major over a
// row of outputs (a vectorizable max per tap); edge columns scalar. Same selection as max_pool_typed (the first
// valid tap starts the running max; a later tap replaces it only when greater), so results are identical.
// E: floats per position (1 plain; the block size on channel-blocked [N][C/E][H][W][E] tensors, pooled as they are).
template <int64_t E>
bool max_pool_2d_fast(const Tensor& xt, Tensor& yt, const PoolGeom& g) {
    if (g.nsp != 2 || g.d[1] != 1 || g.d[2] != 1) return false;
    const int64_t planes = xt.dim(0) * xt.dim(1) / E, H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2];
    const int64_t KH = g.k[1], KW = g.k[2], SH = g.s[1], SW = g.s[2], PT = g.pb[1], PL = g.pb[2];
    // Interior columns [c0, c1): 0 <= ow*SW - PL and ow*SW - PL + KW <= W.
    int64_t c0 = (PL + SW - 1) / SW, c1 = W - KW + PL >= 0 ? (W - KW + PL) / SW + 1 : 0;
    c0 = std::min(c0, OW);
    c1 = std::clamp(c1, c0, OW);
    const float* x = xt.data<float>();
    float* y = yt.data<float>();
    parallel_for(planes, std::max<int64_t>(1, 4096 / std::max<int64_t>(OH * OW, 1)), [&](int64_t b, int64_t e) {
        for (int64_t p = b; p < e; ++p) {
            const float* xp = x + p * H * W * E;
            for (int64_t oh = 0; oh < OH; ++oh) {
                float* yr = y + (p * OH + oh) * OW * E;
                const int64_t sh = oh * SH - PT;
                int64_t hlo, hhi;
                tap_range(sh, KH, 1, H, hlo, hhi);
                auto scalar_col = [&](int64_t ow) {
                    const int64_t sw = ow * SW - PL;
                    int64_t wlo, whi;
                    tap_range(sw, KW, 1, W, wlo, whi);
                    for (int64_t c = 0; c < E; ++c) {
                        float best = std::numeric_limits<float>::lowest();
                        bool any = false;
                        for (int64_t kh = hlo; kh < hhi; ++kh) {
                            const float* row = xp + ((sh + kh) * W + sw) * E + c;
                            for (int64_t kw = wlo; kw < whi; ++kw) {
                                const float v = row[kw * E];
                                if (v > best || !any) best = v;
                                any = true;
                            }
                        }
                        yr[ow * E + c] = best;
                    }
                };
                for (int64_t ow = 0; ow < c0; ++ow) scalar_col(ow);
                for (int64_t ow = c1; ow < OW; ++ow) scalar_col(ow);
                if (c1 <= c0) continue;
                if (hlo >= hhi) {
                    for (int64_t o = c0 * E; o < c1 * E; ++o) yr[o] = std::numeric_limits<float>::lowest();
                    continue;
                }
                for (int64_t kh = hlo; kh < hhi; ++kh) {
                    const float* row = xp + ((sh + kh) * W - PL) * E;
                    for (int64_t kw = 0; kw < KW; ++kw) {
                        const float* r = row + kw * E;
                        if (kh == hlo && kw == 0) {
                            if (SW == 1)
                                for (int64_t o = c0 * E; o < c1 * E; ++o) yr[o] = r[o];
                            else
                                for (int64_t ow = c0; ow < c1; ++ow)
                                    for (int64_t c = 0; c < E; ++c) yr[ow * E + c] = r[ow * SW * E + c];
                        } else if (SW == 1) {
                            for (int64_t o = c0 * E; o < c1 * E; ++o) yr[o] = r[o] > yr[o] ? r[o] : yr[o];
                        } else {
                            for (int64_t ow = c0; ow < c1; ++ow)
                                for (int64_t c = 0; c < E; ++c) {
                                    const float v = r[ow * SW * E + c];
                                    yr[ow * E + c] = v > yr[ow * E + c] ? v : yr[ow * E + c];
                                }
                        }
                    }
                }
            }
        }
    });
    return true;
}

void max_pool_kernel(KernelContext& ctx) {
    const auto& nd = ctx.node;
    Tensor plain;  // a blocked input's plain copy, where it cannot be pooled as it is
    if (ctx.in_blocked) {  // a channel-blocked float32 input (the executor allows it for 2-D pools without Indices)
        const Tensor& xb = ctx.in(0);
        const PoolGeom g = pool_geom(ctx, xb.shape());
        Tensor y = Tensor::uninit(DType::F32, pooled_shape(xb.shape(), g));
        const int64_t B = dnnl_block();
        const bool done = !ctx.wants_output(1) && xb.dtype() == DType::F32 && xb.dim(1) % B == 0 &&
                          (B == 16 ? max_pool_2d_fast<16>(xb, y, g) : B == 8 && max_pool_2d_fast<8>(xb, y, g));
        if (done) {
            ctx.out_blocked = ctx.out_blocked_ok;
            ctx.set(0, ctx.out_blocked ? y : blocked_to_plain(y));
            return;
        }
        ctx.in_blocked = false;
        plain = blocked_to_plain(xb);
        ctx.inputs[0] = &plain;
    }
    const Tensor& x0 = ctx.in(0);
    const DType dt = x0.dtype();
    const PoolGeom g = pool_geom(ctx, x0.shape());
    const bool staged = is_staged_float(dt);
    const Tensor x = staged ? to_f32(x0) : x0;
    Tensor y = Tensor::uninit(x.dtype(), pooled_shape(x0.shape(), g));
    int64_t* idx = nullptr;
    if (ctx.wants_output(1)) idx = ctx.alloc(1, DType::I64, y.shape()).data<int64_t>();
    const bool col_major = nd.attr_int("storage_order", 0) == 1;
    switch (x.dtype()) {
        case DType::F32:
            if (!idx && max_pool_2d_fast<1>(x, y, g)) break;
            max_pool_typed<float>(x, y, idx, g, col_major);
            break;
        case DType::F64:
            max_pool_typed<double>(x, y, idx, g, col_major);
            break;
        case DType::I8:
            max_pool_typed<int8_t>(x, y, idx, g, col_major);
            break;
        case DType::U8:
            max_pool_typed<uint8_t>(x, y, idx, g, col_major);
            break;
        default:
            HQ_FAIL(nd.label(), ": unsupported element type ", dtype_name(dt));
    }
    ctx.set(0, staged ? from_f32(y, dt) : y);
}

template <typename T>
void avg_pool_typed(const Tensor& xt, Tensor& yt, const PoolGeom& g, bool include_pad) {
    const int64_t planes = xt.dim(0) * xt.dim(1), is = g.in_size(), os = g.out_size();
    const int64_t H = g.in[1], W = g.in[2];
    const T* x = xt.data<T>();
    T* y = yt.data<T>();
    for_each_window(planes, g,
                    [&](int64_t p, int64_t o, int64_t sd, int64_t dlo, int64_t dhi, int64_t sh, int64_t hlo,
                        int64_t hhi, int64_t sw, int64_t wlo, int64_t whi) {
                        const T* xp = x + p * is;
                        double sum = 0;
                        for (int64_t kd = dlo; kd < dhi; ++kd) {
                            const int64_t id = sd + kd * g.d[0];
                            for (int64_t kh = hlo; kh < hhi; ++kh) {
                                const T* row = xp + (id * H + sh + kh * g.d[1]) * W + sw;
                                for (int64_t kw = wlo; kw < whi; ++kw) sum += row[kw * g.d[2]];
                            }
                        }
                        int64_t count;
                        if (include_pad) {  // taps inside the padded input (not those past it under ceil_mode)
                            int64_t n[3];
                            const int64_t starts[3] = {sd, sh, sw};
                            for (int64_t a = 0; a < 3; ++a) {
                                int64_t lo, hi;
                                tap_range(starts[a] + g.pb[a], g.k[a], g.d[a], g.in[a] + g.pb[a] + g.pe[a], lo, hi);
                                n[a] = hi - lo;
                            }
                            count = n[0] * n[1] * n[2];
                        } else {
                            count = (dhi - dlo) * (hhi - hlo) * (whi - wlo);
                        }
                        y[p * os + o] = count > 0 ? (T)(sum / (double)count) : T(0);
                    });
}

void avg_pool_kernel(KernelContext& ctx) {
    const auto& nd = ctx.node;
    const Tensor& x0 = ctx.in(0);
    const DType dt = x0.dtype();
    const PoolGeom g = pool_geom(ctx, x0.shape());
    const bool staged = is_staged_float(dt);
    const Tensor x = staged ? to_f32(x0) : x0;
    Tensor y(x.dtype(), pooled_shape(x0.shape(), g));
    const bool include_pad = nd.attr_int("count_include_pad", 0) != 0;
    if (x.dtype() == DType::F32)
        avg_pool_typed<float>(x, y, g, include_pad);
    else if (x.dtype() == DType::F64)
        avg_pool_typed<double>(x, y, g, include_pad);
    else
        HQ_FAIL(nd.label(), ": unsupported element type ", dtype_name(dt));
    ctx.set(0, staged ? from_f32(y, dt) : y);
}

template <typename T, bool kMax>
void global_pool_typed(const Tensor& xt, Tensor& yt) {
    const int64_t planes = xt.dim(0) * xt.dim(1), is = xt.numel() / std::max<int64_t>(planes, 1);
    const T* x = xt.data<T>();
    T* y = yt.data<T>();
    parallel_for(planes, std::max<int64_t>(1, 16384 / std::max<int64_t>(is, 1)), [&](int64_t b, int64_t e) {
        for (int64_t p = b; p < e; ++p) {
            const T* xp = x + p * is;
            if constexpr (kMax) {
                T m = is > 0 ? xp[0] : T(0);
                for (int64_t i = 1; i < is; ++i) m = xp[i] > m ? xp[i] : m;
                y[p] = m;
            } else if constexpr (std::is_same_v<T, float>) {  // as ONNX Runtime (MLAS) sums, bit for bit
                y[p] = is > 0 ? mlas_float_sum(xp, is) / (float)is : 0.0f;
            } else {
                double s = 0;
                for (int64_t i = 0; i < is; ++i) s += xp[i];
                y[p] = is > 0 ? (T)(s / (double)is) : T(0);
            }
        }
    });
}

template <bool kMax>
void global_pool_kernel(KernelContext& ctx) {
    const auto& nd = ctx.node;
    const Tensor& x0 = ctx.in(0);
    const DType dt = x0.dtype();
    HQ_CHECK(x0.rank() >= 3, nd.label(), ": input rank ", x0.rank(), ", expected at least 3");
    Shape ys = {x0.dim(0), x0.dim(1)};
    ys.resize(x0.rank(), 1);
    const bool staged = is_staged_float(dt);
    const Tensor x = staged ? to_f32(x0) : x0;
    Tensor y(x.dtype(), ys);
    if (x.dtype() == DType::F32)
        global_pool_typed<float, kMax>(x, y);
    else if (x.dtype() == DType::F64)
        global_pool_typed<double, kMax>(x, y);
    else if (kMax && x.dtype() == DType::I8)
        global_pool_typed<int8_t, kMax>(x, y);
    else if (kMax && x.dtype() == DType::U8)
        global_pool_typed<uint8_t, kMax>(x, y);
    else
        HQ_FAIL(nd.label(), ": unsupported element type ", dtype_name(dt));
    ctx.set(0, staged ? from_f32(y, dt) : y);
}

}  // namespace

void register_pool(KernelRegistry& r) {
    r.add("MaxPool", max_pool_kernel, check_pool);
    r.add("AveragePool", avg_pool_kernel, check_pool);
    r.add("GlobalAveragePool", global_pool_kernel<false>);
    r.add("GlobalMaxPool", global_pool_kernel<true>);
}

}  // namespace hq::exec::cpu

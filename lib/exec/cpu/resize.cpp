// Resize (opset 10+) and Upsample (opset 7-9) on the CPU. Each resized axis gets a table of input taps
// and weights per output index (nearest: one tap; linear/cubic: two/four, more under antialias).
// Nearest is one multi-axis gather on raw elements (any dtype); linear and cubic run separable passes
// in float32, one per resized axis. tf_crop_and_resize positions outside the input get extrapolation_value.
#include <algorithm>
#include <cmath>
#include <limits>

#include "exec/cpu/common.h"
#include "exec/cpu/kernels.h"
#include "exec/resize_rules.h"

namespace hq::exec::cpu {

namespace {

using namespace resize;

// Nearest: out[j0, j1, ...] = in[idx0[j0], idx1[j1], ...] on raw elements of `esize` bytes.
template <typename E>
void gather_nearest(const E* x, E* y, const Shape& xs, const Shape& ys, const std::vector<AxisMap>& maps) {
    const int64_t rank = (int64_t)xs.size();
    const auto ist = shape_strides(xs);
    std::vector<std::vector<int64_t>> off(rank);
    for (int64_t a = 0; a < rank; ++a) {
        off[a].resize(ys[a]);
        for (int64_t j = 0; j < ys[a]; ++j) off[a][j] = maps[a].idx[j * maps[a].taps] * ist[a];
    }
    const int64_t inner = ys[rank - 1], rows = shape_numel(ys) / std::max<int64_t>(inner, 1);
    if (inner == 0) return;
    const int64_t* last = off[rank - 1].data();
    parallel_for(rows, std::max<int64_t>(1, 8192 / inner), [&](int64_t b, int64_t e) {
        for (int64_t row = b; row < e; ++row) {
            int64_t src = 0, q = row;
            for (int64_t a = rank - 2; a >= 0; --a) {
                src += off[a][q % ys[a]];
                q /= ys[a];
            }
            const E* xr = x + src;
            E* yr = y + row * inner;
            for (int64_t j = 0; j < inner; ++j) yr[j] = xr[last[j]];
        }
    });
}

// Output rows [b, e) of a pass: row oj = (o, j) is sum_t w[j, t] * input row (o, idx[j, t]), `inner` wide (taps of
// weight 0 are skipped, so an Inf beside the sampled positions stays out). Every output element is written.
HQ_CPU_CLONES void resize_rows(const float* xp, float* yp, int64_t b, int64_t e, int64_t lin, int64_t lout,
                               int64_t inner, int64_t taps, const int64_t* idx, const float* w) {
    for (int64_t oj = b; oj < e; ++oj) {
        const int64_t o = oj / lout, j = oj % lout;
        const float* src = xp + o * lin * inner;
        const int64_t* ix = idx + j * taps;
        const float* wx = w + j * taps;
        float* dst = yp + oj * inner;
        if (inner == 1) {
            float acc = 0;
            for (int64_t t = 0; t < taps; ++t) acc += wx[t] * src[ix[t]];
            dst[0] = acc;
            continue;
        }
        bool first = true;
        for (int64_t t = 0; t < taps; ++t) {
            const float wv = wx[t];
            if (wv == 0.f) continue;
            const float* sr = src + ix[t] * inner;
            if (first) {
                for (int64_t i = 0; i < inner; ++i) dst[i] = wv * sr[i];
                first = false;
            } else {
                for (int64_t i = 0; i < inner; ++i) dst[i] += wv * sr[i];
            }
        }
        if (first) std::fill(dst, dst + inner, 0.f);
    }
}

// Linear along the last axis (two taps, tables split into 32-bit index and weight arrays): whole runs of an output
// row at a time, so the loop vectorizes with gathers.
HQ_CPU_CLONES void lerp_last_axis(const float* xp, float* yp, int64_t b, int64_t e, int64_t lin, int64_t lout,
                                  const int32_t* i0, const int32_t* i1, const float* w0, const float* w1) {
    for (int64_t oj = b; oj < e;) {
        const int64_t o = oj / lout, j = oj % lout, end = std::min(lout, j + (e - oj));
        const float* src = xp + o * lin;
        float* dst = yp + o * lout;
        for (int64_t q = j; q < end; ++q) dst[q] = w0[q] * src[i0[q]] + w1[q] * src[i1[q]];
        oj += end - j;
    }
}

// One separable pass over `axis` of a float32 tensor.
Tensor resize_axis(const Tensor& x, int64_t axis, int64_t lout, const AxisMap& m) {
    Shape ys = x.shape();
    const int64_t lin = ys[axis];
    ys[axis] = lout;
    Tensor y = Tensor::uninit(DType::F32, ys);  // resize_rows writes every element
    int64_t outer = 1, inner = 1;
    for (int64_t a = 0; a < axis; ++a) outer *= ys[a];
    for (int64_t a = axis + 1; a < (int64_t)ys.size(); ++a) inner *= ys[a];
    const float* xp = x.data<float>();
    float* yp = y.data<float>();
    if (inner == 1 && m.taps == 2 && lin < (int64_t(1) << 31)) {
        std::vector<int32_t> i0((size_t)lout), i1((size_t)lout);
        std::vector<float> w0((size_t)lout), w1((size_t)lout);
        for (int64_t j = 0; j < lout; ++j) {
            i0[(size_t)j] = (int32_t)m.idx[(size_t)(2 * j)], i1[(size_t)j] = (int32_t)m.idx[(size_t)(2 * j + 1)];
            w0[(size_t)j] = m.w[(size_t)(2 * j)], w1[(size_t)j] = m.w[(size_t)(2 * j + 1)];
        }
        parallel_for(outer * lout, 8192, [&](int64_t b, int64_t e) {
            lerp_last_axis(xp, yp, b, e, lin, lout, i0.data(), i1.data(), w0.data(), w1.data());
        });
        return y;
    }
    parallel_for(outer * lout, std::max<int64_t>(1, 4096 / (inner * m.taps)), [&](int64_t b, int64_t e) {
        resize_rows(xp, yp, b, e, lin, lout, inner, m.taps, m.idx.data(), m.w.data());
    });
    return y;
}

// Sets every element whose index on some axis maps outside the input to `v` (raw elements).
template <typename E>
void fill_outside(E* y, const Shape& ys, const std::vector<AxisMap>& maps, E v) {
    for (size_t a = 0; a < ys.size(); ++a) {
        if (!maps[a].any_outside) continue;
        int64_t outer = 1, inner = 1;
        for (size_t b = 0; b < a; ++b) outer *= ys[b];
        for (size_t b = a + 1; b < ys.size(); ++b) inner *= ys[b];
        for (int64_t o = 0; o < outer; ++o)
            for (int64_t j = 0; j < ys[a]; ++j)
                if (maps[a].outside[j]) std::fill(y + (o * ys[a] + j) * inner, y + (o * ys[a] + j + 1) * inner, v);
    }
}

template <typename E>
void nearest_typed(const Tensor& x, Tensor& y, const std::vector<AxisMap>& maps, float extrapolation) {
    gather_nearest<E>(static_cast<const E*>(x.raw()), static_cast<E*>(y.raw()), x.shape(), y.shape(), maps);
    bool any = false;
    for (const auto& m : maps) any = any || m.any_outside;
    if (!any) return;
    Tensor v(DType::F32, {1});
    v.data<float>()[0] = extrapolation;
    Tensor vt;
    if (dtype_is_float(y.dtype())) {
        vt = from_f32(v, y.dtype());
    } else {
        vt = Tensor(y.dtype(), {1});
        dispatch_numeric(y.dtype(), "Resize", [&](auto tag) {
            using T = decltype(tag);
            vt.data<T>()[0] = (T)extrapolation;
        });
    }
    fill_outside<E>(static_cast<E*>(y.raw()), y.shape(), maps, *static_cast<const E*>(vt.raw()));
}

void resize_kernel(KernelContext& ctx) {
    const auto& nd = ctx.node;
    const Tensor& x = ctx.in(0);
    const Shape& xs = x.shape();
    HQ_CHECK(x.rank() >= 1, nd.label(), ": input must have rank >= 1");
    const Params p = read_params(ctx, xs);
    std::vector<AxisMap> maps;
    for (int64_t a = 0; a < x.rank(); ++a) maps.push_back(axis_map(p, a, xs[a], p.out[a]));
    if (p.mode == Mode::Nearest) {
        Tensor y(x.dtype(), p.out);
        if (y.numel() > 0) {
            switch (dtype_size(x.dtype())) {
                case 1:
                    nearest_typed<uint8_t>(x, y, maps, p.extrapolation);
                    break;
                case 2:
                    nearest_typed<uint16_t>(x, y, maps, p.extrapolation);
                    break;
                case 4:
                    nearest_typed<uint32_t>(x, y, maps, p.extrapolation);
                    break;
                case 8:
                    nearest_typed<uint64_t>(x, y, maps, p.extrapolation);
                    break;
                default:
                    HQ_FAIL(nd.label(), ": unsupported element type ", dtype_name(x.dtype()));
            }
        }
        ctx.set(0, y);
        return;
    }
    HQ_CHECK(x.dtype() != DType::String && x.dtype() != DType::Bool, nd.label(), ": unsupported element type ",
             dtype_name(x.dtype()));
    Tensor cur = to_f32(x);
    if (shape_numel(p.out) == 0) {
        cur = Tensor(DType::F32, p.out);
    } else {
        for (int64_t a = x.rank() - 1; a >= 0; --a)
            if (!maps[a].identity) cur = resize_axis(cur, a, p.out[a], maps[a]);
        fill_outside<float>(cur.data<float>(), p.out, maps, p.extrapolation);
    }
    if (dtype_is_float(x.dtype())) {
        ctx.set(0, from_f32(cur, x.dtype()));
        return;
    }
    Tensor y(x.dtype(), p.out);
    const float* c = cur.data<float>();
    dispatch_numeric(x.dtype(), nd.label(), [&](auto tag) {
        using T = decltype(tag);
        T* yp = y.data<T>();
        const double lo = (double)std::numeric_limits<T>::lowest(), hi = (double)std::numeric_limits<T>::max();
        for (int64_t i = 0; i < y.numel(); ++i) yp[i] = (T)std::clamp(std::nearbyint((double)c[i]), lo, hi);
    });
    ctx.set(0, y);
}

}  // namespace

void register_resize(KernelRegistry& r) {
    r.add(KernelDef{"Resize", "", 10, INT_MAX, resize_kernel, check_resize});
    r.add(KernelDef{"Upsample", "", 7, 9, resize_kernel, check_resize});
}

}  // namespace hq::exec::cpu

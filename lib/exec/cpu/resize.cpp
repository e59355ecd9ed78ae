// Resize (opset 10+) and Upsample (opset 7-9) on the CPU. Each resized axis gets a table of input taps
// and weights per output index (nearest: one tap; linear/cubic: two/four, more under antialias).
// Nearest is one multi-axis gather on raw elements (any dtype); linear and cubic run separable passes
// in float32, one per resized axis. tf_crop_and_resize positions outside the input get extrapolation_value.
#include <algorithm>
#include <cmath>
#include <limits>

#include "exec/cpu/common.h"
#include "exec/cpu/kernels.h"

namespace hq::exec::cpu {

namespace {


enum class Mode { Nearest, Linear, Cubic };
enum class Coord {
    HalfPixel,
    HalfPixelSymmetric,
    PytorchHalfPixel,
    AlignCorners,
    Asymmetric,
    TfHalfPixelForNN,
    TfCropAndResize
};
enum class Round { PreferFloor, PreferCeil, Floor, Ceil, Simple };

struct Params {
    Mode mode = Mode::Nearest;
    Coord coord = Coord::HalfPixel;
    Round round = Round::PreferFloor;
    double cubic_a = -0.75;
    bool exclude_outside = false;
    bool antialias = false;
    float extrapolation = 0.f;
    std::vector<double> scales;   // per axis
    std::vector<double> resized;  // per axis: scale * input length (exactly the size when sizes are given)
    Shape out;
    std::vector<double> roi_start, roi_end;  // per axis, tf_crop_and_resize only
};

// Taps of one axis: output index j reads in[idx[j * taps + t]] with weight w[j * taps + t].
struct AxisMap {
    int64_t taps = 1;
    std::vector<int64_t> idx;
    std::vector<float> w;
    std::vector<uint8_t> outside;  // j maps outside the input (tf_crop_and_resize): extrapolation value
    bool identity = false;
    bool any_outside = false;
};

bool parse_mode(const std::string& s, Mode* m) {
    if (s == "nearest")
        *m = Mode::Nearest;
    else if (s == "linear" || s == "bilinear")
        *m = Mode::Linear;
    else if (s == "cubic")
        *m = Mode::Cubic;
    else
        return false;
    return true;
}

bool parse_coord(const std::string& s, int64_t opset, Coord* c) {
    if (s == "half_pixel")
        *c = Coord::HalfPixel;
    else if (s == "half_pixel_symmetric" && opset >= 19)
        *c = Coord::HalfPixelSymmetric;
    else if (s == "pytorch_half_pixel")
        *c = Coord::PytorchHalfPixel;
    else if (s == "align_corners")
        *c = Coord::AlignCorners;
    else if (s == "asymmetric")
        *c = Coord::Asymmetric;
    else if (s == "tf_half_pixel_for_nn")
        *c = Coord::TfHalfPixelForNN;
    else if (s == "tf_crop_and_resize")
        *c = Coord::TfCropAndResize;
    else
        return false;
    return true;
}

bool parse_round(const std::string& s, Round* r) {
    if (s == "round_prefer_floor")
        *r = Round::PreferFloor;
    else if (s == "round_prefer_ceil")
        *r = Round::PreferCeil;
    else if (s == "floor")
        *r = Round::Floor;
    else if (s == "ceil")
        *r = Round::Ceil;
    else
        return false;
    return true;
}

std::string check_resize(const graph::Node& n, int64_t opset) {
    Mode m;
    Coord c;
    Round r;
    const std::string mode = n.attr_string("mode", "nearest");
    if (!parse_mode(mode, &m) || (m == Mode::Cubic && n.op_type == "Upsample"))
        return "mode '" + mode + "' is not supported";
    if (n.op_type == "Upsample" || opset < 11) return "";
    const std::string ct = n.attr_string("coordinate_transformation_mode", "half_pixel");
    if (!parse_coord(ct, opset, &c)) return "coordinate_transformation_mode '" + ct + "' is not supported";
    const std::string nm = n.attr_string("nearest_mode", "round_prefer_floor");
    if (!parse_round(nm, &r)) return "nearest_mode '" + nm + "' is not supported";
    const std::string kp = n.attr_string("keep_aspect_ratio_policy", "stretch");
    if (kp != "stretch" && kp != "not_larger" && kp != "not_smaller")
        return "keep_aspect_ratio_policy '" + kp + "' is not supported";
    return "";
}

bool nonempty(const KernelContext& ctx, size_t i) {
    return ctx.has_input(i) && ctx.in(i).numel() > 0;
}

Params read_params(const KernelContext& ctx, const Shape& xs) {
    const auto& nd = ctx.node;
    const int64_t rank = (int64_t)xs.size();
    Params p;
    parse_mode(nd.attr_string("mode", "nearest"), &p.mode);
    const bool legacy = nd.op_type == "Upsample" || ctx.opset < 11;
    std::vector<float> scales;
    std::vector<int64_t> sizes;
    std::vector<float> roi;
    if (legacy) {  // Upsample-7 (attribute), Upsample-9 and Resize-10 (input 1): asymmetric, ONNX Runtime's rounding
        p.coord = Coord::Asymmetric;
        p.round = Round::Simple;
        if (nd.op_type == "Upsample" && ctx.opset < 9)
            scales = nd.attr_floats("scales");
        else
            scales = ctx.in(1).to_f32();
        HQ_CHECK(!scales.empty(), nd.label(), ": scales are required");
    } else {
        parse_coord(nd.attr_string("coordinate_transformation_mode", "half_pixel"), ctx.opset, &p.coord);
        parse_round(nd.attr_string("nearest_mode", "round_prefer_floor"), &p.round);
        p.cubic_a = nd.attr_float("cubic_coeff_a", -0.75f);
        p.exclude_outside = nd.attr_int("exclude_outside", 0) != 0;
        p.extrapolation = nd.attr_float("extrapolation_value", 0.f);
        p.antialias = ctx.opset >= 18 && nd.attr_int("antialias", 0) != 0;
        if (nonempty(ctx, 1)) roi = ctx.in(1).to_f32();
        if (nonempty(ctx, 2)) scales = ctx.in(2).to_f32();
        if (nonempty(ctx, 3)) sizes = ctx.in(3).to_i64();
        HQ_CHECK(scales.empty() != sizes.empty(), nd.label(), ": exactly one of scales and sizes must be given");
    }
    // Axes the scales/sizes/roi refer to (opset 18 'axes'; else all).
    std::vector<int64_t> axes;
    if (!legacy && ctx.opset >= 18 && nd.has_attr("axes")) {
        for (int64_t a : nd.attr_ints("axes")) axes.push_back(normalize_axis(a, rank));
    } else {
        for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
    }
    const size_t na = axes.size();
    HQ_CHECK(scales.empty() || scales.size() == na, nd.label(), ": ", scales.size(), " scales for ", na, " axes");
    HQ_CHECK(sizes.empty() || sizes.size() == na, nd.label(), ": ", sizes.size(), " sizes for ", na, " axes");
    HQ_CHECK(roi.empty() || roi.size() == 2 * na, nd.label(), ": roi has ", roi.size(), " values, expected ", 2 * na);
    p.scales.assign(rank, 1.0);
    p.out = xs;
    p.resized.assign(xs.begin(), xs.end());
    p.roi_start.assign(rank, 0.0);
    p.roi_end.assign(rank, 1.0);
    for (size_t i = 0; i < na; ++i) {
        if (!roi.empty()) {
            p.roi_start[axes[i]] = roi[i];
            p.roi_end[axes[i]] = roi[i + na];
        }
    }
    if (!scales.empty()) {
        for (size_t i = 0; i < na; ++i) {
            HQ_CHECK(scales[i] > 0, nd.label(), ": scale ", scales[i], " must be positive");
            p.scales[axes[i]] = scales[i];
            p.out[axes[i]] = (int64_t)std::floor((double)xs[axes[i]] * (double)scales[i]);
        }
        for (int64_t a = 0; a < rank; ++a) p.resized[a] = p.scales[a] * (double)xs[a];
        return p;
    }
    const std::string policy = ctx.opset >= 18 ? nd.attr_string("keep_aspect_ratio_policy", "stretch") : "stretch";
    if (policy == "stretch") {
        for (size_t i = 0; i < na; ++i) {
            HQ_CHECK(sizes[i] >= 0, nd.label(), ": negative size ", sizes[i]);
            p.out[axes[i]] = sizes[i];
            p.scales[axes[i]] = xs[axes[i]] > 0 ? (double)sizes[i] / (double)xs[axes[i]] : 1.0;
            p.resized[axes[i]] = (double)sizes[i];
        }
        return p;
    }
    double s = policy == "not_larger" ? 1e300 : 0.0;
    for (size_t i = 0; i < na; ++i) {
        const double r = (double)sizes[i] / (double)std::max<int64_t>(xs[axes[i]], 1);
        s = policy == "not_larger" ? std::min(s, r) : std::max(s, r);
    }
    for (size_t i = 0; i < na; ++i) {
        p.scales[axes[i]] = s;
        p.out[axes[i]] = (int64_t)std::round(s * (double)xs[axes[i]]);
        p.resized[axes[i]] = s * (double)xs[axes[i]];
    }
    return p;
}

// Input coordinate of output index j on an axis; *outside when tf_crop_and_resize leaves the input.
// As ONNX's reference, the resized length is scale * input length (not rounded).
double source_coord(const Params& p, int64_t axis, int64_t j, int64_t lin, int64_t lout, bool* outside) {
    const double s = p.scales[axis], x = (double)j, lres = p.resized[axis];
    *outside = false;
    switch (p.coord) {
        case Coord::HalfPixel:
            return (x + 0.5) / s - 0.5;
        case Coord::HalfPixelSymmetric: {
            const double adjustment = (double)lout / lres;
            const double offset = (double)lin / 2 * (1 - adjustment);
            return offset + (x + 0.5) / s - 0.5;
        }
        case Coord::PytorchHalfPixel:
            return lres == 1 ? -0.5 : (x + 0.5) / s - 0.5;
        case Coord::AlignCorners:
            return lres == 1 ? 0.0 : x * (double)(lin - 1) / (lres - 1);
        case Coord::Asymmetric:
            return x / s;
        case Coord::TfHalfPixelForNN:
            return (x + 0.5) / s;
        case Coord::TfCropAndResize: {
            const double a = p.roi_start[axis], b = p.roi_end[axis];
            const double v =
                lres == 1 ? 0.5 * (a + b) * (lin - 1) : a * (lin - 1) + x * (b - a) * (lin - 1) / (lres - 1);
            *outside = v < 0 || v > (double)(lin - 1);
            return v;
        }
    }
    return x;
}

double cubic_weight(double x, double a) {
    x = std::fabs(x);
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0;
}

AxisMap axis_map(const Params& p, int64_t axis, int64_t lin, int64_t lout) {
    AxisMap m;
    const double s = p.scales[axis];
    const double aa = p.antialias && s < 1.0 ? s : 1.0;  // filter scale: widened support when downsampling
    int64_t first = 0;  // tap offsets relative to the left neighbour: [first, first + taps)
    if (p.mode == Mode::Linear) {
        first = (int64_t)std::floor(-1.0 / aa) + 1;
        m.taps = 2 - 2 * first;
    } else if (p.mode == Mode::Cubic) {
        first = (int64_t)std::floor(-2.0 / aa) + 1;
        m.taps = 2 - 2 * first;
    }
    m.idx.assign(lout * m.taps, 0);
    m.w.assign(lout * m.taps, 0.f);
    m.outside.assign(lout, 0);
    m.identity = lin == lout;
    std::vector<double> wt(m.taps);
    for (int64_t j = 0; j < lout; ++j) {
        bool outside = false;
        const double x = source_coord(p, axis, j, lin, lout, &outside);
        int64_t* ix = &m.idx[j * m.taps];
        float* wx = &m.w[j * m.taps];
        if (outside || lin == 0) {
            m.outside[j] = 1;
            m.any_outside = true;
            m.identity = false;
            continue;
        }
        if (p.mode == Mode::Nearest) {
            const double fl = std::floor(x), r = x - fl;
            int64_t v;
            if (p.round == Round::Simple)
                v = s < 1.0 ? (int64_t)std::ceil(x) : (int64_t)fl;
            else if (r == 0)
                v = (int64_t)fl;
            else if (p.round == Round::PreferFloor)
                v = (int64_t)fl + (r > 0.5 ? 1 : 0);
            else if (p.round == Round::PreferCeil)
                v = (int64_t)fl + (r >= 0.5 ? 1 : 0);
            else if (p.round == Round::Floor)
                v = (int64_t)fl;
            else
                v = (int64_t)fl + 1;
            ix[0] = std::clamp<int64_t>(v, 0, lin - 1);
            wx[0] = 1.f;
            if (ix[0] != j) m.identity = false;
            continue;
        }
        // The left neighbour is floor(x), or x - 1 when x is integral (ratio in (0, 1]).
        int64_t left = (int64_t)std::floor(x);
        double ratio = x - (double)left;
        if (ratio == 0) {
            left -= 1;
            ratio = 1;
        }
        double sum = 0;
        for (int64_t t = 0; t < m.taps; ++t) {
            const double off = ((double)(first + t) - ratio) * aa;
            wt[t] = p.mode == Mode::Linear ? std::max(0.0, 1 - std::fabs(off)) : cubic_weight(off, p.cubic_a);
            const int64_t src = left + first + t;
            if (p.exclude_outside && (src < 0 || src >= lin)) wt[t] = 0;
            sum += wt[t];
        }
        const bool normalize = p.exclude_outside || aa < 1.0;
        for (int64_t t = 0; t < m.taps; ++t) {
            ix[t] = std::clamp<int64_t>(left + first + t, 0, lin - 1);
            wx[t] = (float)(normalize && sum != 0 ? wt[t] / sum : wt[t]);
            const double expect = ix[t] == j ? 1.0 : 0.0;
            if (wx[t] != 0 && std::fabs(wx[t] - expect) > 0) m.identity = false;
        }
        if (m.identity) {  // weights at j must sum to one
            double at_j = 0;
            for (int64_t t = 0; t < m.taps; ++t) at_j += ix[t] == j ? wx[t] : 0;
            if (at_j != 1.0) m.identity = false;
        }
    }
    return m;
}

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

// Output rows [b, e) of a pass: row oj = (o, j) is sum_t w[j, t] * input row (o, idx[j, t]), `inner` wide.
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
        for (int64_t t = 0; t < taps; ++t) {
            const float wv = wx[t];
            if (wv == 0.f) continue;
            const float* sr = src + ix[t] * inner;
            for (int64_t i = 0; i < inner; ++i) dst[i] += wv * sr[i];
        }
    }
}

// One separable pass over `axis` of a float32 tensor.
Tensor resize_axis(const Tensor& x, int64_t axis, int64_t lout, const AxisMap& m) {
    Shape ys = x.shape();
    const int64_t lin = ys[axis];
    ys[axis] = lout;
    Tensor y(DType::F32, ys);
    int64_t outer = 1, inner = 1;
    for (int64_t a = 0; a < axis; ++a) outer *= ys[a];
    for (int64_t a = axis + 1; a < (int64_t)ys.size(); ++a) inner *= ys[a];
    const float* xp = x.data<float>();
    float* yp = y.data<float>();
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

#include "exec/resize_rules.h"

#include <algorithm>
#include <cmath>

namespace hq::exec::resize {

namespace {

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

}  // namespace

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

namespace {

bool nonempty(const KernelContext& ctx, size_t i) {
    return ctx.has_input(i) && ctx.in(i).numel() > 0;
}

}  // namespace

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

namespace {

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

}  // namespace

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

}  // namespace hq::exec::resize

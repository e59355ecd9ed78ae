#include "exec/hip/resize_plan.h"

#include <algorithm>
#include <cmath>

namespace hq::exec::hip {

namespace {

// The shared tap table in the kernel's form: int32 indices, -1 for every tap of an output index outside the input.
ResizeAxis device_axis(const resize::AxisMap& m) {
    ResizeAxis d;
    d.taps = (int)m.taps;
    d.identity = m.identity;
    d.w = m.w;
    d.idx.resize(m.idx.size());
    for (size_t k = 0; k < m.idx.size(); ++k) d.idx[k] = (int32_t)m.idx[k];
    for (size_t j = 0; j < m.outside.size(); ++j)
        if (m.outside[j])
            for (int t = 0; t < d.taps; ++t) d.idx[j * d.taps + t] = -1;
    return d;
}

}  // namespace

std::optional<ResizePlan> plan_resize(const KernelContext& ctx, const Shape& xs) {
    if (xs.empty()) return std::nullopt;
    for (int64_t d : xs)
        if (d >= (int64_t(1) << 31)) return std::nullopt;  // int32 tap indices
    if (!resize::check_resize(ctx.node, ctx.opset).empty()) return std::nullopt;
    std::optional<resize::Params> p;
    try {
        p = resize::read_params(ctx, xs);
    } catch (const Error&) {
        return std::nullopt;  // the CPU kernel reports why
    }
    ResizePlan plan;
    plan.nearest = p->mode == resize::Mode::Nearest;
    plan.out = p->out;
    plan.extrapolation = p->extrapolation;
    for (size_t a = 0; a < xs.size(); ++a) {
        if (p->out[a] < 0) return std::nullopt;
        plan.axes.push_back(device_axis(resize::axis_map(*p, (int64_t)a, xs[a], p->out[a])));
    }
    return plan;
}

}  // namespace hq::exec::hip

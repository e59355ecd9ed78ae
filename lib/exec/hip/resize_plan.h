// Resize / Upsample parameters and per-axis tap tables on the host, for resize.hip. The rules (modes,
// coordinate transformations, nearest rounding, cubic coefficients, exclude_outside, antialias, sizes and
// keep_aspect_ratio_policy, the legacy Upsample / Resize-10 behaviour) are those of lib/exec/cpu/resize.cpp,
// which keeps them private; keep the two in step (a shared header in lib/exec would remove the copy).
#pragma once
#include <optional>
#include <vector>

#include "exec/kernel.h"

namespace hq::exec::hip {

struct ResizeAxis {
    int taps = 1;
    std::vector<int32_t> idx;  // [out * taps], -1 where the output index maps outside the input
    std::vector<float> w;      // [out * taps]
    bool identity = false;     // out == in and every index maps to itself with weight one
};

struct ResizePlan {
    bool nearest = true;
    Shape out;
    std::vector<ResizeAxis> axes;
    float extrapolation = 0.f;
};

// The plan for ctx's node and input shape; nullopt when the inputs are invalid (the CPU kernel reports why).
std::optional<ResizePlan> plan_resize(const KernelContext& ctx, const Shape& xs);

}  // namespace hq::exec::hip

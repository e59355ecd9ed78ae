// Resize / Upsample per-axis tap tables on the host, for resize.hip: the shared rules of exec/resize_rules.h
// (the CPU kernel uses the same) in the kernel's int32 form.
#pragma once
#include <optional>
#include <vector>

#include "exec/kernel.h"
#include "exec/resize_rules.h"

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

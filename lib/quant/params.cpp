#include "quant/params.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace hq::quant {

ActParams activation_params(float lo, float hi, bool int8_symmetric) {
    lo = std::min(lo, 0.0f);
    hi = std::max(hi, 0.0f);
    ActParams p;
    p.is_signed = int8_symmetric;
    if (int8_symmetric) {
        float a = std::max(std::fabs(lo), std::fabs(hi));
        p.scale = a > 0 ? a / 127.0f : 1.0f;
        p.zero_point = 0;
        return p;
    }
    if (hi - lo <= 0) {
        p.scale = 1.0f;
        p.zero_point = 0;
        return p;
    }
    p.scale = (hi - lo) / 255.0f;
    // Zero must be exactly representable: zp = round(-lo / scale), clamped to [0, 255].
    p.zero_point = (int32_t)std::clamp(std::nearbyint(-lo / p.scale), 0.0f, 255.0f);
    return p;
}

namespace {

// Channel layout of a weight along `axis`: outer (dims before), channels, inner (dims after).
void layout(const Tensor& w, int64_t axis, int64_t& outer, int64_t& channels, int64_t& inner) {
    HQ_ASSERT(axis >= 0 && axis < w.rank(), "axis ", axis, " rank ", w.rank());
    outer = 1;
    inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= w.shape()[d];
    channels = w.shape()[axis];
    for (int64_t d = axis + 1; d < w.rank(); ++d) inner *= w.shape()[d];
}

}  // namespace

Tensor quantize_weight_with(const Tensor& w, int64_t axis, const std::vector<float>& scales, int qmax) {
    HQ_ASSERT(w.dtype() == DType::F32);
    Tensor q(DType::I8, w.shape());
    const float* src = w.data<float>();
    int8_t* dst = q.data<int8_t>();
    int64_t outer, channels, inner;
    if (scales.size() == 1) {
        outer = 1;
        channels = 1;
        inner = w.numel();
    } else {
        layout(w, axis, outer, channels, inner);
        HQ_ASSERT((int64_t)scales.size() == channels);
    }
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t c = 0; c < channels; ++c) {
            const float inv = 1.0f / scales[c];
            const int64_t base = (o * channels + c) * inner;
            for (int64_t i = 0; i < inner; ++i)
                dst[base + i] = (int8_t)std::clamp(std::nearbyint(src[base + i] * inv), -(float)qmax, (float)qmax);
        }
    return q;
}

WeightQuant quantize_weight(const Tensor& w, int64_t axis, bool per_channel, int qmax) {
    HQ_ASSERT(w.dtype() == DType::F32);
    WeightQuant r;
    r.axis = axis;
    const float* src = w.data<float>();
    if (!per_channel) {
        float a = 0;
        for (int64_t i = 0; i < w.numel(); ++i) a = std::max(a, std::fabs(src[i]));
        r.scales = {a > 0 ? a / (float)qmax : 1.0f};
    } else {
        int64_t outer, channels, inner;
        layout(w, axis, outer, channels, inner);
        std::vector<float> amax(channels, 0.0f);
        for (int64_t o = 0; o < outer; ++o)
            for (int64_t c = 0; c < channels; ++c) {
                const int64_t base = (o * channels + c) * inner;
                for (int64_t i = 0; i < inner; ++i) amax[c] = std::max(amax[c], std::fabs(src[base + i]));
            }
        r.scales.resize(channels);
        for (int64_t c = 0; c < channels; ++c) r.scales[c] = amax[c] > 0 ? amax[c] / (float)qmax : 1.0f;
    }
    r.q = quantize_weight_with(w, axis, r.scales, qmax);
    return r;
}

Tensor quantize_bias(const Tensor& b, float input_scale, std::vector<float>& weight_scales, bool& widened) {
    HQ_ASSERT(b.dtype() == DType::F32);
    const int64_t n = b.numel();
    HQ_ASSERT(weight_scales.size() == 1 || (int64_t)weight_scales.size() == n);
    if (weight_scales.size() == 1 && n > 1) weight_scales.assign(n, weight_scales[0]);
    widened = false;
    const double limit = 2147483647.0;
    Tensor q(DType::I32, b.shape());
    const float* src = b.data<float>();
    int32_t* dst = q.data<int32_t>();
    for (int64_t c = 0; c < n; ++c) {
        double s = (double)input_scale * weight_scales[c];
        double v = s > 0 ? std::fabs(src[c]) / s : 0.0;
        if (v > limit) {
            // Widen the weight scale so the bias fits, with a little headroom.
            weight_scales[c] = (float)(std::fabs(src[c]) / (input_scale * limit) * 1.0001);
            widened = true;
            s = (double)input_scale * weight_scales[c];
        }
        double r = s > 0 ? std::nearbyint(src[c] / s) : 0.0;
        dst[c] = (int32_t)std::clamp(r, -limit, limit);
    }
    return q;
}

}  // namespace hq::quant

// Quantization parameters: scale/zero point of activations (per tensor) and weights (per output
// channel, symmetric), and int32 bias quantization with overflow-safe weight scales.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace hq::quant {

struct ActParams {
    float scale = 1.0f;
    int32_t zero_point = 0;
    bool is_signed = false;  // int8 (symmetric) vs uint8 (asymmetric)
};

// Per-tensor activation parameters for the range [lo, hi] (which contains 0). uint8: asymmetric,
// zero point in [0, 255] representing 0 exactly; int8: symmetric, zero point 0, range +-127.
// A zero-width range gets scale 1 so the model stays valid.
ActParams activation_params(float lo, float hi, bool int8_symmetric);

struct WeightQuant {
    Tensor q;                   // int8, same shape as the weight, values in [-127, 127]
    std::vector<float> scales;  // one per channel along `axis`
    int64_t axis = 0;
};

// Symmetric per-channel int8 quantization of a float32 weight along `axis` (per_channel=false: one
// scale, returned as a single-element vector). All-zero channels get scale 1.
WeightQuant quantize_weight(const Tensor& w, int64_t axis, bool per_channel, int qmax = 127);

// Quantizes bias b (per channel) to int32 with scale input_scale * weight_scale[c]. Where a value
// would not fit int32, that channel's weight scale is widened first (returned in `weight_scales`,
// and the caller re-quantizes the weight with the widened scales).
Tensor quantize_bias(const Tensor& b, float input_scale, std::vector<float>& weight_scales, bool& widened);

// Re-quantizes w along axis with the given per-channel scales (after bias-driven widening).
Tensor quantize_weight_with(const Tensor& w, int64_t axis, const std::vector<float>& scales, int qmax = 127);

}  // namespace hq::quant

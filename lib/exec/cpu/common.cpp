#include "exec/cpu/common.h"

namespace hq::exec::cpu {

Tensor to_f32(const Tensor& t) {
    if (t.dtype() == DType::F32) return t;
    Tensor r(DType::F32, t.shape());
    float* o = r.data<float>();
    const int64_t n = t.numel();
    if (t.dtype() == DType::F16) {
        const uint16_t* p = t.data<uint16_t>();
        for (int64_t i = 0; i < n; ++i) o[i] = half_to_float(p[i]);
    } else if (t.dtype() == DType::BF16) {
        const uint16_t* p = t.data<uint16_t>();
        for (int64_t i = 0; i < n; ++i) {
            uint32_t b = (uint32_t)p[i] << 16;
            std::memcpy(&o[i], &b, 4);
        }
    } else {
        for (int64_t i = 0; i < n; ++i) o[i] = (float)t.at_f64(i);
    }
    return r;
}

Tensor from_f32(const Tensor& t, DType dt) {
    HQ_ASSERT(t.dtype() == DType::F32);
    if (dt == DType::F32) return t;
    Tensor r(dt, t.shape());
    const float* p = t.data<float>();
    const int64_t n = t.numel();
    if (dt == DType::F16) {
        uint16_t* o = r.data<uint16_t>();
        for (int64_t i = 0; i < n; ++i) o[i] = float_to_half(p[i]);
    } else if (dt == DType::BF16) {
        uint16_t* o = r.data<uint16_t>();
        for (int64_t i = 0; i < n; ++i) {
            uint32_t b;
            std::memcpy(&b, &p[i], 4);
            if ((b & 0x7fffffffu) > 0x7f800000u) {
                o[i] = (uint16_t)((b >> 16) | 0x40);  // quiet NaN
            } else {
                b += 0x7fff + ((b >> 16) & 1);  // round to nearest even
                o[i] = (uint16_t)(b >> 16);
            }
        }
    } else if (dt == DType::F64) {
        double* o = r.data<double>();
        for (int64_t i = 0; i < n; ++i) o[i] = p[i];
    } else {
        HQ_FAIL("cannot convert float32 to ", dtype_name(dt));
    }
    return r;
}

std::vector<int64_t> ints_input_or_attr(const KernelContext& ctx, size_t idx, const std::string& attr,
                                        std::vector<int64_t> def) {
    if (ctx.has_input(idx)) return ctx.in(idx).to_i64();
    return ctx.node.attr_ints(attr, std::move(def));
}

BroadcastIndex::BroadcastIndex(const Shape& in_shape, const Shape& out_shape) {
    identity = in_shape == out_shape;
    scalar = shape_numel(in_shape) == 1;
    const size_t r = out_shape.size();
    out_strides_ = shape_strides(out_shape);
    in_strides_.assign(r, 0);
    auto ist = shape_strides(in_shape);
    const size_t off = r - in_shape.size();
    for (size_t d = 0; d < in_shape.size(); ++d)
        in_strides_[d + off] = in_shape[d] == 1 ? 0 : ist[d];
}

// ONNX Runtime's float32 sum over a contiguous run (ReduceSum/ReduceMean over trailing axes use Eigen's
// vectorized redux, SSE build: 4-lane packets, two accumulators, lanes added as (l0 + l2) + (l1 + l3), then the
// unaligned head and the tail one by one), reproduced operation for operation so that hyquant's results are ORT's
// bit for bit: a 1-ulp difference before a DynamicQuantizeLinear changes its scale and every value after it.
// `offset` is q's element offset in its (64-byte aligned) tensor, which decides Eigen's aligned start.
float ort_float_sum(const float* q, int64_t n, int64_t offset) {
    constexpr int64_t P = 4;
    if (n <= 0) return 0.0f;
    const int64_t start = std::min<int64_t>(n, (P - offset % P) % P);
    const int64_t size2 = ((n - start) / (2 * P)) * (2 * P), size1 = ((n - start) / P) * P;
    const int64_t end2 = start + size2, end1 = start + size1;
    if (size1 == 0) {
        float r = q[0];
        for (int64_t i = 1; i < n; ++i) r += q[i];
        return r;
    }
    float p0[P], p1[P];
    for (int64_t k = 0; k < P; ++k) p0[k] = q[start + k];
    if (size1 > P) {
        for (int64_t k = 0; k < P; ++k) p1[k] = q[start + P + k];
        for (int64_t i = start + 2 * P; i < end2; i += 2 * P)
            for (int64_t k = 0; k < P; ++k) p0[k] += q[i + k], p1[k] += q[i + P + k];
        for (int64_t k = 0; k < P; ++k) p0[k] += p1[k];
        if (end1 > end2)
            for (int64_t k = 0; k < P; ++k) p0[k] += q[end2 + k];
    }
    float r = (p0[0] + p0[2]) + (p0[1] + p0[3]);
    for (int64_t i = 0; i < start; ++i) r += q[i];
    for (int64_t i = end1; i < n; ++i) r += q[i];
    return r;
}

float mlas_float_sum(const float* q, int64_t n) {
    float acc[4] = {0, 0, 0, 0};
    int64_t i = 0;
    for (; n - i >= 4; i += 4)
        for (int k = 0; k < 4; ++k) acc[k] += q[i + k];
    float r = (acc[0] + acc[2]) + (acc[1] + acc[3]);
    for (; i < n; ++i) r += q[i];
    return r;
}

}  // namespace hq::exec::cpu

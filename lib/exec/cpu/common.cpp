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

}  // namespace hq::exec::cpu

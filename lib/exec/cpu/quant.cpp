// Quantization CPU kernels: QuantizeLinear, DequantizeLinear (per tensor, per axis from opset 13, blocked from
// opset 21) and DynamicQuantizeLinear. Rounding is half to even; quantized values saturate to the type's range.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "exec/cpu/common.h"
#include "exec/cpu/kernels.h"

namespace hq::exec::cpu {
namespace {


// Round half to even, vectorizable: clamps to +-2^22 first (every quantized range saturates well inside it; NaN goes
// low), then adds and subtracts 1.5 * 2^23 so the FPU's default rounding does the work.
inline float round_even(float v) {
    constexpr float lim = 4194304.0f, magic = 12582912.0f;
    v = v >= -lim ? v : -lim;
    v = v <= lim ? v : lim;
    return (v + magic) - magic;
}

bool is_quant_type(DType t) {
    return t == DType::U8 || t == DType::I8 || t == DType::U16 || t == DType::I16;
}

// Calls f(T{}) for the quantized integer types.
template <typename F>
void dispatch_quant(DType t, const std::string& who, F&& f) {
    switch (t) {
        case DType::U8:
            f(uint8_t{});
            break;
        case DType::I8:
            f(int8_t{});
            break;
        case DType::U16:
            f(uint16_t{});
            break;
        case DType::I16:
            f(int16_t{});
            break;
        case DType::I32:
            f(int32_t{});
            break;
        default:
            HQ_FAIL(who, ": unsupported quantized type ", dtype_name(t));
    }
}

// Where each element of x finds its scale/zero point: x is seen as [outer, n, inner] around `axis`; the parameter
// index of element (o, j, i) is row_base(o, j) + i * inner_step.
struct ParamLayout {
    int64_t outer = 1, n = 1, inner = 1;
    int mode = 0;  // 0 per tensor, 1 per axis, 2 blocked
    int64_t block = 0, nb = 1;

    ParamLayout(const Tensor& x, const Tensor& scale, int64_t axis_attr, int64_t block_size, const std::string& who) {
        const int64_t r = x.rank();
        if (block_size > 0) {
            HQ_CHECK(scale.rank() == r && r > 0, who, ": blocked quantization needs a scale of rank ", r, ", got ",
                     shape_str(scale.shape()));
            const int64_t axis = normalize_axis(axis_attr, r);
            split(x.shape(), axis);
            block = block_size;
            nb = (n + block - 1) / block;
            for (int64_t d = 0; d < r; ++d)
                HQ_CHECK(scale.shape()[d] == (d == axis ? nb : x.shape()[d]), who, ": scale ", shape_str(scale.shape()),
                         " does not match X ", shape_str(x.shape()), " with block_size ", block_size, " on axis ",
                         axis);
            mode = 2;
        } else if (scale.numel() == 1 && scale.rank() <= 1) {
            mode = 0;
            outer = 1, n = 1, inner = x.numel();
        } else {
            HQ_CHECK(scale.rank() == 1 && r > 0, who, ": scale ", shape_str(scale.shape()),
                     " must be a scalar or 1-D (per axis)");
            const int64_t axis = normalize_axis(axis_attr, r);
            split(x.shape(), axis);
            HQ_CHECK(scale.numel() == n, who, ": scale has ", scale.numel(), " elements, axis ", axis, " of X ",
                     shape_str(x.shape()), " has ", n);
            mode = 1;
        }
    }
    void split(const Shape& s, int64_t axis) {
        outer = 1, inner = 1;
        for (int64_t d = 0; d < axis; ++d) outer *= s[d];
        n = s[axis];
        for (int64_t d = axis + 1; d < (int64_t)s.size(); ++d) inner *= s[d];
    }
    int64_t rows() const { return outer * n; }
    int64_t row_base(int64_t row) const {
        if (mode == 0) return 0;
        if (mode == 1) return row % n;
        return ((row / n) * nb + (row % n) / block) * inner;
    }
    int64_t inner_step() const { return mode == 2 ? 1 : 0; }

    // f(row, x_offset, param_base, param_step, len) over every row, in parallel.
    template <typename F>
    void walk(F f) const {
        const int64_t step = inner_step();
        parallel_for(rows(), std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1)), [&](int64_t b, int64_t e) {
            for (int64_t row = b; row < e; ++row) f(row * inner, row_base(row), step, inner);
        });
    }
};

// Zero point as int32 values (zeros when absent), checked against the scale's element count.
std::vector<int32_t> zero_points(const KernelContext& c, size_t idx, int64_t count) {
    std::vector<int32_t> zp((size_t)count, 0);
    if (!c.has_input(idx)) return zp;
    const Tensor& z = c.in(idx);
    HQ_CHECK(z.numel() == count, c.node.label(), ": zero point has ", z.numel(), " elements, scale has ", count);
    for (int64_t i = 0; i < count; ++i) zp[i] = (int32_t)z.at_i64(i);
    return zp;
}

// ---------------------------------------------------------------------------------------------------------------

DType quantize_out_type(const KernelContext& c) {
    if (c.has_input(2)) return c.in(2).dtype();
    const int64_t od = c.opset >= 21 ? c.node.attr_int("output_dtype", 0) : 0;
    return od ? (DType)od : DType::U8;
}

void k_quantize(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& x0 = c.in(0);
    const Tensor& s0 = c.in(1);
    const DType qt = quantize_out_type(c);
    HQ_CHECK(is_quant_type(qt), who, ": unsupported output type ", dtype_name(qt), " (int8, uint8, int16, uint16)");
    HQ_CHECK(dtype_is_float(x0.dtype()) || x0.dtype() == DType::I32, who, ": unsupported input type ",
             dtype_name(x0.dtype()));
    const Tensor x = x0.dtype() == DType::I32 ? x0 : to_f32(x0);
    const Tensor s = to_f32(s0);
    const int64_t block = c.opset >= 21 ? c.node.attr_int("block_size", 0) : 0;
    ParamLayout L(x, s, c.opset >= 13 ? c.node.attr_int("axis", 1) : 1, block, who);
    const auto zp = zero_points(c, 2, s.numel());
    Tensor& y = c.alloc(0, qt, x.shape());
    const float* ps = s.data<float>();
    for (int64_t i = 0; i < s.numel(); ++i)
        HQ_CHECK(ps[i] != 0.0f && std::isfinite(ps[i]), who, ": scale ", i, " is ", ps[i]);
    dispatch_quant(qt, who, [&](auto tag) {
        using Q = decltype(tag);
        const float qmin = (float)std::numeric_limits<Q>::lowest(), qmax = (float)std::numeric_limits<Q>::max();
        Q* py = y.data<Q>();
        auto run = [&](const auto* px) {
            L.walk([&](int64_t xo, int64_t pb, int64_t step, int64_t len) {
                for (int64_t i = 0; i < len; ++i) {
                    const int64_t pi = pb + i * step;
                    float v = round_even((float)px[xo + i] / ps[pi]) + (float)zp[pi];
                    v = v >= qmin ? v : qmin;
                    v = v <= qmax ? v : qmax;
                    py[xo + i] = (Q)v;
                }
            });
        };
        if (x.dtype() == DType::I32)
            run(x.data<int32_t>());
        else
            run(x.data<float>());
    });
}

std::string check_quantize(const graph::Node& n, int64_t opset) {
    if (opset >= 21) {
        const int64_t od = n.attr_int("output_dtype", 0);
        if (od != 0 && !is_quant_type((DType)od))
            return "QuantizeLinear output_dtype " + std::to_string(od) +
                   " is not supported (int8, uint8, int16, uint16)";
        if (n.attr_int("block_size", 0) < 0) return "QuantizeLinear block_size must be >= 0";
    }
    return "";
}

void k_dequantize(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& x = c.in(0);
    const Tensor& s0 = c.in(1);
    HQ_CHECK(dtype_is_float(s0.dtype()), who, ": scale must be a float type, got ", dtype_name(s0.dtype()));
    const Tensor s = to_f32(s0);
    const int64_t block = c.opset >= 21 ? c.node.attr_int("block_size", 0) : 0;
    ParamLayout L(x, s, c.opset >= 13 ? c.node.attr_int("axis", 1) : 1, block, who);
    const auto zp = zero_points(c, 2, s.numel());
    if (c.has_input(2))
        HQ_CHECK(c.in(2).dtype() == x.dtype(), who, ": zero point type ", dtype_name(c.in(2).dtype()),
                 " differs from X type ", dtype_name(x.dtype()));
    Tensor y(DType::F32, x.shape());
    float* py = y.data<float>();
    const float* ps = s.data<float>();
    dispatch_quant(x.dtype(), who, [&](auto tag) {
        using Q = decltype(tag);
        const Q* px = x.data<Q>();
        L.walk([&](int64_t xo, int64_t pb, int64_t step, int64_t len) {
            for (int64_t i = 0; i < len; ++i) {
                const int64_t pi = pb + i * step;
                py[xo + i] = (float)((int64_t)px[xo + i] - zp[pi]) * ps[pi];
            }
        });
    });
    c.set(0, s0.dtype() == DType::F32 ? y : from_f32(y, s0.dtype()));
}

std::string check_dequantize(const graph::Node& n, int64_t opset) {
    if (opset >= 21 && n.attr_int("block_size", 0) < 0) return "DequantizeLinear block_size must be >= 0";
    return "";
}

// DynamicQuantizeLinear: uint8 with scale and zero point from the range of x (extended to include 0).
void k_dynamic_quantize(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor x = to_f32(c.in(0));
    const float* px = x.data<float>();
    const int64_t n = x.numel();
    float lo = 0, hi = 0;
    for (int64_t i = 0; i < n; ++i) lo = std::min(lo, px[i]), hi = std::max(hi, px[i]);
    const float scale = (hi - lo) / 255.0f;
    float zpf = 0;
    if (scale != 0) zpf = std::nearbyint(std::min(255.0f, std::max(0.0f, 0.0f - lo / scale)));
    const float zp = zpf;
    Tensor& y = c.alloc(0, DType::U8, x.shape());
    uint8_t* py = y.data<uint8_t>();
    parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
            float v = scale != 0 ? round_even(px[i] / scale) + zp : zp;
            v = v >= 0.0f ? v : 0.0f;
            v = v <= 255.0f ? v : 255.0f;
            py[i] = (uint8_t)v;
        }
    });
    c.set(1, Tensor::scalar_f32(scale));
    Tensor z(DType::U8, {});
    z.data<uint8_t>()[0] = (uint8_t)zp;
    c.set(2, z);
}

}  // namespace

void register_quant(KernelRegistry& r) {
    r.add(KernelDef{"QuantizeLinear", "", 10, INT_MAX, k_quantize, check_quantize});
    r.add(KernelDef{"DequantizeLinear", "", 10, INT_MAX, k_dequantize, check_dequantize});
    r.add(KernelDef{"DynamicQuantizeLinear", "", 11, INT_MAX, k_dynamic_quantize});
}

}  // namespace hq::exec::cpu

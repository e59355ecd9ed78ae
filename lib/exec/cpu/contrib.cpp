// ONNX Runtime contrib ops (domain com.microsoft) that exporters and ORT's transformer optimizer write: Gelu,
// FastGelu, BiasGelu, QuickGelu, SkipLayerNormalization (FusedMatMul is in gemm.cpp). Semantics follow ONNX
// Runtime's contrib operator schemas; computed in float32 (float16/bfloat16 staged), as ORT's CPU kernels do.
#include <algorithm>
#include <cmath>

#include "exec/cpu/common.h"
#include "exec/cpu/kernels.h"

namespace hq::exec::cpu {

namespace {

// float32 copy of a float input (float16/bfloat16/float64 converted); other types are an error naming the node.
Tensor f32_input(const Tensor& t, const std::string& who, const char* what) {
    HQ_CHECK(dtype_is_float(t.dtype()), who, ": ", what, " must be a float tensor, got ", dtype_name(t.dtype()));
    return t.dtype() == DType::F32 ? t : to_f32(t);
}
Tensor f32_output(const Tensor& y, DType dt) { return dt == DType::F32 ? y : from_f32(y, dt); }

// 1-D bias over the last dim of x (BiasGelu B, FastGelu bias), added in place.
void add_last_dim_bias(Tensor& x, const Tensor* bias, const std::string& who) {
    if (!bias) return;
    Tensor b = f32_input(*bias, who, "bias");
    const int64_t h = x.rank() ? x.shape().back() : 1;
    HQ_CHECK(b.rank() == 1 && b.dim(0) == h, who, ": bias ", shape_str(b.shape()), " must be [", h, "]");
    Tensor y(DType::F32, x.shape());
    const float* px = x.data<float>();
    const float* pb = b.data<float>();
    float* py = y.data<float>();
    for (int64_t i = 0; i < x.numel(); ++i) py[i] = px[i] + pb[i % h];
    x = y;
}

template <typename F>
void gelu_like(KernelContext& c, const Tensor* bias, F f) {
    const std::string who = c.node.label();
    const Tensor& x0 = c.in(0);
    Tensor x = f32_input(x0, who, "input");
    add_last_dim_bias(x, bias, who);
    Tensor y(DType::F32, x.shape());
    map1(x.data<float>(), y.data<float>(), x.numel(), f);
    c.set(0, f32_output(y, x0.dtype()));
}

float erf_gelu(float v) { return 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f)); }

void k_ms_gelu(KernelContext& c) { gelu_like(c, nullptr, erf_gelu); }

void k_bias_gelu(KernelContext& c) { gelu_like(c, &c.in(1), erf_gelu); }

void k_fast_gelu(KernelContext& c) {
    gelu_like(c, c.has_input(1) ? &c.in(1) : nullptr, [](float v) {
        return 0.5f * v * (1.0f + std::tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    });
}

void k_quick_gelu(KernelContext& c) {
    const float alpha = c.node.attr_float("alpha", 1.702f);
    gelu_like(c, nullptr, [alpha](float v) { return v / (1.0f + std::exp(-alpha * v)); });
}

// SkipLayerNormalization: s = input + skip (+ bias); output = LayerNorm(s over the last dim) * gamma (+ beta).
// Inputs input [.., H], skip (same shape or a trailing broadcast such as [S,H] / [1,S,H]), gamma [H], beta [H]?,
// bias [H]?; outputs output, mean?, inv_std_var? (input dims with the last set to 1), input_skip_bias_sum?.
void k_skip_layernorm(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& x0 = c.in(0);
    HQ_CHECK(x0.rank() >= 2, who, ": input must have rank 2 or 3, got ", shape_str(x0.shape()));
    Tensor x = f32_input(x0, who, "input"), skip = f32_input(c.in(1), who, "skip"),
           gamma = f32_input(c.in(2), who, "gamma");
    const int64_t h = x.shape().back(), rows = x.numel() / std::max<int64_t>(h, 1);
    const Shape& ss = skip.shape();
    bool trailing = ss.size() <= x.shape().size() && skip.numel() > 0 && x.numel() % skip.numel() == 0;
    for (size_t d = 0; trailing && d < ss.size(); ++d) {
        const int64_t xd = x.shape()[x.shape().size() - ss.size() + d];
        // leading 1s of skip broadcast; from its first non-1 dim on, dims must match
        trailing = ss[d] == xd || (ss[d] == 1 && std::all_of(ss.begin(), ss.begin() + (long)d, [](int64_t v) {
                                       return v == 1;
                                   }));
    }
    HQ_CHECK(trailing && ss.back() == h, who, ": skip ", shape_str(ss), " does not broadcast to input ",
             shape_str(x.shape()));
    HQ_CHECK(gamma.numel() == h, who, ": gamma must have ", h, " elements, got ", shape_str(gamma.shape()));
    Tensor beta, bias;
    if (c.has_input(3)) beta = f32_input(c.in(3), who, "beta");
    if (c.has_input(4)) bias = f32_input(c.in(4), who, "bias");
    HQ_CHECK(beta.empty() || beta.numel() == h, who, ": beta must have ", h, " elements");
    HQ_CHECK(bias.empty() || bias.numel() == h, who, ": bias must have ", h, " elements");
    const double eps = c.node.attr_float("epsilon", 1e-12f);
    Shape stat_shape = x.shape();
    stat_shape.back() = 1;
    Tensor y(DType::F32, x.shape()), sum(DType::F32, x.shape()), mean_t(DType::F32, stat_shape),
        inv_t(DType::F32, stat_shape);
    const float *px = x.data<float>(), *pk = skip.data<float>(), *pg = gamma.data<float>();
    const float* pbeta = beta.empty() ? nullptr : beta.data<float>();
    const float* pbias = bias.empty() ? nullptr : bias.data<float>();
    float *py = y.data<float>(), *psum = sum.data<float>();
    const int64_t skip_n = skip.numel();
    parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(h, 1)), [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
            float* s = psum + r * h;
            double acc = 0;
            for (int64_t i = 0; i < h; ++i) {
                const int64_t k = r * h + i;
                s[i] = px[k] + pk[k % skip_n] + (pbias ? pbias[i] : 0.0f);
                acc += s[i];
            }
            const double m = acc / (double)h;
            double v = 0;
            for (int64_t i = 0; i < h; ++i) v += ((double)s[i] - m) * ((double)s[i] - m);
            const double inv = 1.0 / std::sqrt(v / (double)h + eps);
            for (int64_t i = 0; i < h; ++i)
                py[r * h + i] = (float)(((double)s[i] - m) * inv * pg[i] + (pbeta ? pbeta[i] : 0.0f));
            mean_t.data<float>()[r] = (float)m;
            inv_t.data<float>()[r] = (float)inv;
        }
    });
    c.set(0, f32_output(y, x0.dtype()));
    if (c.wants_output(1)) c.set(1, mean_t);
    if (c.wants_output(2)) c.set(2, inv_t);
    if (c.wants_output(3)) c.set(3, f32_output(sum, x0.dtype()));
}

}  // namespace

void register_contrib(KernelRegistry& r) {
    const std::string ms = "com.microsoft";
    r.add(KernelDef{"Gelu", ms, 1, INT_MAX, k_ms_gelu});
    r.add(KernelDef{"BiasGelu", ms, 1, INT_MAX, k_bias_gelu});
    r.add(KernelDef{"FastGelu", ms, 1, INT_MAX, k_fast_gelu});
    r.add(KernelDef{"QuickGelu", ms, 1, INT_MAX, k_quick_gelu});
    r.add(KernelDef{"SkipLayerNormalization", ms, 1, INT_MAX, k_skip_layernorm});
}

}  // namespace hq::exec::cpu

// Elementwise kernels: broadcasting binary ops (arithmetic, Pow, Max/Min, PRelu, comparisons), unary math and
// activations, float32 <-> float16 casts, Where, and the per-channel affine map of BatchNormalization. The
// formulas are those of lib/exec/cpu/elementwise.cpp and unary.cpp, in float32.
#include "exec/hip/device_common.h"

namespace hq::exec::hip::k {

namespace {

__device__ __forceinline__ float qnan() { return __int_as_float(0x7fc00000); }
// std::max / std::min as the CPU kernels use them (return the first argument unless the second compares).
__device__ __forceinline__ float smax(float a, float b) { return a < b ? b : a; }
__device__ __forceinline__ float smin(float a, float b) { return b < a ? b : a; }

__device__ __forceinline__ float bin_op(BinOp op, float a, float b) {
    switch (op) {
        case BinOp::Add: return a + b;
        case BinOp::Sub: return a - b;
        case BinOp::Mul: return a * b;
        case BinOp::Div: return a / b;
        case BinOp::Pow: return b == 2.0f ? a * a : powf(a, b);
        case BinOp::Max: return (a != a || b != b) ? qnan() : (a < b ? b : a);
        case BinOp::Min: return (a != a || b != b) ? qnan() : (b < a ? b : a);
        case BinOp::PRelu: return a < 0 ? a * b : a;
        case BinOp::Equal: return a == b;
        case BinOp::Less: return a < b;
        case BinOp::Greater: return a > b;
        case BinOp::LessEq: return a <= b;
        case BinOp::GreaterEq: return a >= b;
    }
    return 0.f;
}

template <typename T, typename I>
__global__ void binary_kernel(BinOp op, const T* a, const T* b, T* out, uint8_t* bout, Walk w, int64_t n) {
    HQ_GRID_LOOP(i, n) {
        I off[2];
        walk_offsets<I, 2>(w, (I)i, off);
        const float v = bin_op(op, ld(a, off[0]), ld(b, off[1]));
        if (bout)
            bout[i] = v != 0.f;
        else
            st(out, i, v);
    }
}

__device__ __forceinline__ float un_op(UnOp op, float v, float p0, float p1) {
    switch (op) {
        case UnOp::Relu: return v > 0.f ? v : 0.f;
        case UnOp::LeakyRelu: return v < 0 ? v * p0 : v;
        case UnOp::Elu: return v < 0 ? p0 * expm1f(v) : v;
        case UnOp::Celu: return smax(0.f, v) + smin(0.f, p0 * expm1f(v / p0));
        case UnOp::Selu: return v > 0 ? p1 * v : p1 * (p0 * expf(v) - p0);
        case UnOp::ThresholdedRelu: return v > p0 ? v : 0.f;
        case UnOp::Sigmoid: {
            if (v >= 0) return 1.f / (1.f + expf(-v));
            const float e = expf(v);
            return e / (1.f + e);
        }
        case UnOp::HardSigmoid: return smax(0.f, smin(1.f, p0 * v + p1));
        case UnOp::HardSwish: return v * smax(0.f, smin(1.f, v / 6.f + 0.5f));
        case UnOp::Softplus: return v > 0 ? v + log1pf(expf(-v)) : log1pf(expf(v));
        case UnOp::Softsign: return v / (1.f + fabsf(v));
        case UnOp::Mish: {
            const float sp = v > 0 ? v + log1pf(expf(-v)) : log1pf(expf(v));
            return v * tanhf(sp);
        }
        case UnOp::Gelu: return 0.5f * v * (1.f + erff(v * 0.70710678118654752440f));
        case UnOp::GeluTanh: return 0.5f * v * (1.f + tanhf(0.79788456080286535588f * (v + 0.044715f * v * v * v)));
        case UnOp::Tanh: return tanhf(v);
        case UnOp::Erf: return erff(v);
        case UnOp::Exp: return expf(v);
        case UnOp::Log: return logf(v);
        case UnOp::Sqrt: return sqrtf(v);
        case UnOp::Reciprocal: return 1.f / v;
        case UnOp::Neg: return -v;
        case UnOp::Abs: return v < 0 ? -v : v;
        case UnOp::Sign: return v > 0 ? 1.f : (v < 0 ? -1.f : 0.f);
        case UnOp::Floor: return floorf(v);
        case UnOp::Ceil: return ceilf(v);
        case UnOp::Round: return rintf(v);
        case UnOp::Sin: return sinf(v);
        case UnOp::Cos: return cosf(v);
        case UnOp::Clip: {
            const float t = v < p0 ? p0 : v;
            return t > p1 ? p1 : t;
        }
        case UnOp::Scale: return v / p0;
    }
    return v;
}

template <typename T>
__global__ void unary_kernel(UnOp op, const T* x, T* y, int64_t n, float p0, float p1) {
    HQ_GRID_LOOP(i, n) st(y, i, un_op(op, ld(x, i), p0, p1));
}

template <typename S, typename D>
__global__ void cast_kernel(const S* x, D* y, int64_t n) {
    HQ_GRID_LOOP(i, n) st(y, i, ld(x, i));
}

template <typename W, typename I>
__global__ void where_kernel(const uint8_t* cond, const W* x, const W* y, W* out, Walk w, int64_t n) {
    HQ_GRID_LOOP(i, n) {
        I off[3];
        walk_offsets<I, 3>(w, (I)i, off);
        out[i] = cond[off[0]] ? x[off[1]] : y[off[2]];
    }
}

template <typename T>
__global__ void affine_kernel(const T* x, T* y, int64_t n, int64_t inner, int64_t channels, const float* a,
                              const float* b) {
    HQ_GRID_LOOP(i, n) {
        const int64_t c = (i / inner) % channels;
        st(y, i, ld(x, i) * a[c] + b[c]);
    }
}

}  // namespace

void binary(hipStream_t s, BinOp op, FType t, const void* a, const void* b, void* out, const Walk& w) {
    const int64_t n = walk_numel(w);
    if (n <= 0) return;
    const bool cmp = bin_is_compare(op);
    uint8_t* bout = cmp ? static_cast<uint8_t*>(out) : nullptr;
    const bool small = walk_small(w, 2);
    HQ_FTYPE(t, T, {
        const T* pa = static_cast<const T*>(a);
        const T* pb = static_cast<const T*>(b);
        T* po = cmp ? nullptr : static_cast<T*>(out);
        if (small)
            binary_kernel<T, int32_t><<<blocks_for(n), kThreads, 0, s>>>(op, pa, pb, po, bout, w, n);
        else
            binary_kernel<T, int64_t><<<blocks_for(n), kThreads, 0, s>>>(op, pa, pb, po, bout, w, n);
    });
    HQ_HIP_CHECK_LAUNCH("binary_kernel");
}

void unary(hipStream_t s, UnOp op, FType t, const void* x, void* y, int64_t n, float p0, float p1) {
    if (n <= 0) return;
    HQ_FTYPE(t, T, unary_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(op, static_cast<const T*>(x), static_cast<T*>(y), n, p0, p1));
    HQ_HIP_CHECK_LAUNCH("unary_kernel");
}

void cast_float(hipStream_t s, FType from, FType to, const void* x, void* y, int64_t n) {
    if (n <= 0) return;
    HQ_FTYPE(from, S, HQ_FTYPE(to, D, cast_kernel<S, D><<<blocks_for(n), kThreads, 0, s>>>(static_cast<const S*>(x), static_cast<D*>(y), n)));
    HQ_HIP_CHECK_LAUNCH("cast_kernel");
}

void where(hipStream_t s, int esize, const uint8_t* cond, const void* x, const void* y, void* out, const Walk& w) {
    const int64_t n = walk_numel(w);
    if (n <= 0) return;
    const bool small = walk_small(w, 3);
    HQ_ESIZE(esize, W, {
        const W* px = static_cast<const W*>(x);
        const W* py = static_cast<const W*>(y);
        W* po = static_cast<W*>(out);
        if (small)
            where_kernel<W, int32_t><<<blocks_for(n), kThreads, 0, s>>>(cond, px, py, po, w, n);
        else
            where_kernel<W, int64_t><<<blocks_for(n), kThreads, 0, s>>>(cond, px, py, po, w, n);
    });
    HQ_HIP_CHECK_LAUNCH("where_kernel");
}

void channel_affine(hipStream_t s, FType t, const void* x, void* y, int64_t groups, int64_t inner, int64_t channels,
                    const float* a, const float* b) {
    const int64_t n = groups * inner;
    if (n <= 0) return;
    HQ_FTYPE(t, T, affine_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(y), n, inner, channels, a, b));
    HQ_HIP_CHECK_LAUNCH("affine_kernel");
}

}  // namespace hq::exec::hip::k

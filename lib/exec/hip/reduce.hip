// Reductions (Reduce* over any set of axes), Softmax / LogSoftmax / Hardmax, and row normalization
// (LayerNormalization, InstanceNormalization). Long reductions use one block per output with a
// wavefront-shuffle + LDS tree (block_reduce); short ones one thread per output. Accumulation is float32.
#include "exec/hip/device_common.h"

namespace hq::exec::hip::k {

namespace {

struct ProdOp {
    __device__ float operator()(float a, float b) const { return a * b; }
};
// max ignoring NaN (the CPU's softmax `if (q > m) m = q`), for finite inputs the same as MaxOp
struct FMaxOp {
    __device__ float operator()(float a, float b) const { return b > a ? b : a; }
};

__device__ __forceinline__ int64_t red_offset(const ReduceArgs& a, int64_t j) {
    int64_t off = 0;
    for (int d = a.red_rank - 1; d >= 0; --d) {
        const int64_t q = j % a.red_size[d];
        j /= a.red_size[d];
        off += q * a.red_stride[d];
    }
    return off;
}
__device__ __forceinline__ int64_t kept_offset(const ReduceArgs& a, int64_t o) {
    int64_t off = 0;
    for (int d = a.kept_rank - 1; d >= 0; --d) {
        const int64_t q = o % a.kept_size[d];
        o /= a.kept_size[d];
        off += q * a.kept_stride[d];
    }
    return off;
}

__device__ __forceinline__ float pre(RedOp op, float v) {  // value summed / combined per element
    switch (op) {
        case RedOp::L1: return fabsf(v);
        case RedOp::L2:
        case RedOp::SumSquare: return v * v;
        default: return v;
    }
}
__device__ __forceinline__ float post(RedOp op, float acc, int64_t n) {
    switch (op) {
        case RedOp::Mean: return acc / (float)n;
        case RedOp::L2: return sqrtf(acc);
        case RedOp::LogSum: return logf(acc);
        default: return acc;
    }
}
__device__ __forceinline__ float identity_of(RedOp op) {
    switch (op) {
        case RedOp::Max: return -__int_as_float(0x7f800000);
        case RedOp::Min: return __int_as_float(0x7f800000);
        case RedOp::Prod: return 1.f;
        default: return 0.f;
    }
}
__device__ __forceinline__ float combine(RedOp op, float a, float b) {
    switch (op) {
        case RedOp::Max: return MaxOp()(a, b);
        case RedOp::Min: return MinOp()(a, b);
        case RedOp::Prod: return a * b;
        default: return a + b;
    }
}

// One thread per output.
template <typename T>
__global__ void reduce_thread_kernel(RedOp op, const T* x, T* y, ReduceArgs a) {
    HQ_GRID_LOOP(o, a.n_out) {
        const T* q = x + kept_offset(a, o);
        float r;
        if (op == RedOp::LogSumExp) {
            float m = -__int_as_float(0x7f800000);
            for (int64_t j = 0; j < a.n_red; ++j) m = fmaxf(m, ld(q, red_offset(a, j)));
            const float sh = isfinite(m) ? m : 0.f;
            float s = 0.f;
            for (int64_t j = 0; j < a.n_red; ++j) s += expf(ld(q, red_offset(a, j)) - sh);
            r = logf(s) + sh;
        } else {
            float acc = identity_of(op);
            for (int64_t j = 0; j < a.n_red; ++j) acc = combine(op, acc, pre(op, ld(q, red_offset(a, j))));
            r = post(op, acc, a.n_red);
        }
        st(y, o, r);
    }
}

// One block per output (blocks loop over outputs; every thread takes part in every block_reduce).
template <typename T>
__global__ void reduce_block_kernel(RedOp op, const T* x, T* y, ReduceArgs a) {
    for (int64_t o = blockIdx.x; o < a.n_out; o += gridDim.x) {
        const T* q = x + kept_offset(a, o);
        float r;
        if (op == RedOp::LogSumExp) {
            float m = -__int_as_float(0x7f800000);
            for (int64_t j = threadIdx.x; j < a.n_red; j += blockDim.x) m = fmaxf(m, ld(q, red_offset(a, j)));
            m = block_reduce(m, FMaxOp(), -__int_as_float(0x7f800000));
            const float sh = isfinite(m) ? m : 0.f;
            float s = 0.f;
            for (int64_t j = threadIdx.x; j < a.n_red; j += blockDim.x) s += expf(ld(q, red_offset(a, j)) - sh);
            s = block_reduce(s, SumOp(), 0.f);
            r = logf(s) + sh;
        } else {
            float acc = identity_of(op);
            for (int64_t j = threadIdx.x; j < a.n_red; j += blockDim.x)
                acc = combine(op, acc, pre(op, ld(q, red_offset(a, j))));
            switch (op) {
                case RedOp::Max: acc = block_reduce(acc, MaxOp(), identity_of(op)); break;
                case RedOp::Min: acc = block_reduce(acc, MinOp(), identity_of(op)); break;
                case RedOp::Prod: acc = block_reduce(acc, ProdOp(), 1.f); break;
                default: acc = block_reduce(acc, SumOp(), 0.f); break;
            }
            r = post(op, acc, a.n_red);
        }
        if (threadIdx.x == 0) st(y, o, r);
    }
}

// ------------------------------------------------------------------------------------------------ softmax

// Rows of n contiguous elements (inner == 1), one block per row.
template <typename T>
__global__ void softmax_row_kernel(int mode, const T* x, T* y, int64_t rows, int64_t n) {
    __shared__ float best_v[1024];
    __shared__ int64_t best_i[1024];
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const T* q = x + r * n;
        T* w = y + r * n;
        if (mode == 2) {  // Hardmax: the first index of the maximum
            float bv = -__int_as_float(0x7f800000);
            int64_t bi = -1;
            for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
                const float v = ld(q, j);
                if (bi < 0 || v > bv) bv = v, bi = j;
            }
            best_v[threadIdx.x] = bv;
            best_i[threadIdx.x] = bi;
            __syncthreads();
            for (int h = blockDim.x / 2; h > 0; h /= 2) {
                if ((int)threadIdx.x < h) {
                    const float ov = best_v[threadIdx.x + h];
                    const int64_t oi = best_i[threadIdx.x + h];
                    const int64_t mi = best_i[threadIdx.x];
                    if (oi >= 0 && (mi < 0 || ov > best_v[threadIdx.x] || (ov == best_v[threadIdx.x] && oi < mi)))
                        best_v[threadIdx.x] = ov, best_i[threadIdx.x] = oi;
                }
                __syncthreads();
            }
            const int64_t arg = best_i[0];
            for (int64_t j = threadIdx.x; j < n; j += blockDim.x) st(w, j, j == arg ? 1.f : 0.f);
            __syncthreads();
            continue;
        }
        float m = -__int_as_float(0x7f800000);
        for (int64_t j = threadIdx.x; j < n; j += blockDim.x) m = FMaxOp()(m, ld(q, j));
        m = block_reduce(m, FMaxOp(), -__int_as_float(0x7f800000));
        float s = 0.f;
        for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
            const float e = expf(ld(q, j) - m);
            if (mode == 0) st(w, j, e);
            s += e;
        }
        s = block_reduce(s, SumOp(), 0.f);
        if (mode == 0) {
            const float inv = 1.f / s;
            for (int64_t j = threadIdx.x; j < n; j += blockDim.x) st(w, j, expf(ld(q, j) - m) * inv);
        } else {
            const float ls = logf(s);
            for (int64_t j = threadIdx.x; j < n; j += blockDim.x) st(w, j, ld(q, j) - m - ls);
        }
    }
}

// Columns (o, i) with inner > 1, one thread per column walking n (neighbouring threads read neighbouring i).
template <typename T>
__global__ void softmax_col_kernel(int mode, const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
    HQ_GRID_LOOP(g, outer * inner) {
        const int64_t o = g / inner, i = g % inner;
        const T* q = x + o * n * inner + i;
        T* w = y + o * n * inner + i;
        float m = ld(q, 0);
        int64_t mi = 0;
        for (int64_t j = 1; j < n; ++j) {
            const float v = ld(q, j * inner);
            if (v > m) m = v, mi = j;
        }
        if (mode == 2) {
            for (int64_t j = 0; j < n; ++j) st(w, j * inner, j == mi ? 1.f : 0.f);
            continue;
        }
        float s = 0.f;
        for (int64_t j = 0; j < n; ++j) s += expf(ld(q, j * inner) - m);
        if (mode == 0) {
            const float inv = 1.f / s;
            for (int64_t j = 0; j < n; ++j) st(w, j * inner, expf(ld(q, j * inner) - m) * inv);
        } else {
            const float ls = logf(s);
            for (int64_t j = 0; j < n; ++j) st(w, j * inner, ld(q, j * inner) - m - ls);
        }
    }
}

// --------------------------------------------------------------------------------------------- row norm

template <typename T>
__global__ void row_norm_kernel(const T* x, T* y, int64_t rows, int64_t n, const float* scale, const float* bias,
                                bool per_row_param, int64_t channels, float eps, float* mean_out, float* inv_out) {
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const T* p = x + r * n;
        T* q = y + r * n;
        float s = 0.f;
        for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += ld(p, i);
        const float mean = n ? block_reduce(s, SumOp(), 0.f) / (float)n : 0.f;
        float v = 0.f;
        for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
            const float d = ld(p, i) - mean;
            v += d * d;
        }
        const float var = n ? block_reduce(v, SumOp(), 0.f) / (float)n : 0.f;
        const float inv = 1.f / sqrtf(var + eps);
        if (per_row_param) {
            const int64_t c = r % channels;
            const float a = scale[c] * inv, b = (bias ? bias[c] : 0.f) - mean * a;
            for (int64_t i = threadIdx.x; i < n; i += blockDim.x) st(q, i, ld(p, i) * a + b);
        } else {
            for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
                st(q, i, (ld(p, i) - mean) * inv * scale[i] + (bias ? bias[i] : 0.f));
        }
        if (threadIdx.x == 0) {
            if (mean_out) mean_out[r] = mean;
            if (inv_out) inv_out[r] = inv;
        }
    }
}

inline int threads_for(int64_t n) { return n <= 64 ? 64 : (n <= 128 ? 128 : kThreads); }

}  // namespace

void reduce(hipStream_t s, RedOp op, FType t, const void* x, void* y, const ReduceArgs& a) {
    if (a.n_out <= 0) return;
    HQ_FTYPE(t, T, {
        const T* px = static_cast<const T*>(x);
        T* py = static_cast<T*>(y);
        if (a.n_red >= 256 && a.n_out < (int64_t(1) << 22))
            reduce_block_kernel<T><<<blocks_for(a.n_out, 1), kThreads, 0, s>>>(op, px, py, a);
        else
            reduce_thread_kernel<T><<<blocks_for(a.n_out), kThreads, 0, s>>>(op, px, py, a);
    });
    HQ_HIP_CHECK_LAUNCH("reduce_kernel");
}

void softmax(hipStream_t s, int mode, FType t, const void* x, void* y, int64_t outer, int64_t n, int64_t inner) {
    if (outer <= 0 || n <= 0 || inner <= 0) return;
    HQ_FTYPE(t, T, {
        const T* px = static_cast<const T*>(x);
        T* py = static_cast<T*>(y);
        if (inner == 1)
            softmax_row_kernel<T><<<blocks_for(outer, 1), threads_for(n), 0, s>>>(mode, px, py, outer, n);
        else
            softmax_col_kernel<T><<<blocks_for(outer * inner), kThreads, 0, s>>>(mode, px, py, outer, n, inner);
    });
    HQ_HIP_CHECK_LAUNCH("softmax_kernel");
}

void row_norm(hipStream_t s, FType t, const void* x, void* y, int64_t rows, int64_t n, const float* scale,
              const float* bias, bool per_row_param, int64_t channels, float eps, float* mean, float* inv_std) {
    if (rows <= 0) return;
    HQ_FTYPE(t, T, row_norm_kernel<T><<<blocks_for(rows, 1), threads_for(n), 0, s>>>(static_cast<const T*>(x), static_cast<T*>(y), rows, n, scale, bias, per_row_param, channels, eps, mean, inv_std));
    HQ_HIP_CHECK_LAUNCH("row_norm_kernel");
}

}  // namespace hq::exec::hip::k

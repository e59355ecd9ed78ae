// Device-side helpers shared by the *.hip kernel files (never included by host-only code): float16
// conversion, float loads/stores by storage type, grid sizing, launch checks, warp and block reductions
// written against warpSize (64 on GCN/CDNA DCUs, 32 on NVIDIA), and the portability shims for compiling the
// same sources with nvcc through HIP's NVIDIA headers.
#pragma once
#include <hip/hip_runtime.h>

#include <cstdint>

#include "exec/hip/hip_check.h"
#include "exec/hip/kernels.h"

#if defined(__HIP_PLATFORM_NVIDIA__) || defined(__HIP_PLATFORM_NVCC__)
#define HQ_NVIDIA 1
#include <cuda_fp16.h>
#else
#define HQ_NVIDIA 0
#endif

namespace hq::exec::hip::k {

constexpr int kThreads = 256;  // a multiple of every wavefront size (32, 64)

// Blocks for a grid-stride loop over n elements. Capped so gridDim.x * blockDim.x stays inside 32 bits (AMD
// counts a grid in work-items); the kernels loop over the rest.
inline unsigned blocks_for(int64_t n, int threads = kThreads) {
    const int64_t b = (n + threads - 1) / threads;
    return (unsigned)(b < 1 ? 1 : (b > 65536 ? 65536 : b));
}

#define HQ_GRID_LOOP(i, n) \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)blockDim.x * gridDim.x)

inline int64_t walk_numel(const Walk& w) {
    int64_t n = 1;
    for (int d = 0; d < w.rank; ++d) n *= w.size[d];
    return n;
}
// True when the walk's element count and every input offset (|sum of strides * extents|) fit in int32, so
// kernels can decompose indices with 32-bit divisions.
inline bool walk_small(const Walk& w, int nin) {
    const int64_t lim = int64_t(1) << 31;
    if (walk_numel(w) >= lim) return false;
    for (int k = 0; k < nin; ++k) {
        int64_t span = 0;
        for (int d = 0; d < w.rank; ++d)
            span += (w.size[d] - 1) * (w.stride[k][d] < 0 ? -w.stride[k][d] : w.stride[k][d]);
        if (span >= lim) return false;
    }
    return true;
}

// Offsets of output element i in NIN inputs (row-major decomposition over w.size); I is int32_t when
// walk_small, else int64_t.
template <typename I, int NIN>
__device__ __forceinline__ void walk_offsets(const Walk& w, I i, I off[NIN]) {
    for (int k = 0; k < NIN; ++k) off[k] = 0;
    for (int d = w.rank - 1; d >= 0; --d) {
        const I sz = (I)w.size[d];
        const I q = i % sz;
        i /= sz;
        for (int k = 0; k < NIN; ++k) off[k] += q * (I)w.stride[k][d];
    }
}

// ------------------------------------------------------------------------------------------ float16
__device__ __forceinline__ float h2f(uint16_t h) {
#if HQ_NVIDIA
    return __half2float(__ushort_as_half(h));
#else
    return (float)__builtin_bit_cast(_Float16, h);
#endif
}
__device__ __forceinline__ uint16_t f2h(float f) {  // round to nearest even
#if HQ_NVIDIA
    return __half_as_ushort(__float2half_rn(f));
#else
    return __builtin_bit_cast(uint16_t, (_Float16)f);
#endif
}

__device__ __forceinline__ float ld(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float ld(const uint16_t* p, int64_t i) { return h2f(p[i]); }
__device__ __forceinline__ void st(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void st(uint16_t* p, int64_t i, float v) { p[i] = f2h(v); }

// Storage type of an FType: float or uint16_t. Dispatch: HQ_FTYPE(t, T, body) runs body with T bound.
#define HQ_FTYPE(ft, T, ...)                 \
    do {                                     \
        if ((ft) == ::hq::exec::hip::k::FType::F32) { \
            using T = float;                 \
            __VA_ARGS__;                     \
        } else {                             \
            using T = uint16_t;              \
            __VA_ARGS__;                     \
        }                                    \
    } while (0)

// Unsigned word of `esize` bytes: HQ_ESIZE(esize, W, body).
#define HQ_ESIZE(esize, W, ...)                                 \
    do {                                                        \
        switch (esize) {                                        \
            case 1: { using W = uint8_t; __VA_ARGS__; } break;  \
            case 2: { using W = uint16_t; __VA_ARGS__; } break; \
            case 4: { using W = uint32_t; __VA_ARGS__; } break; \
            case 8: { using W = uint64_t; __VA_ARGS__; } break; \
            default: throw ::hq::Error("internal: element size " + std::to_string(esize), ::hq::ErrorKind::Internal); \
        }                                                       \
    } while (0)

// ------------------------------------------------------------------------------------------- reductions
__device__ __forceinline__ float shfl_xor(float v, int mask) {
#if HQ_NVIDIA
    return __shfl_xor_sync(0xffffffffu, v, mask);
#else
    return __shfl_xor(v, mask);
#endif
}

struct SumOp {
    __device__ float operator()(float a, float b) const { return a + b; }
};
struct MaxOp {  // NaN-propagating
    __device__ float operator()(float a, float b) const { return (a != a || b != b) ? __int_as_float(0x7fc00000) : (a < b ? b : a); }
};
struct MinOp {
    __device__ float operator()(float a, float b) const { return (a != a || b != b) ? __int_as_float(0x7fc00000) : (b < a ? b : a); }
};

// Reduces v over the wavefront (every lane gets the result); warpSize lanes, no hard-coded width.
template <class Op>
__device__ __forceinline__ float warp_reduce(float v, Op op) {
    for (int m = warpSize / 2; m > 0; m /= 2) v = op(v, shfl_xor(v, m));
    return v;
}

// Reduces v over the block (blockDim.x a multiple of warpSize, at most 1024); every thread gets the result.
// Every thread of the block must call it (it synchronizes).
template <class Op>
__device__ float block_reduce(float v, Op op, float identity) {
    __shared__ float part[32];  // one per wavefront: 1024 / 32
    __shared__ float result;
    const int lane = threadIdx.x % warpSize, wid = threadIdx.x / warpSize, nw = (blockDim.x + warpSize - 1) / warpSize;
    v = warp_reduce(v, op);
    if (lane == 0) part[wid] = v;
    __syncthreads();
    if (wid == 0) {
        float t = lane < nw ? part[lane] : identity;
        t = warp_reduce(t, op);
        if (lane == 0) result = t;
    }
    __syncthreads();
    const float r = result;
    __syncthreads();  // `part` and `result` may be reused by the next call
    return r;
}

}  // namespace hq::exec::hip::k

// Pooling: MaxPool / AveragePool over 1-3 spatial dims (normalized to D, H, W) with pads, strides,
// dilations, ceil_mode and count_include_pad exactly as lib/exec/cpu/pool.cpp (one thread per output), and
// GlobalAveragePool / GlobalMaxPool (one block per plane).
#include "exec/hip/device_common.h"

namespace hq::exec::hip::k {

namespace {

// Taps [lo, hi) of a window starting at `start` that land inside [0, limit).
__device__ __forceinline__ void tap_range(int64_t start, int64_t k, int64_t d, int64_t limit, int64_t& lo, int64_t& hi) {
    lo = start >= 0 ? 0 : (-start + d - 1) / d;
    hi = start >= limit ? 0 : min(k, (limit - start + d - 1) / d);
    lo = min(lo, hi);
}

template <typename T>
__global__ void pool_kernel(const T* x, T* y, PoolArgs a, int64_t total) {
    const int64_t os = a.out[0] * a.out[1] * a.out[2], is = a.in[0] * a.in[1] * a.in[2];
    const int64_t H = a.in[1], W = a.in[2];
    HQ_GRID_LOOP(i, total) {
        const int64_t p = i / os, o = i - p * os;
        const int64_t od = o / (a.out[1] * a.out[2]), oh = (o / a.out[2]) % a.out[1], ow = o % a.out[2];
        const int64_t sd = od * a.s[0] - a.pb[0], sh = oh * a.s[1] - a.pb[1], sw = ow * a.s[2] - a.pb[2];
        int64_t dlo, dhi, hlo, hhi, wlo, whi;
        tap_range(sd, a.k[0], a.d[0], a.in[0], dlo, dhi);
        tap_range(sh, a.k[1], a.d[1], a.in[1], hlo, hhi);
        tap_range(sw, a.k[2], a.d[2], a.in[2], wlo, whi);
        const T* xp = x + p * is;
        if (a.mode == 0) {
            float best = -3.402823466e+38f;  // numeric_limits<float>::lowest(), as the CPU kernel
            bool any = false;
            for (int64_t kd = dlo; kd < dhi; ++kd)
                for (int64_t kh = hlo; kh < hhi; ++kh) {
                    const int64_t row = ((sd + kd * a.d[0]) * H + sh + kh * a.d[1]) * W + sw;
                    for (int64_t kw = wlo; kw < whi; ++kw) {
                        const float v = ld(xp, row + kw * a.d[2]);
                        if (v > best || !any) best = v, any = true;
                    }
                }
            st(y, i, best);
            continue;
        }
        float sum = 0.f;
        for (int64_t kd = dlo; kd < dhi; ++kd)
            for (int64_t kh = hlo; kh < hhi; ++kh) {
                const int64_t row = ((sd + kd * a.d[0]) * H + sh + kh * a.d[1]) * W + sw;
                for (int64_t kw = wlo; kw < whi; ++kw) sum += ld(xp, row + kw * a.d[2]);
            }
        int64_t count;
        if (a.mode == 2) {  // taps inside the padded input (not those past it under ceil_mode)
            const int64_t starts[3] = {sd, sh, sw};
            count = 1;
            for (int d = 0; d < 3; ++d) {
                int64_t lo, hi;
                tap_range(starts[d] + a.pb[d], a.k[d], a.d[d], a.in[d] + a.pb[d] + a.pe[d], lo, hi);
                count *= hi - lo;
            }
        } else {
            count = (dhi - dlo) * (hhi - hlo) * (whi - wlo);
        }
        st(y, i, count > 0 ? sum / (float)count : 0.f);
    }
}

template <typename T>
__global__ void global_pool_kernel(bool max, const T* x, T* y, int64_t planes, int64_t inner) {
    for (int64_t p = blockIdx.x; p < planes; p += gridDim.x) {
        const T* xp = x + p * inner;
        float r;
        if (max) {
            float m = inner > 0 ? ld(xp, 0) : 0.f;
            for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) {
                const float v = ld(xp, i);
                m = v > m ? v : m;
            }
            r = block_reduce(m, [](float a, float b) { return b > a ? b : a; }, m);
        } else {
            float s = 0.f;
            for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) s += ld(xp, i);
            s = block_reduce(s, SumOp(), 0.f);
            r = inner > 0 ? s / (float)inner : 0.f;
        }
        if (threadIdx.x == 0) st(y, p, r);
    }
}

}  // namespace

void pool(hipStream_t s, FType t, const void* x, void* y, const PoolArgs& a) {
    const int64_t total = a.planes * a.out[0] * a.out[1] * a.out[2];
    if (total <= 0) return;
    HQ_FTYPE(t, T, pool_kernel<T><<<blocks_for(total), kThreads, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(y), a, total));
    HQ_HIP_CHECK_LAUNCH("pool_kernel");
}

void global_pool(hipStream_t s, bool max, FType t, const void* x, void* y, int64_t planes, int64_t inner) {
    if (planes <= 0) return;
    const int threads = inner <= 64 ? 64 : (inner <= 128 ? 128 : kThreads);
    HQ_FTYPE(t, T, global_pool_kernel<T><<<blocks_for(planes, 1), threads, 0, s>>>(max, static_cast<const T*>(x), static_cast<T*>(y), planes, inner));
    HQ_HIP_CHECK_LAUNCH("global_pool_kernel");
}

}  // namespace hq::exec::hip::k

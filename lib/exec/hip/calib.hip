// Calibration kernels: min/max with NaN/Inf counts, the exact power-of-two histogram of calib/histogram.cpp
// (per-block LDS histograms, one global uint64 atomic per non-empty bin per block), and fake quantization
// (QuantizeLinear / DequantizeLinear, bit-exact with lib/exec/cpu/quant.cpp).
#include "exec/hip/device_common.h"

namespace hq::exec::hip::k {

namespace {

constexpr int kBins = 8192, kHalf = 4096, kStatThreads = 256;

// Order-preserving key of a finite float; both zeros map to the key of +0.
__device__ __forceinline__ uint32_t order_key(uint32_t b) {
    if ((b & 0x7fffffffu) == 0) b = 0;
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

__global__ void stats_init_kernel(StatsDev* out) {
    out->min_key = 0xffffffffu;
    out->max_key = 0;
    out->finite = out->nan = out->inf = 0;
}

__global__ void __launch_bounds__(kStatThreads) stats_kernel(const float* x, int64_t n, StatsDev* out) {
    __shared__ uint32_t smin[kStatThreads], smax[kStatThreads];
    __shared__ unsigned long long sf[kStatThreads], sn[kStatThreads], si[kStatThreads];
    uint32_t mn = 0xffffffffu, mx = 0;
    unsigned long long fin = 0, nan = 0, inf = 0;
    HQ_GRID_LOOP(i, n) {
        const uint32_t b = __float_as_uint(x[i]);
        if ((b & 0x7f800000u) == 0x7f800000u) {
            if (b & 0x007fffffu)
                ++nan;
            else
                ++inf;
            continue;
        }
        ++fin;
        const uint32_t k = order_key(b);
        mn = k < mn ? k : mn;
        mx = k > mx ? k : mx;
    }
    const int t = threadIdx.x;
    smin[t] = mn, smax[t] = mx, sf[t] = fin, sn[t] = nan, si[t] = inf;
    __syncthreads();
    for (int h = kStatThreads / 2; h > 0; h /= 2) {
        if (t < h) {
            smin[t] = smin[t + h] < smin[t] ? smin[t + h] : smin[t];
            smax[t] = smax[t + h] > smax[t] ? smax[t + h] : smax[t];
            sf[t] += sf[t + h], sn[t] += sn[t + h], si[t] += si[t + h];
        }
        __syncthreads();
    }
    if (t == 0) {
        if (sf[0]) {
            atomicMin(&out->min_key, smin[0]);
            atomicMax(&out->max_key, smax[0]);
            atomicAdd(&out->finite, sf[0]);
        }
        if (sn[0]) atomicAdd(&out->nan, sn[0]);
        if (si[0]) atomicAdd(&out->inf, si[0]);
    }
}

// floor(x * 2^k) of the finite float with bits b, exactly, as a bin of [0, 8192); false when outside.
__device__ __forceinline__ bool hist_bin(uint32_t b, int k, int& bin) {
    const uint32_t ex = (b >> 23) & 0xffu, man = b & 0x7fffffu;
    const uint64_t m = ex ? (uint64_t)(man | 0x800000u) : (uint64_t)man;  // x = +-m * 2^E
    const int E = ex ? (int)ex - 150 : -149;
    const bool neg = (b >> 31) != 0;
    const int s = E + k;
    int64_t v;
    if (m == 0) {
        v = 0;
    } else if (s >= 0) {
        if (s > 24) return false;  // |x * 2^k| >= 2^24: far outside the range
        v = (int64_t)(m << s);
        v = neg ? -v : v;
    } else {
        const int sh = -s;
        if (!neg)
            v = sh >= 40 ? 0 : (int64_t)(m >> sh);
        else
            v = sh >= 40 ? -1 : -(int64_t)((m + ((uint64_t(1) << sh) - 1)) >> sh);  // floor(-y) = -ceil(y)
    }
    const int64_t i = kHalf + v;
    if (i < 0 || i >= kBins) return false;
    bin = (int)i;
    return true;
}

__global__ void __launch_bounds__(kStatThreads) histogram_kernel(const float* x, int64_t n, int k,
                                                                 unsigned long long* bins,
                                                                 unsigned long long* outside) {
    __shared__ uint32_t local[kBins];  // 32 KiB of LDS
    for (int b = threadIdx.x; b < kBins; b += blockDim.x) local[b] = 0;
    __syncthreads();
    unsigned long long out = 0;
    HQ_GRID_LOOP(i, n) {
        const uint32_t bits = __float_as_uint(x[i]);
        if ((bits & 0x7f800000u) == 0x7f800000u) continue;  // NaN / Inf
        int bin;
        if (hist_bin(bits, k, bin))
            atomicAdd(&local[bin], 1u);
        else
            ++out;
    }
    __syncthreads();
    for (int b = threadIdx.x; b < kBins; b += blockDim.x) {
        const uint32_t c = local[b];
        if (c) atomicAdd(&bins[b], (unsigned long long)c);
    }
    if (out) atomicAdd(outside, out);
}

template <typename Q>
struct QRange;
template <> struct QRange<uint8_t> { static constexpr float lo = 0, hi = 255; };
template <> struct QRange<int8_t> { static constexpr float lo = -128, hi = 127; };
template <> struct QRange<uint16_t> { static constexpr float lo = 0, hi = 65535; };
template <> struct QRange<int16_t> { static constexpr float lo = -32768, hi = 32767; };

template <typename T, typename Q>
__global__ void quantize_kernel(const T* x, Q* y, const float* scale, const int32_t* zp, int64_t total, int64_t n,
                                int64_t inner, bool per_axis) {
    HQ_GRID_LOOP(i, total) {
        const int64_t p = per_axis ? (i / inner) % n : 0;
        // lib/exec/cpu/quant.cpp round_even: clamp to +-2^22 (NaN goes low), round half to even.
        float v = ld(x, i) / scale[p];
        v = v >= -4194304.0f ? v : -4194304.0f;
        v = v <= 4194304.0f ? v : 4194304.0f;
        v = rintf(v) + (float)zp[p];
        v = v >= QRange<Q>::lo ? v : QRange<Q>::lo;
        v = v <= QRange<Q>::hi ? v : QRange<Q>::hi;
        y[i] = (Q)v;
    }
}

template <typename Q>
__global__ void dequantize_kernel(const Q* x, float* y, const float* scale, const int32_t* zp, int64_t total,
                                  int64_t n, int64_t inner, bool per_axis) {
    HQ_GRID_LOOP(i, total) {
        const int64_t p = per_axis ? (i / inner) % n : 0;
        y[i] = (float)((int64_t)x[i] - zp[p]) * scale[p];
    }
}

// Runs body with Q bound to the integer type of ONNX code qtype.
#define HQ_QTYPE(qtype, Q, ...)                                  \
    do {                                                         \
        switch (qtype) {                                         \
            case 2: { using Q = uint8_t; __VA_ARGS__; } break;   \
            case 3: { using Q = int8_t; __VA_ARGS__; } break;    \
            case 4: { using Q = uint16_t; __VA_ARGS__; } break;  \
            case 5: { using Q = int16_t; __VA_ARGS__; } break;   \
            default: throw ::hq::Error("internal: quantized type " + std::to_string(qtype), ::hq::ErrorKind::Internal); \
        }                                                        \
    } while (0)

}  // namespace

void stats_init(hipStream_t s, StatsDev* out) {
    stats_init_kernel<<<1, 1, 0, s>>>(out);
    HQ_HIP_CHECK_LAUNCH("stats_init_kernel");
}

void stats(hipStream_t s, const float* x, int64_t n, StatsDev* out) {
    if (n <= 0) return;
    const int64_t blocks = (n + kStatThreads * 16 - 1) / (kStatThreads * 16);
    stats_kernel<<<(unsigned)(blocks > 1024 ? 1024 : blocks), kStatThreads, 0, s>>>(x, n, out);
    HQ_HIP_CHECK_LAUNCH("stats_kernel");
}

float key_to_float(uint32_t key) {
    const uint32_t b = (key & 0x80000000u) ? (key & 0x7fffffffu) : ~key;
    float f;
    memcpy(&f, &b, 4);
    return f;
}

void histogram(hipStream_t s, const float* x, int64_t n, int exponent, unsigned long long* bins,
               unsigned long long* outside) {
    if (n <= 0) return;
    // Each block counts fewer than 2^32 values into its uint32 LDS bins: n < 1024 * 2^32.
    const int64_t blocks = (n + kStatThreads * 16 - 1) / (kStatThreads * 16);
    histogram_kernel<<<(unsigned)(blocks > 1024 ? 1024 : blocks), kStatThreads, 0, s>>>(x, n, 12 - exponent, bins,
                                                                                       outside);
    HQ_HIP_CHECK_LAUNCH("histogram_kernel");
}

void quantize(hipStream_t s, FType t, const void* x, void* y, int qtype, const float* scale, const int32_t* zp,
              int64_t outer, int64_t n, int64_t inner, bool per_axis) {
    const int64_t total = outer * n * inner;
    if (total <= 0) return;
    HQ_FTYPE(t, T, HQ_QTYPE(qtype, Q, quantize_kernel<T, Q><<<blocks_for(total), kThreads, 0, s>>>(static_cast<const T*>(x), static_cast<Q*>(y), scale, zp, total, n, inner, per_axis)));
    HQ_HIP_CHECK_LAUNCH("quantize_kernel");
}

void dequantize(hipStream_t s, int qtype, const void* x, float* y, const float* scale, const int32_t* zp,
                int64_t outer, int64_t n, int64_t inner, bool per_axis) {
    const int64_t total = outer * n * inner;
    if (total <= 0) return;
    if (qtype == 6) {
        dequantize_kernel<int32_t><<<blocks_for(total), kThreads, 0, s>>>(static_cast<const int32_t*>(x), y, scale, zp, total, n, inner, per_axis);
    } else {
        HQ_QTYPE(qtype, Q, dequantize_kernel<Q><<<blocks_for(total), kThreads, 0, s>>>(static_cast<const Q*>(x), y, scale, zp, total, n, inner, per_axis));
    }
    HQ_HIP_CHECK_LAUNCH("dequantize_kernel");
}

}  // namespace hq::exec::hip::k

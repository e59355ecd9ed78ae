// Convolution: implicit GEMM through LDS (the im2col matrix is never stored: B tiles are gathered from the
// input with padding, stride and dilation applied on the fly), and a direct kernel for depthwise convs (one
// input channel per group, any channel multiplier). float32 / float16 with float32 accumulation.
#include "exec/hip/tile_gemm.h"

namespace hq::exec::hip::k {

namespace {

// Per group g and image n: Y[m, p] = sum_k W[m, k] * X[k, p] + bias[m], m < M/groups (output channels of the
// group), p < OD*OH*OW, k < (C/groups)*KD*KH*KW with X[k, p] the input tap (zero in the padding).
template <typename T>
__global__ void __launch_bounds__(kTileThreads) conv_gemm_kernel(ConvArgs a, int64_t mtiles, int64_t ntiles) {
    __shared__ TileSmem sm;
    const T* x = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    const T* bias = static_cast<const T*>(a.bias);
    T* y = static_cast<T*>(a.y);
    const int64_t cg = a.C / a.groups, mg = a.M / a.groups;
    const int64_t kvol = a.k[0] * a.k[1] * a.k[2];
    const int64_t K = cg * kvol, P = a.out[0] * a.out[1] * a.out[2];
    const int kv = (int)kvol, khw = (int)(a.k[1] * a.k[2]), k1 = (int)a.k[1], k2 = (int)a.k[2];
    const int ohw = (int)(a.out[1] * a.out[2]), o1 = (int)a.out[1], o2 = (int)a.out[2];
    const int s0 = (int)a.s[0], s1 = (int)a.s[1], s2 = (int)a.s[2], d0 = (int)a.d[0], d1 = (int)a.d[1], d2 = (int)a.d[2];
    const int p0 = (int)a.pb[0], p1 = (int)a.pb[1], p2 = (int)a.pb[2];
    const int i0 = (int)a.in[0], i1 = (int)a.in[1], i2 = (int)a.in[2];
    const int64_t is = a.in[0] * a.in[1] * a.in[2];
    const int64_t batches = a.N * a.groups;
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    for (int64_t bi = blockIdx.z; bi < batches; bi += gridDim.z) {
        const int64_t n = bi / a.groups, g = bi % a.groups;
        const T* xg = x + (n * a.C + g * cg) * is;
        const T* wg = w + g * mg * K;
        for (int64_t mt = blockIdx.y; mt < mtiles; mt += gridDim.y) {
            for (int64_t nt = blockIdx.x; nt < ntiles; nt += gridDim.x) {
                const int64_t m0 = mt * kTileM, n0 = nt * kTileN;
                float acc[kMicro][kMicro] = {};
                auto la = [&](int64_t m, int64_t k) { return ld(wg, m * K + k); };
                // 32-bit index decode (the adapter keeps K, P and the padded extents below 2^31).
                auto lb = [&](int64_t k64, int64_t p64) {
                    const int k = (int)k64, p = (int)p64;
                    const int c = k / kv, r = k - c * kv;
                    const int kd = r / khw, kh = (r / k2) % k1, kw = r % k2;
                    const int od = p / ohw, oh = (p / o2) % o1, ow = p % o2;
                    const int id = od * s0 - p0 + kd * d0, ih = oh * s1 - p1 + kh * d1, iw = ow * s2 - p2 + kw * d2;
                    if (id < 0 || id >= i0 || ih < 0 || ih >= i1 || iw < 0 || iw >= i2) return 0.f;
                    return ld(xg, (int64_t)c * is + ((int64_t)id * i1 + ih) * i2 + iw);
                };
                tile_accumulate(sm, la, lb, mg, P, K, m0, n0, true, true, acc);
                for (int i = 0; i < kMicro; ++i) {
                    const int64_t m = m0 + ty * kMicro + i;
                    if (m >= mg) break;
                    const int64_t oc = g * mg + m;
                    const float bv = bias ? ld(bias, oc) : 0.f;
                    T* yrow = y + (n * a.M + oc) * P;
                    for (int j = 0; j < kMicro; ++j) {
                        const int64_t p = n0 + tx * kMicro + j;
                        if (p >= P) break;
                        st(yrow, p, acc[i][j] + bv);
                    }
                }
            }
        }
    }
}

// One thread per output element of a depthwise conv: output channel oc reads input channel oc / multiplier.
template <typename T>
__global__ void depthwise_kernel(ConvArgs a, int64_t total) {
    const T* x = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    const T* bias = static_cast<const T*>(a.bias);
    T* y = static_cast<T*>(a.y);
    const int64_t mult = a.M / a.C, os = a.out[0] * a.out[1] * a.out[2], is = a.in[0] * a.in[1] * a.in[2];
    const int64_t kvol = a.k[0] * a.k[1] * a.k[2];
    HQ_GRID_LOOP(i, total) {
        const int64_t plane = i / os, o = i - plane * os;
        const int64_t n = plane / a.M, oc = plane % a.M;
        const int64_t od = o / (a.out[1] * a.out[2]), oh = (o / a.out[2]) % a.out[1], ow = o % a.out[2];
        const T* xp = x + (n * a.C + oc / mult) * is;
        const T* wp = w + oc * kvol;
        float acc = 0.f;
        for (int64_t kd = 0; kd < a.k[0]; ++kd) {
            const int64_t id = od * a.s[0] - a.pb[0] + kd * a.d[0];
            if (id < 0 || id >= a.in[0]) continue;
            for (int64_t kh = 0; kh < a.k[1]; ++kh) {
                const int64_t ih = oh * a.s[1] - a.pb[1] + kh * a.d[1];
                if (ih < 0 || ih >= a.in[1]) continue;
                const int64_t row = (id * a.in[1] + ih) * a.in[2];
                const int64_t wrow = (kd * a.k[1] + kh) * a.k[2];
                for (int64_t kw = 0; kw < a.k[2]; ++kw) {
                    const int64_t iw = ow * a.s[2] - a.pb[2] + kw * a.d[2];
                    if (iw >= 0 && iw < a.in[2]) acc = fmaf(ld(wp, wrow + kw), ld(xp, row + iw), acc);
                }
            }
        }
        st(y, i, acc + (bias ? ld(bias, oc) : 0.f));
    }
}

}  // namespace

void conv(hipStream_t s, const ConvArgs& a) {
    const int64_t P = a.out[0] * a.out[1] * a.out[2];
    if (a.N <= 0 || a.M <= 0 || P <= 0) return;
    if (a.groups == a.C && a.M % a.C == 0) {
        const int64_t total = a.N * a.M * P;
        HQ_FTYPE(a.t, T, depthwise_kernel<T><<<blocks_for(total), kThreads, 0, s>>>(a, total));
        HQ_HIP_CHECK_LAUNCH("depthwise_kernel");
        return;
    }
    const int64_t mg = a.M / a.groups;
    const int64_t mt = (mg + kTileM - 1) / kTileM, nt = (P + kTileN - 1) / kTileN;
    HQ_FTYPE(a.t, T, conv_gemm_kernel<T><<<tile_grid(nt, mt, a.N * a.groups), kTileThreads, 0, s>>>(a, mt, nt));
    HQ_HIP_CHECK_LAUNCH("conv_gemm_kernel");
}

}  // namespace hq::exec::hip::k

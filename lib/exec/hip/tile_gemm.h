// The LDS-tiled GEMM main loop shared by gemm.hip and conv.hip (device code only). A block of 256 threads
// computes a 64 x 64 tile of C, 4 x 4 per thread, stepping K by 16; A and B elements come from loader
// functors la(m, k) / lb(k, n) (plain strided loads for GEMM, implicit im2col for Conv) and are held in LDS as
// float32, so float16 inputs accumulate in float32.
#pragma once
#include "exec/hip/device_common.h"

namespace hq::exec::hip::k {

constexpr int kTileM = 64, kTileN = 64, kTileK = 16, kMicro = 4, kTileThreads = 256;

struct TileSmem {
    float a[kTileK][kTileM + 4];
    float b[kTileK][kTileN + 4];
};

// acc[i][j] += sum_k A[m0 + ty*4 + i, k] * B[k, n0 + tx*4 + j] over k in [0, K), tx = tid % 16, ty = tid / 16.
// Elements outside [0, M) x [0, K) or [0, K) x [0, N) read as zero (loaders are only called inside).
// a_k_fast / b_n_fast pick which index neighbouring threads walk when loading (the unit-stride one, for
// coalescing). Every thread of the block must call it with the same m0, n0, K (it synchronizes).
template <class LA, class LB>
__device__ __forceinline__ void tile_accumulate(TileSmem& sm, const LA& la, const LB& lb, int64_t M, int64_t N,
                                                int64_t K, int64_t m0, int64_t n0, bool a_k_fast, bool b_n_fast,
                                                float acc[kMicro][kMicro]) {
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    constexpr int kLoads = kTileM * kTileK / kTileThreads;  // 4 elements of each tile per thread
    for (int64_t k0 = 0; k0 < K; k0 += kTileK) {
#pragma unroll
        for (int r = 0; r < kLoads; ++r) {
            const int e = tid + r * kTileThreads;
            const int mm = a_k_fast ? e / kTileK : e % kTileM, kk = a_k_fast ? e % kTileK : e / kTileM;
            const int64_t m = m0 + mm, k = k0 + kk;
            sm.a[kk][mm] = (m < M && k < K) ? la(m, k) : 0.f;
        }
#pragma unroll
        for (int r = 0; r < kLoads; ++r) {
            const int e = tid + r * kTileThreads;
            const int nn = b_n_fast ? e % kTileN : e / kTileK, kk = b_n_fast ? e / kTileN : e % kTileK;
            const int64_t n = n0 + nn, k = k0 + kk;
            sm.b[kk][nn] = (n < N && k < K) ? lb(k, n) : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kTileK; ++kk) {
            float av[kMicro], bv[kMicro];
#pragma unroll
            for (int i = 0; i < kMicro; ++i) av[i] = sm.a[kk][ty * kMicro + i];
#pragma unroll
            for (int j = 0; j < kMicro; ++j) bv[j] = sm.b[kk][tx * kMicro + j];
#pragma unroll
            for (int i = 0; i < kMicro; ++i)
#pragma unroll
                for (int j = 0; j < kMicro; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
        }
        __syncthreads();
    }
}

// Grid for tiles: x over N tiles, y over M tiles, z over batches, each capped at 65535 (kernels loop).
inline dim3 tile_grid(int64_t ntiles, int64_t mtiles, int64_t batches) {
    auto cap = [](int64_t v) { return (unsigned)(v < 1 ? 1 : (v > 65535 ? 65535 : v)); };
    return dim3(cap(ntiles), cap(mtiles), cap(batches));
}

}  // namespace hq::exec::hip::k

// GEMM kernels: float32 / float16 (float32 accumulation) batched GEMM with strided operands, alpha/beta and a
// broadcast bias (Gemm, MatMul), and the int8 x int8 -> int32 GEMM on the dot4 instruction.
#include "exec/hip/tile_gemm.h"

namespace hq::exec::hip::k {

namespace {

template <typename T>
__global__ void __launch_bounds__(kTileThreads) gemm_kernel(GemmArgs g, int64_t mtiles, int64_t ntiles,
                                                            int64_t batches) {
    __shared__ TileSmem sm;
    const T* A = static_cast<const T*>(g.a);
    const T* B = static_cast<const T*>(g.b);
    const T* bias = static_cast<const T*>(g.bias);
    T* C = static_cast<T*>(g.c);
    const bool a_k_fast = g.a_sk == 1, b_n_fast = g.b_sn == 1;
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    for (int64_t bi = blockIdx.z; bi < batches; bi += gridDim.z) {
        int64_t aoff = 0, boff = 0, rem = bi;
        for (int d = g.nbatch - 1; d >= 0; --d) {
            const int64_t q = rem % g.batch_size[d];
            rem /= g.batch_size[d];
            aoff += q * g.batch_a[d];
            boff += q * g.batch_b[d];
        }
        const T* Ab = A + aoff;
        const T* Bb = B + boff;
        T* Cb = C + bi * g.c_bs;
        for (int64_t mt = blockIdx.y; mt < mtiles; mt += gridDim.y) {
            for (int64_t nt = blockIdx.x; nt < ntiles; nt += gridDim.x) {
                const int64_t m0 = mt * kTileM, n0 = nt * kTileN;
                float acc[kMicro][kMicro] = {};
                tile_accumulate(
                    sm, [&](int64_t m, int64_t k) { return ld(Ab, m * g.a_sm + k * g.a_sk); },
                    [&](int64_t k, int64_t n) { return ld(Bb, k * g.b_sk + n * g.b_sn); }, g.M, g.N, g.K, m0, n0,
                    a_k_fast, b_n_fast, acc);
                for (int i = 0; i < kMicro; ++i) {
                    const int64_t m = m0 + ty * kMicro + i;
                    if (m >= g.M) break;
                    for (int j = 0; j < kMicro; ++j) {
                        const int64_t n = n0 + tx * kMicro + j;
                        if (n >= g.N) break;
                        float v = g.alpha * acc[i][j];
                        if (bias) v += g.beta * ld(bias, m * g.bias_sm + n * g.bias_sn);
                        st(Cb, m * g.c_sm + n, v);
                    }
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------- int8

// dot4 is v_dot4_i32_i8 on the CDNA/Vega targets known to have it (gfx906 is Z100's ISA), __dp4a on NVIDIA
// sm_61+, and the scalar sum of four sign-extended byte products elsewhere (same result). Hygon's newer
// targets (gfx926/928/936) are only assumed to have it with -DHQ_ASSUME_SDOT4, until checked on the hardware.
#if defined(__HIP_DEVICE_COMPILE__) && defined(__AMDGCN__)
#if defined(__gfx906__) || defined(__gfx908__) || defined(__gfx90a__) || defined(__gfx940__) || \
    defined(__gfx941__) || defined(__gfx942__) || defined(HQ_ASSUME_SDOT4)
#if defined(__has_builtin)
#if __has_builtin(__builtin_amdgcn_sdot4)
#define HQ_DOT4_AMD 1
#endif
#endif
#endif
#endif
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 610
#define HQ_DOT4_NV 1
#endif

__device__ __forceinline__ int dot4(int a, int b, int c) {
#if defined(HQ_DOT4_AMD)
    return __builtin_amdgcn_sdot4(a, b, c, false);
#elif defined(HQ_DOT4_NV)
    return __dp4a(a, b, c);
#else
    for (int j = 0; j < 4; ++j) c += (int)(int8_t)(a >> (8 * j)) * (int)(int8_t)(b >> (8 * j));
    return c;
#endif
}

__global__ void dot_path_kernel(int* out) {
#if defined(HQ_DOT4_AMD) || defined(HQ_DOT4_NV)
    *out = 1;
#else
    *out = 0;
#endif
}

constexpr int kQTile = 64, kQWords = 16;  // 64 x 64 outputs per block, K steps of 64 bytes (16 words)

// Four int8 values [kb, kb + 4) of a row of length K packed little-endian into a word; zeros past K or for an
// invalid row.
__device__ __forceinline__ int pack4(const int8_t* row, int64_t kb, int64_t K, bool valid, bool aligned) {
    if (!valid || kb >= K) return 0;
    if (aligned && kb + 4 <= K) return *reinterpret_cast<const int*>(row + kb);
    unsigned w = 0;
    for (int j = 0; j < 4; ++j)
        if (kb + j < K) w |= (unsigned)(uint8_t)row[kb + j] << (8 * j);
    return (int)w;
}

__global__ void __launch_bounds__(256) gemm_s8_kernel(int64_t M, int64_t N, int64_t K, const int8_t* A,
                                                      const int8_t* Bt, int32_t* C, int64_t mtiles, int64_t ntiles) {
    __shared__ int as[kQTile][kQWords + 1];
    __shared__ int bs[kQTile][kQWords + 1];
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const bool aligned = K % 4 == 0;
    for (int64_t mt = blockIdx.y; mt < mtiles; mt += gridDim.y) {
        for (int64_t nt = blockIdx.x; nt < ntiles; nt += gridDim.x) {
            const int64_t m0 = mt * kQTile, n0 = nt * kQTile;
            int acc[4][4] = {};
            for (int64_t k0 = 0; k0 < K; k0 += 4 * kQWords) {
                for (int r = 0; r < 4; ++r) {
                    const int e = tid + r * 256, row = e / kQWords, w = e % kQWords;
                    const int64_t m = m0 + row, n = n0 + row, kb = k0 + 4 * w;
                    as[row][w] = pack4(A + (m < M ? m : 0) * K, kb, K, m < M, aligned);
                    bs[row][w] = pack4(Bt + (n < N ? n : 0) * K, kb, K, n < N, aligned);
                }
                __syncthreads();
                for (int w = 0; w < kQWords; ++w) {
                    int a[4], b[4];
                    for (int i = 0; i < 4; ++i) a[i] = as[ty * 4 + i][w];
                    for (int j = 0; j < 4; ++j) b[j] = bs[tx * 4 + j][w];
                    for (int i = 0; i < 4; ++i)
                        for (int j = 0; j < 4; ++j) acc[i][j] = dot4(a[i], b[j], acc[i][j]);
                }
                __syncthreads();
            }
            for (int i = 0; i < 4; ++i) {
                const int64_t m = m0 + ty * 4 + i;
                if (m >= M) break;
                for (int j = 0; j < 4; ++j) {
                    const int64_t n = n0 + tx * 4 + j;
                    if (n < N) C[m * N + n] = acc[i][j];
                }
            }
        }
    }
}

}  // namespace

void gemm(hipStream_t s, const GemmArgs& g) {
    if (g.M <= 0 || g.N <= 0) return;
    int64_t batches = 1;
    for (int d = 0; d < g.nbatch; ++d) batches *= g.batch_size[d];
    if (batches <= 0) return;
    const int64_t mt = (g.M + kTileM - 1) / kTileM, nt = (g.N + kTileN - 1) / kTileN;
    HQ_FTYPE(g.t, T, gemm_kernel<T><<<tile_grid(nt, mt, batches), kTileThreads, 0, s>>>(g, mt, nt, batches));
    HQ_HIP_CHECK_LAUNCH("gemm_kernel");
}

void gemm_s8s8s32(hipStream_t s, int64_t M, int64_t N, int64_t K, const int8_t* a, const int8_t* bt, int32_t* c) {
    if (M <= 0 || N <= 0) return;
    const int64_t mt = (M + kQTile - 1) / kQTile, nt = (N + kQTile - 1) / kQTile;
    gemm_s8_kernel<<<tile_grid(nt, mt, 1), 256, 0, s>>>(M, N, K, a, bt, c, mt, nt);
    HQ_HIP_CHECK_LAUNCH("gemm_s8_kernel");
}

void int8_dot_path(hipStream_t s, int* out) {
    dot_path_kernel<<<1, 1, 0, s>>>(out);
    HQ_HIP_CHECK_LAUNCH("dot_path_kernel");
}

}  // namespace hq::exec::hip::k

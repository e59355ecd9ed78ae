// hipemu device side: kernels compile as host C++ (__global__ etc. vanish, __shared__ becomes a function-local
// static: blocks run one after another) and run as fibers, one per work-item, switched at __syncthreads and
// wavefront shuffles. Launches `k<<<grid, block, shmem, stream>>>(args)` are rewritten to
// hipemu::launch(grid, block, shmem, stream, k, args) by tests/hip/emu/rewrite_launches.py. The scheduler
// reports __syncthreads reached by only part of a block and shuffles reached by only part of a wavefront.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <math.h>

#include <hip/hip_runtime_api.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
    dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};

namespace hipemu {
extern dim3 block_idx, block_dim, grid_dim;
extern int warp_size;
const dim3& thread_idx();
void syncthreads();
float shfl_xor(float v, int mask);
void run_block(const std::function<void()>& body);
void set_launch_error(hipError_t e);

template <class... P, class... A>
void launch(dim3 grid, dim3 block, size_t shmem, hipStream_t, void (*kernel)(P...), A&&... args) {
    if (shmem != 0 || block.x * block.y * block.z == 0 || block.x * block.y * block.z > 1024 || grid.y > 65535 ||
        grid.z > 65535 || (uint64_t)grid.x * block.x >= (uint64_t(1) << 32)) {
        set_launch_error(hipErrorInvalidValue);
        return;
    }
    const std::function<void()> body = [&] { kernel(static_cast<P>(args)...); };
    grid_dim = grid;
    block_dim = block;
    for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
            for (unsigned x = 0; x < grid.x; ++x) {
                block_idx = dim3(x, y, z);
                run_block(body);
            }
}
}  // namespace hipemu

#define threadIdx (::hipemu::thread_idx())
#define blockIdx (::hipemu::block_idx)
#define blockDim (::hipemu::block_dim)
#define gridDim (::hipemu::grid_dim)
#define warpSize (::hipemu::warp_size)
#define __syncthreads() ::hipemu::syncthreads()

inline float __shfl_xor(float v, int mask, int width = 0) { return ::hipemu::shfl_xor(v, mask); }

template <class T>
inline T min(T a, T b) { return b < a ? b : a; }
template <class T>
inline T max(T a, T b) { return a < b ? b : a; }
using std::isfinite;
using std::isnan;

inline unsigned atomicAdd(unsigned* p, unsigned v) { unsigned o = *p; *p = o + v; return o; }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) { unsigned long long o = *p; *p = o + v; return o; }
inline unsigned atomicMin(unsigned* p, unsigned v) { unsigned o = *p; *p = v < o ? v : o; return o; }
inline unsigned atomicMax(unsigned* p, unsigned v) { unsigned o = *p; *p = v > o ? v : o; return o; }

inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
inline int __float_as_int(float f) { int u; std::memcpy(&u, &f, 4); return u; }
inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
inline float __int_as_float(int u) { float f; std::memcpy(&f, &u, 4); return f; }

// Data movement on raw elements (1, 2, 4 or 8 bytes, any dtype): strided copies (Transpose, Slice, Expand,
// Tile, DepthToSpace, SpaceToDepth, Split), row copies (Concat) and Gather on one axis.
#include "exec/hip/device_common.h"

namespace hq::exec::hip::k {

namespace {

template <typename W, typename I>
__global__ void strided_copy_kernel(const W* src, W* dst, Walk w, int64_t n) {
    HQ_GRID_LOOP(i, n) {
        I off[1];
        walk_offsets<I, 1>(w, (I)i, off);
        dst[i] = src[off[0]];
    }
}

template <typename W, typename I>
__global__ void copy_rows_kernel(const W* src, I sp, W* dst, I dp, I cols, int64_t n) {
    HQ_GRID_LOOP(i, n) {
        const I r = (I)i / cols, c = (I)i - r * cols;
        dst[r * dp + c] = src[r * sp + c];
    }
}

template <typename W>
__global__ void gather_kernel(const W* x, const int64_t* idx, W* y, int64_t nidx, int64_t dim, int64_t inner,
                              int64_t n) {
    HQ_GRID_LOOP(e, n) {
        const int64_t k = e / inner, i = e - k * inner;
        const int64_t o = k / nidx, j = k - o * nidx;
        y[e] = x[(o * dim + idx[j]) * inner + i];
    }
}

}  // namespace

void strided_copy(hipStream_t s, int esize, const void* src, int64_t off, void* dst, const Walk& w) {
    const int64_t n = walk_numel(w);
    if (n <= 0) return;
    const bool small = walk_small(w, 1);
    HQ_ESIZE(esize, W, {
        const W* ps = static_cast<const W*>(src) + off;
        W* pd = static_cast<W*>(dst);
        if (small)
            strided_copy_kernel<W, int32_t><<<blocks_for(n), kThreads, 0, s>>>(ps, pd, w, n);
        else
            strided_copy_kernel<W, int64_t><<<blocks_for(n), kThreads, 0, s>>>(ps, pd, w, n);
    });
    HQ_HIP_CHECK_LAUNCH("strided_copy_kernel");
}

void copy_rows(hipStream_t s, int esize, const void* src, int64_t src_pitch, void* dst, int64_t dst_pitch,
               int64_t rows, int64_t cols) {
    const int64_t n = rows * cols;
    if (n <= 0) return;
    const int64_t lim = int64_t(1) << 31;
    const bool small = rows * (src_pitch > dst_pitch ? src_pitch : dst_pitch) < lim;
    HQ_ESIZE(esize, W, {
        const W* ps = static_cast<const W*>(src);
        W* pd = static_cast<W*>(dst);
        if (small)
            copy_rows_kernel<W, int32_t><<<blocks_for(n), kThreads, 0, s>>>(ps, (int32_t)src_pitch, pd, (int32_t)dst_pitch, (int32_t)cols, n);
        else
            copy_rows_kernel<W, int64_t><<<blocks_for(n), kThreads, 0, s>>>(ps, src_pitch, pd, dst_pitch, cols, n);
    });
    HQ_HIP_CHECK_LAUNCH("copy_rows_kernel");
}

void gather(hipStream_t s, int esize, const void* x, const int64_t* idx, void* y, int64_t outer, int64_t nidx,
            int64_t dim, int64_t inner) {
    const int64_t n = outer * nidx * inner;
    if (n <= 0) return;
    HQ_ESIZE(esize, W, gather_kernel<W><<<blocks_for(n), kThreads, 0, s>>>(static_cast<const W*>(x), idx, static_cast<W*>(y), nidx, dim, inner, n));
    HQ_HIP_CHECK_LAUNCH("gather_kernel");
}

}  // namespace hq::exec::hip::k

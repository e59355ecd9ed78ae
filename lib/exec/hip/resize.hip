// Resize / Upsample from per-axis tap tables built on the host (exec/hip/resize_plan.cpp, the rules of
// lib/exec/cpu/resize.cpp): nearest moves raw elements; linear and cubic sum the weighted taps of every
// resized axis (their product), in float32. One thread per output element.
#include "exec/hip/device_common.h"

namespace hq::exec::hip::k {

namespace {

template <typename W>
__global__ void resize_nearest_kernel(const W* x, W* y, ResizeArgs a, const int32_t* idx, W extrapolation,
                                      int64_t total) {
    HQ_GRID_LOOP(i, total) {
        int64_t rem = i, src = 0, istride = 1;
        bool outside = false;
        for (int d = a.rank - 1; d >= 0; --d) {
            const int64_t j = rem % a.out[d];
            rem /= a.out[d];
            int64_t ix = j;
            if (a.taps[d] > 0) {
                ix = idx[a.off[d] + j];
                outside = outside || ix < 0;
            }
            src += ix * istride;
            istride *= a.in[d];
        }
        y[i] = outside ? extrapolation : x[src];
    }
}

template <typename T>
__global__ void resize_weighted_kernel(const T* x, T* y, ResizeArgs a, const int32_t* idx, const float* w,
                                       int64_t total) {
    HQ_GRID_LOOP(i, total) {
        int64_t rem = i, base = 0, istride = 1;
        int64_t jj[kMaxDims], st_[kMaxDims];
        int ax[kMaxDims], nres = 0;
        bool outside = false;
        for (int d = a.rank - 1; d >= 0; --d) {
            const int64_t j = rem % a.out[d];
            rem /= a.out[d];
            jj[d] = j;
            st_[d] = istride;
            if (a.taps[d] == 0) {
                base += j * istride;
            } else {
                ax[nres++] = d;
                outside = outside || idx[a.off[d] + j * a.taps[d]] < 0;
            }
            istride *= a.in[d];
        }
        if (outside) {
            st(y, i, a.extrapolation);
            continue;
        }
        int64_t combos = 1;
        for (int r = 0; r < nres; ++r) combos *= a.taps[ax[r]];
        float acc = 0.f;
        for (int64_t c = 0; c < combos; ++c) {
            int64_t cr = c, off = base;
            float wt = 1.f;
            for (int r = 0; r < nres; ++r) {
                const int d = ax[r];
                const int64_t t = cr % a.taps[d];
                cr /= a.taps[d];
                const int64_t k = a.off[d] + jj[d] * a.taps[d] + t;
                wt *= w[k];
                off += (int64_t)idx[k] * st_[d];
            }
            if (wt != 0.f) acc += wt * ld(x, off);
        }
        st(y, i, acc);
    }
}

}  // namespace

void resize(hipStream_t s, const void* x, void* y, const ResizeArgs& a, const int32_t* idx, const float* w) {
    int64_t total = 1;
    for (int d = 0; d < a.rank; ++d) total *= a.out[d];
    if (total <= 0) return;
    if (a.nearest) {
        HQ_ESIZE(a.esize, W, {
            const W ext = (W)a.extrapolation_bits;
            resize_nearest_kernel<W><<<blocks_for(total), kThreads, 0, s>>>(static_cast<const W*>(x), static_cast<W*>(y), a, idx, ext, total);
        });
    } else {
        HQ_FTYPE(a.t, T, resize_weighted_kernel<T><<<blocks_for(total), kThreads, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(y), a, idx, w, total));
    }
    HQ_HIP_CHECK_LAUNCH("resize_kernel");
}

}  // namespace hq::exec::hip::k

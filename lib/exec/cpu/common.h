// Helpers shared by the CPU kernels: dtype dispatch, float16 staging, axes/attribute-or-input reads,
// and a broadcasting index walker. No framework types beyond hq::Tensor and the kernel context.
#pragma once
#include <cstring>
#include <string>
#include <vector>

#include "core/half.h"
#include "core/threads.h"
#include "exec/kernel.h"

// Hot loops are built twice, for AVX2+FMA and for the baseline, and picked at load time.
#define HQ_CPU_CLONES __attribute__((target_clones("arch=haswell", "default")))

namespace hq::exec::cpu {

// gemm.cpp: row-major C = alpha * op(A) * op(B) + beta * C on OpenBLAS (threads follow hq::num_threads()).
void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
               const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
               const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

// gemm.cpp: the MatMul kernel's body (numpy batching; float32/float64 on BLAS, integer types in plain loops).
Tensor matmul_tensors(const graph::Node& nd, const Tensor& a, const Tensor& b);
// conv.cpp: Conv of float32/float64 x [N, C, spatial...] and w [M, C/group, k...] under the node's Conv attributes
// (auto_pad, dilations, group, kernel_shape, pads, strides), no bias; conv_window_check checks those attributes.
Tensor conv_tensors(const KernelContext& ctx, const Tensor& x, const Tensor& w);
std::string conv_window_check(const graph::Node& n, int64_t opset);

// Calls f(T{}) with T the C++ type of dtype `t` (all numeric types plus bool as uint8_t-compatible bool).
// float16/bfloat16 are not dispatched here: stage them through float32 (to_f32/from_f32).
template <typename F>
void dispatch_numeric(DType t, const std::string& who, F&& f) {
    switch (t) {
        case DType::F32: f(float{}); break;
        case DType::F64: f(double{}); break;
        case DType::I8: f(int8_t{}); break;
        case DType::U8: f(uint8_t{}); break;
        case DType::I16: f(int16_t{}); break;
        case DType::U16: f(uint16_t{}); break;
        case DType::I32: f(int32_t{}); break;
        case DType::U32: f(uint32_t{}); break;
        case DType::I64: f(int64_t{}); break;
        case DType::U64: f(uint64_t{}); break;
        case DType::Bool: f(bool{}); break;
        default: HQ_FAIL(who, ": unsupported element type ", dtype_name(t));
    }
}

// Grain of elementwise loops: below this many elements parallel_for runs inline.
constexpr int64_t kGrain = 16384;

// y[i] = f(x[i]) over n elements, split over the pool.
template <typename T, typename U, typename F>
void map1(const T* x, U* y, int64_t n, F f) {
    parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) y[i] = f(x[i]);
    });
}

// float32 copy of a float16/bfloat16/float64 tensor (float32 tensors are returned as they are, shared).
Tensor to_f32(const Tensor& t);
// Converts a float32 tensor to `dt` (float16, bfloat16, float64 or float32).
Tensor from_f32(const Tensor& t, DType dt);
inline bool is_staged_float(DType t) { return t == DType::F16 || t == DType::BF16; }

// Integer list from input `idx` when present (opset where it moved to an input), else from attribute.
std::vector<int64_t> ints_input_or_attr(const KernelContext& ctx, size_t idx, const std::string& attr,
                                        std::vector<int64_t> def = {});

// Walks the flat indices of `out_shape` and yields, for each, the flat index into an input of shape
// `in_shape` broadcast to it (numpy rules). Precomputes strides; cheap per element.
struct BroadcastIndex {
    BroadcastIndex(const Shape& in_shape, const Shape& out_shape);
    // Flat index into the input for output flat index `i`.
    int64_t operator()(int64_t i) const {
        int64_t r = 0;
        for (size_t d = 0; d < out_strides_.size(); ++d) {
            int64_t q = i / out_strides_[d];
            i -= q * out_strides_[d];
            r += q * in_strides_[d];
        }
        return r;
    }
    bool identity = false;  // input shape == output shape
    bool scalar = false;    // input has one element

private:
    std::vector<int64_t> out_strides_, in_strides_;  // in_strides_ zero on broadcast dims
};

// ONNX Runtime's float32 sum of q[0..n) in its Eigen (SSE) reduction order, bit for bit; `offset` is q's element
// offset in its 64-byte aligned tensor (it decides the aligned start). ReduceSum/ReduceMean over trailing axes.
float ort_float_sum(const float* q, int64_t n, int64_t offset);
// ONNX Runtime's (MLAS) float32 sum for global average pooling: one 4-lane accumulator, lanes added as
// (l0 + l2) + (l1 + l3), then the tail one by one.
float mlas_float_sum(const float* q, int64_t n);

}  // namespace hq::exec::cpu

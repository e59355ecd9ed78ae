// The HIP kernel library: plain launch functions over device pointers, sizes and small argument structs,
// no framework types (the MLAS habit). lib/exec/hip/ops_*.cpp map ONNX nodes onto them. Every function
// enqueues on `stream` and throws hq::Error naming the kernel when a launch fails. Float tensors are
// float32 or float16 (FType; float16 is stored as uint16_t and computed in float32). Element offsets and
// sizes are int64; grids are grid-stride loops, so no size limit comes from gridDim.
#pragma once
#include <hip/hip_runtime_api.h>

#include <cstdint>

namespace hq::exec::hip::k {

enum class FType : int { F32 = 0, F16 = 1 };
inline int fsize(FType t) { return t == FType::F32 ? 4 : 2; }

constexpr int kMaxDims = 8;

// An output walked in row-major order whose inputs are read through per-dim strides (0 on broadcast dims).
struct Walk {
    int rank = 0;
    int64_t size[kMaxDims] = {};
    int64_t stride[3][kMaxDims] = {};  // up to three inputs
};

// ------------------------------------------------------------------------------------------ gemm.hip
// C[b][m, n] = alpha * sum_k A[b][m, k] * B[b][k, n] + beta * bias[m * bias_sm + n * bias_sn]
// A[m, k] at a + m * a_sm + k * a_sk (likewise B); C row-major with c_sm (column stride 1), batches
// c_bs apart. Batch index b decomposes over `nbatch` dims with per-dim A/B offsets (0 = broadcast).
struct GemmArgs {
    FType t = FType::F32;
    int64_t M = 0, N = 0, K = 0;
    const void* a = nullptr;
    int64_t a_sm = 0, a_sk = 0;
    const void* b = nullptr;
    int64_t b_sk = 0, b_sn = 0;
    void* c = nullptr;
    int64_t c_sm = 0, c_bs = 0;
    const void* bias = nullptr;  // same FType as C; nullptr: none
    int64_t bias_sm = 0, bias_sn = 0;
    float alpha = 1.f, beta = 0.f;
    int nbatch = 0;
    int64_t batch_size[6] = {}, batch_a[6] = {}, batch_b[6] = {};
};
void gemm(hipStream_t s, const GemmArgs& g);

// int8 x int8 -> int32: C[M, N] = A[M, K] * Bt[N, K]^T, all row-major. Uses the dot4 instruction
// (__builtin_amdgcn_sdot4 / __dp4a) where the target has it, else a scalar path with the same result.
void gemm_s8s8s32(hipStream_t s, int64_t M, int64_t N, int64_t K, const int8_t* a, const int8_t* bt, int32_t* c);
// Writes 1 to *out when the code the device runs uses dot4, 0 for the scalar path.
void int8_dot_path(hipStream_t s, int* out);

// ------------------------------------------------------------------------------------------ conv.hip
// Conv over 1-3 spatial dims normalized to three (D, H, W; leading ones). x [N, C, in], w [M, C/groups, k],
// bias [M] or nullptr, y [N, M, out]. Implicit GEMM through LDS; one input channel per group uses a
// direct depthwise kernel.
struct ConvArgs {
    FType t = FType::F32;
    int64_t N = 0, C = 0, M = 0, groups = 1;
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1},
            pb[3] = {0, 0, 0};
    const void* x = nullptr;
    const void* w = nullptr;
    const void* bias = nullptr;
    void* y = nullptr;
};
void conv(hipStream_t s, const ConvArgs& a);

// -------------------------------------------------------------------------------------- elementwise.hip
enum class BinOp : int { Add, Sub, Mul, Div, Pow, Max, Min, PRelu, Equal, Less, Greater, LessEq, GreaterEq };
inline bool bin_is_compare(BinOp op) { return op >= BinOp::Equal; }
// out[i] = op(a[walk 0], b[walk 1]); out has a's FType, or bool (uint8) for comparisons.
void binary(hipStream_t s, BinOp op, FType t, const void* a, const void* b, void* out, const Walk& w);

enum class UnOp : int {
    Relu, LeakyRelu, Elu, Celu, Selu, ThresholdedRelu, Sigmoid, HardSigmoid, HardSwish, Softplus, Softsign, Mish,
    Gelu, GeluTanh, Tanh, Erf, Exp, Log, Sqrt, Reciprocal, Neg, Abs, Sign, Floor, Ceil, Round, Sin, Cos, Clip,
    Scale  // y = x * p0 (Mean's division)
};
// y[i] = op(x[i]; p0, p1) over n elements (p0/p1: alpha, beta, gamma, clip bounds as the op needs).
void unary(hipStream_t s, UnOp op, FType t, const void* x, void* y, int64_t n, float p0, float p1);
// float32 <-> float16, round to nearest even.
void cast_float(hipStream_t s, FType from, FType to, const void* x, void* y, int64_t n);
// out = cond ? x : y, three-way broadcast (walk 0: cond as uint8, 1: x, 2: y); elements of `esize` bytes.
void where(hipStream_t s, int esize, const uint8_t* cond, const void* x, const void* y, void* out, const Walk& w);
// y[g, i] = x[g, i] * a[g % channels] + b[g % channels] over groups of `inner` elements (BatchNormalization).
void channel_affine(hipStream_t s, FType t, const void* x, void* y, int64_t groups, int64_t inner, int64_t channels,
                    const float* a, const float* b);

// ---------------------------------------------------------------------------------------- reduce.hip
enum class RedOp : int { Sum, Mean, Max, Min, Prod, L1, L2, SumSquare, LogSum, LogSumExp };
// Each output o reduces the elements x[base(o) + sum_r j_r * red_stride[r]]; base(o) decomposes o over the
// kept dims (row-major) with kept_stride.
struct ReduceArgs {
    int kept_rank = 0, red_rank = 0;
    int64_t kept_size[kMaxDims] = {}, kept_stride[kMaxDims] = {};
    int64_t red_size[kMaxDims] = {}, red_stride[kMaxDims] = {};
    int64_t n_out = 0, n_red = 0;
};
void reduce(hipStream_t s, RedOp op, FType t, const void* x, void* y, const ReduceArgs& a);
// Softmax (mode 0), LogSoftmax (1), Hardmax (2) over the middle dim of x viewed as [outer, n, inner].
void softmax(hipStream_t s, int mode, FType t, const void* x, void* y, int64_t outer, int64_t n, int64_t inner);
// Per row r of `n` elements: y = (x - mean) / sqrt(var + eps) * scale[p] + bias[p], p = i (per_row_param
// false: LayerNormalization) or r % channels (true: InstanceNormalization). bias may be nullptr. Optional
// float32 outputs mean[r] and inv_std[r] (nullptr: not wanted).
void row_norm(hipStream_t s, FType t, const void* x, void* y, int64_t rows, int64_t n, const float* scale,
              const float* bias, bool per_row_param, int64_t channels, float eps, float* mean, float* inv_std);

// ------------------------------------------------------------------------------------------ pool.hip
// mode 0 MaxPool, 1 AveragePool (count_include_pad=0), 2 AveragePool (count_include_pad=1).
struct PoolArgs {
    int mode = 0;
    int64_t planes = 0;
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1},
            pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0};
};
void pool(hipStream_t s, FType t, const void* x, void* y, const PoolArgs& a);
// y[p] = max or mean of the `inner` elements of plane p.
void global_pool(hipStream_t s, bool max, FType t, const void* x, void* y, int64_t planes, int64_t inner);

// ---------------------------------------------------------------------------------------- resize.hip
// Table-driven resize: output index j on axis a reads input indices idx[off[a] + j * taps[a] + t] with weights
// w[...] (idx -1: outside the input, the output element is `extrapolation`). Axes with taps 0 copy the
// index. nearest: one tap per resized axis, elements of `esize` bytes moved as they are; otherwise float
// (FType t) weighted sums over the product of the resized axes' taps.
struct ResizeArgs {
    int rank = 0;
    bool nearest = true;
    int esize = 4;
    FType t = FType::F32;
    int64_t in[kMaxDims] = {}, out[kMaxDims] = {};
    int taps[kMaxDims] = {};
    int64_t off[kMaxDims] = {};
    float extrapolation = 0.f;     // weighted modes
    uint64_t extrapolation_bits = 0;  // nearest: the element's bytes (low esize bytes)
};
void resize(hipStream_t s, const void* x, void* y, const ResizeArgs& a, const int32_t* idx, const float* w);

// ---------------------------------------------------------------------------------------- data.hip
// dst[i] (row-major over walk.size) = src[off + sum_d i_d * walk.stride[0][d]] (strides may be 0 or
// negative), elements of `esize` bytes (1, 2, 4, 8). Transpose, Slice, Expand, Tile, DepthToSpace...
void strided_copy(hipStream_t s, int esize, const void* src, int64_t off, void* dst, const Walk& w);
// rows x cols elements from src (row pitch src_pitch) to dst (row pitch dst_pitch), all in elements.
void copy_rows(hipStream_t s, int esize, const void* src, int64_t src_pitch, void* dst, int64_t dst_pitch,
               int64_t rows, int64_t cols);
// Gather on one axis: y[o, j, i] = x[o, idx[j], i], x viewed as [outer, dim, inner]; idx already in [0, dim).
void gather(hipStream_t s, int esize, const void* x, const int64_t* idx, void* y, int64_t outer, int64_t nidx,
            int64_t dim, int64_t inner);

// ----------------------------------------------------------------------------------------- calib.hip
// Statistics of float32 values as the device accumulates them: order-preserving keys of the finite min
// and max (a zero counts as +0), and counts. Zero it with stats_init before stats().
struct StatsDev {
    uint32_t min_key, max_key;
    unsigned long long finite, nan, inf;
};
void stats_init(hipStream_t s, StatsDev* out);
void stats(hipStream_t s, const float* x, int64_t n, StatsDev* out);
float key_to_float(uint32_t key);  // host side: the float of an order-preserving key
// Adds every finite x to bins[8192]: bin = 4096 + floor(x * 2^(12 - exponent)), computed exactly with integer
// arithmetic on the float's bits (calib/histogram.cpp's rule). Per-block LDS histograms, one global atomic
// per non-empty bin per block. Values outside [-2^e, 2^e) are not binned; they are counted in *outside.
void histogram(hipStream_t s, const float* x, int64_t n, int exponent, unsigned long long* bins,
               unsigned long long* outside);

// QuantizeLinear: y = saturate(round_half_even(x / scale[p]) + zp[p]); DequantizeLinear:
// y = (x - zp[p]) * scale[p]; p = 0 (per tensor) or the index on the axis of x viewed as [outer, n, inner].
// qtype: the ONNX DType code of the integer type (2 uint8, 3 int8, 4 uint16, 5 int16, 6 int32 dequantize only).
void quantize(hipStream_t s, FType t, const void* x, void* y, int qtype, const float* scale, const int32_t* zp,
              int64_t outer, int64_t n, int64_t inner, bool per_axis);
void dequantize(hipStream_t s, int qtype, const void* x, float* y, const float* scale, const int32_t* zp,
                int64_t outer, int64_t n, int64_t inner, bool per_axis);

}  // namespace hq::exec::hip::k

// Registration functions of the CPU kernel families, one per file in lib/exec/cpu/.
#pragma once
#include "exec/kernel.h"

namespace hq::exec::cpu {

void register_elementwise(KernelRegistry& r);  // elementwise.cpp: binary (broadcast), Cast, Where, Clip...
void register_unary(KernelRegistry& r);        // unary.cpp: activations and unary math
void register_reduce(KernelRegistry& r);       // reduce.cpp: Reduce*, ArgMax, Softmax, LogSoftmax, TopK, CumSum
void register_norm(KernelRegistry& r);         // norm.cpp: BatchNormalization, Layer-, Instance-, GroupNormalization
void register_quant(KernelRegistry& r);        // quant.cpp: QuantizeLinear, DequantizeLinear
void register_qlinear(KernelRegistry& r);      // qlinear.cpp: ConvInteger, MatMulInteger, QLinearConv, QLinearMatMul
void register_conv(KernelRegistry& r);         // conv.cpp: Conv, ConvTranspose
void register_gemm(KernelRegistry& r);         // gemm.cpp: Gemm, MatMul, Einsum
void register_pool(KernelRegistry& r);         // pool.cpp: MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool
void register_resize(KernelRegistry& r);       // resize.cpp: Resize, Upsample
void register_shape_ops(KernelRegistry& r);    // shape_ops.cpp: Reshape, Transpose, Concat, Slice, Pad, Trilu...
void register_gather_scatter(KernelRegistry& r);  // gather_scatter.cpp: Gather*, Scatter*, NonZero, OneHot
void register_recurrent(KernelRegistry& r);    // recurrent.cpp: RNN, GRU, LSTM
void register_detection(KernelRegistry& r);    // detection.cpp: NonMaxSuppression, RoiAlign
void register_sampling(KernelRegistry& r);     // sampling.cpp: GridSample, Col2Im
void register_qlinear_ms(KernelRegistry& r);   // qlinear_ms.cpp: com.microsoft QLinearAdd/Mul/Sigmoid/..., QGemm,
                                               // MatMulIntegerToFloat, DynamicQuantizeMatMul
void register_select(KernelRegistry& r);       // select.cpp: Unique, Compress
void register_contrib(KernelRegistry& r);      // contrib.cpp: com.microsoft Gelu, FastGelu, BiasGelu, QuickGelu,
                                               // SkipLayerNormalization (FusedMatMul: gemm.cpp)

}  // namespace hq::exec::cpu

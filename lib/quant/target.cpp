#include "quant/target.h"

#include "core/error.h"

namespace hq::quant {

namespace {

// Ops ONNX Runtime's CPU provider runs on int8 unchanged between DQ and Q (qdq_transformer's
// "drop Q/DQ" selectors), and those it has a QLinear kernel for (DQ* -> op -> Q).
const std::set<std::string> kOrtPassthrough = {"MaxPool",   "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Slice",
                                               "Gather",    "Flatten", "Tile",      "Expand",  "Resize",    "DepthToSpace",
                                               "SpaceToDepth"};
const std::set<std::string> kOrtInt8 = {"Add",     "Mul",       "Concat",  "GlobalAveragePool", "AveragePool",
                                        "Sigmoid", "LeakyRelu", "Softmax"};

std::vector<Target> make_targets() {
    std::vector<Target> t;
    {
        // MIGraphX (Hygon DTK): simplify_qdq makes quant_convolution / quant_dot from convolution and dot whose
        // inputs BOTH come from DequantizeLinear of int8 with a scalar activation scale; no output Q needed; uint8
        // pairs are dropped (the op runs in float). Fast FP16 on the DCU.
        Target d;
        d.name = "dcu";
        d.engine = "MIGraphX (Hygon DTK)";
        d.int8_activations = true;
        d.fallback = Precision::Fp16;
        d.fast_fp16 = true;
        d.activation_matmul = true;
        d.kernel_fused = {{"Conv", "quant_convolution"}, {"MatMul", "quant_dot"}, {"Gemm", "quant_dot"}};
        d.no_int8_kernel = {"ConvTranspose"};  // no quant_deconvolution in simplify_qdq
        t.push_back(d);
    }
    {
        // ONNX Runtime CPU: QLinearConv only from DQ -> Conv -> Q; QLinearAdd/Mul/Concat/... from DQ* -> op -> Q;
        // Relu/Clip before a Q with the type's lowest zero point are removed; pass-through ops drop their
        // pairs. x86 kernels are U8S8 (S8 activations are rewritten to U8), so activations are uint8.
        Target o;
        o.name = "ort-cpu";
        o.engine = "ONNX Runtime CPU";
        o.int8_activations = false;
        o.reduce_range = true;
        o.fallback = Precision::Fp32;
        o.quantize_outputs = true;
        o.activation_matmul = true;
        o.int8_ops = kOrtInt8;
        o.passthrough_ops = kOrtPassthrough;
        o.folded_activations = {"Relu", "Clip"};
        o.needs_output_q = {"Conv"};
        o.no_int8_kernel = {"ConvTranspose"};  // no DQ -> ConvTranspose -> Q fusion on the CPU provider (1.31)
        o.kernel_fused = {{"Conv", "QLinearConv"},
                          {"Gemm", "QGemm"},
                          {"MatMul", "QLinearMatMul"},
                          {"Add", "QLinearAdd"},
                          {"Mul", "QLinearMul"},
                          {"Concat", "QLinearConcat"},
                          {"GlobalAveragePool", "QLinearGlobalAveragePool"},
                          {"AveragePool", "QLinearAveragePool"},
                          {"Sigmoid", "QLinearSigmoid"},
                          {"LeakyRelu", "QLinearLeakyRelu"},
                          {"Softmax", "QLinearSoftmax"}};
        o.kernel_unfused = {{"Conv", "Conv (float) + weight DequantizeLinear"},
                            {"Gemm", "QGemm"},
                            {"MatMul", "MatMulIntegerToFloat"}};
        t.push_back(o);
    }
    {
        // TensorRT (ModelOpt's ONNX PTQ placement): Q/DQ on the inputs of weighted ops and on the residual input of
        // skip connections, no output Q/DQ, float bias, symmetric int8; small convs stay FP16.
        Target r;
        r.name = "tensorrt";
        r.engine = "TensorRT";
        r.int8_activations = true;
        r.fallback = Precision::Fp16;
        r.fast_fp16 = true;
        r.quantize_bias = false;
        r.residual_inputs = true;
        r.activation_matmul = true;
        r.min_channels = 16;
        r.kernel_fused = {{"Conv", "int8 convolution"}, {"ConvTranspose", "int8 deconvolution"},
                          {"MatMul", "int8 matmul"}, {"Gemm", "int8 matmul"}};
        t.push_back(r);
    }
    {
        // Any ONNX engine: the most portable QDQ -- Q/DQ on weighted layers' inputs only, int8 symmetric.
        Target g;
        g.name = "generic";
        g.engine = "any ONNX engine";
        g.int8_activations = true;
        g.fallback = Precision::Fp32;
        t.push_back(g);
    }
    return t;
}

const std::vector<Target>& targets() {
    static const std::vector<Target> t = make_targets();
    return t;
}

}  // namespace

const Target& find_target(const std::string& name) {
    for (const auto& t : targets())
        if (t.name == name) return t;
    std::string known;
    for (const auto& t : targets()) known += (known.empty() ? "" : ", ") + t.name;
    HQ_FAIL("--target '", name, "': expected one of ", known);
}

std::vector<std::string> target_names() {
    std::vector<std::string> n;
    for (const auto& t : targets()) n.push_back(t.name);
    return n;
}

const Target& default_target() { return targets().front(); }

}  // namespace hq::quant

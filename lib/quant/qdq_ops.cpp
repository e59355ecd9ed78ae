#include "quant/qdq_ops.h"

namespace hq::quant {

bool is_weighted_layer(const std::string& op) {
    return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul";
}

bool is_quantized_op(const std::string& op) {
    static const std::set<std::string> ops = {
        "Conv",    "ConvTranspose", "Gemm",          "MatMul",     "Add",         "Mul",          "Concat",
        "MaxPool", "AveragePool",   "GlobalAveragePool", "Resize", "Sigmoid",     "HardSigmoid",  "HardSwish",
        "Relu",    "Clip",          "LeakyRelu",     "Reshape",    "Transpose",   "Flatten",      "Squeeze",
        "Unsqueeze", "Split",       "Gather",        "Slice",      "Pad",         "Softmax",      "Sub",
        "Div",     "ReduceMean",    "Tanh",          "Where"};
    return ops.count(op) != 0;
}

std::set<std::string> calibration_targets(const graph::Model& m) {
    const auto& g = m.graph;
    auto is_float_activation = [&](const std::string& v) {
        if (v.empty() || g.is_initializer(v)) return false;
        const graph::ValueInfo* vi = g.find_value(v);
        return !vi || vi->dtype == DType::F32 || vi->dtype == DType::Undefined;
    };
    std::set<std::string> t;
    for (const auto& n : g.nodes) {
        if (!n.domain.empty() || !is_quantized_op(n.op_type)) continue;
        for (const auto& i : n.inputs)
            if (is_float_activation(i)) t.insert(i);
        for (const auto& o : n.outputs)
            if (is_float_activation(o)) t.insert(o);
    }
    return t;
}

}  // namespace hq::quant

#include "quant/qdq_ops.h"

#include "quant/placement.h"
#include "quant/target.h"

namespace hq::quant {

bool is_weighted_layer(const std::string& op) {
    return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul";
}

std::set<std::string> calibration_targets(const graph::Model& m) {
    const auto& g = m.graph;
    // What any target's placement may quantize (target.h): weighted layers' activations and outputs, and the
    // inputs and outputs of the ops a target runs on int8 or folds.
    std::set<std::string> ops;
    for (const auto& name : target_names()) {
        const Target& t = find_target(name);
        ops.insert(t.int8_ops.begin(), t.int8_ops.end());
        ops.insert(t.passthrough_ops.begin(), t.passthrough_ops.end());
        ops.insert(t.folded_activations.begin(), t.folded_activations.end());
    }
    std::set<std::string> t;
    auto add = [&](const std::string& v) {
        if (!v.empty() && !g.is_initializer(v)) t.insert(v);
    };
    for (const auto& n : g.nodes) {
        if (!n.domain.empty()) continue;
        auto acts = layer_activations(g, n);
        if (!acts.empty()) {
            for (const auto& a : acts) add(a);
            for (const auto& o : n.outputs) add(o);
        } else if (ops.count(n.op_type) || (n.op_type == "Add" && n.inputs.size() == 2)) {
            for (const auto& i : n.inputs) add(i);
            for (const auto& o : n.outputs) add(o);
        }
    }
    return t;
}

std::set<std::string> range_targets(const graph::Model& m) {
    const auto& g = m.graph;
    std::set<std::string> t;
    for (const auto& i : g.inputs) t.insert(i.name);
    for (const auto& n : g.nodes) {
        for (const auto& i : n.inputs)
            if (!i.empty() && !g.is_initializer(i)) t.insert(i);
        for (const auto& o : n.outputs)
            if (!o.empty()) t.insert(o);
    }
    return t;
}

const graph::Node* first_quantized_node(const graph::Model& m) {
    static const std::set<std::string> onnx_ops = {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
                                                   "ConvInteger", "MatMulInteger"};
    static const std::set<std::string> ms_ops = {"QGemm", "QAttention", "DynamicQuantizeMatMul",
                                                 "MatMulIntegerToFloat", "DynamicQuantizeLSTM", "MatMulNBits",
                                                 "MatMulBnb4", "GatherBlockQuantized", "QOrderedMatMul"};
    for (const auto& n : m.graph.nodes) {
        const bool onnx = n.domain.empty() || n.domain == "ai.onnx";
        if (n.op_type.rfind("QLinear", 0) == 0 || (onnx ? onnx_ops : ms_ops).count(n.op_type) ||
            (n.domain == "com.microsoft" && onnx_ops.count(n.op_type)))
            return &n;
    }
    return nullptr;
}

}  // namespace hq::quant

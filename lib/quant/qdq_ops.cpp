#include "quant/qdq_ops.h"

#include "graph/scoped_view.h"
#include "quant/placement.h"
#include "quant/target.h"

namespace hq::quant {

bool is_weighted_layer(const std::string& op) {
    return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul";
}

std::set<std::string> calibration_targets(const graph::Model& m) {
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
    // Every graph: layers inside If branches and Loop/Scan bodies (with the outer constants they read) too.
    graph::for_each_graph_view(m, [&](const graph::Model& v, const std::string&) {
        const auto& g = v.graph;
        auto add = [&](const std::string& x) {
            if (!x.empty() && !g.is_initializer(x)) t.insert(x);
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
    });
    return t;
}

std::set<std::string> range_targets(const graph::Model& m) {
    std::set<std::string> t, constants;
    // Values of every graph (subgraph inputs and values too; names are unique across scopes).
    graph::for_each_graph(m.graph, [&](const graph::Graph& g, int) {
        for (const auto& [k, c] : g.initializers) constants.insert(k);
        for (const auto& i : g.inputs) t.insert(i.name);
        for (const auto& n : g.nodes) {
            for (const auto& i : n.inputs)
                if (!i.empty()) t.insert(i);
            for (const auto& o : n.outputs)
                if (!o.empty()) t.insert(o);
        }
    });
    for (const auto& c : constants) t.erase(c);
    return t;
}

const graph::Node* first_quantized_node(const graph::Model& m) {
    static const std::set<std::string> onnx_ops = {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
                                                   "ConvInteger", "MatMulInteger"};
    static const std::set<std::string> ms_ops = {"QGemm", "QAttention", "DynamicQuantizeMatMul",
                                                 "MatMulIntegerToFloat", "DynamicQuantizeLSTM", "MatMulNBits",
                                                 "MatMulBnb4", "GatherBlockQuantized", "QOrderedMatMul"};
    const graph::Node* found = nullptr;
    graph::for_each_graph(m.graph, [&](const graph::Graph& g, int) {  // inside subgraphs too
        for (const auto& n : g.nodes) {
            const bool onnx = n.domain.empty() || n.domain == "ai.onnx";
            if (!found && (n.op_type.rfind("QLinear", 0) == 0 || (onnx ? onnx_ops : ms_ops).count(n.op_type) ||
                           (n.domain == "com.microsoft" && onnx_ops.count(n.op_type))))
                found = &n;
        }
    });
    return found;
}

}  // namespace hq::quant

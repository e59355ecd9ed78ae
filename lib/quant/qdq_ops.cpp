#include "quant/qdq_ops.h"

namespace hq::quant {

bool is_weighted_layer(const std::string& op) {
    return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul";
}

std::set<std::string> calibration_targets(const graph::Model& m) {
    const auto& g = m.graph;
    std::set<std::string> t;
    for (const auto& n : g.nodes) {
        if (!n.domain.empty() || !is_weighted_layer(n.op_type)) continue;
        int wi = g.is_initializer(n.input(1)) ? 1 : (n.op_type == "MatMul" && g.is_initializer(n.input(0)) ? 0 : -1);
        if (wi < 0) continue;
        const std::string& act = n.input(wi == 1 ? 0 : 1);
        if (!act.empty() && !g.is_initializer(act)) t.insert(act);
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

}  // namespace hq::quant

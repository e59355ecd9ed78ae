#include "graph/fusion.h"

#include <algorithm>
#include <limits>

namespace hq::graph {

namespace {

bool is_onnx(const Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

size_t count_of(const std::vector<std::string>& v, const std::string& x) { return std::count(v.begin(), v.end(), x); }

// A float scalar initializer's value.
bool scalar_init(const Graph& g, const std::string& v, float& out) {
    auto it = g.initializers.find(v);
    if (it == g.initializers.end() || it->second.numel() != 1) return false;
    const DType dt = it->second.dtype();
    if (dt != DType::F32 && dt != DType::F64 && dt != DType::F16) return false;
    out = (float)it->second.at_f64(0);
    return true;
}

// The post-op an activation node `c` (reading `v` as its first input) is, if it can be one.
bool activation_op(const Graph& g, const Node& c, const std::string& v, int64_t opset, PostOp& op) {
    if (!is_onnx(c) || c.outputs.size() != 1 || c.outputs[0].empty() || c.inputs.empty() || c.inputs[0] != v ||
        count_of(c.inputs, v) != 1)
        return false;
    const std::string& t = c.op_type;
    if (t == "Relu") {
        op.kind = PostOp::Kind::Relu;
    } else if (t == "LeakyRelu") {
        op.kind = PostOp::Kind::LeakyRelu;
        op.alpha = c.attr_float("alpha", 0.01f);
    } else if (t == "Sigmoid") {
        op.kind = PostOp::Kind::Sigmoid;
    } else if (t == "HardSwish") {
        op.kind = PostOp::Kind::HardSwish;
    } else if (t == "HardSigmoid") {
        op.kind = PostOp::Kind::HardSigmoid;
        op.alpha = c.attr_float("alpha", 0.2f);
        op.beta = c.attr_float("beta", 0.5f);
    } else if (t == "Clip") {
        op.kind = PostOp::Kind::Clip;
        op.alpha = -std::numeric_limits<float>::infinity();
        op.beta = std::numeric_limits<float>::infinity();
        if (opset < 11) {
            if (c.has_attr("min")) op.alpha = c.attr_float("min", 0);
            if (c.has_attr("max")) op.beta = c.attr_float("max", 0);
        } else {
            if (!c.input(1).empty() && !scalar_init(g, c.input(1), op.alpha)) return false;
            if (!c.input(2).empty() && !scalar_init(g, c.input(2), op.beta)) return false;
        }
        if (!(op.alpha <= op.beta)) return false;  // NaN bounds or min > max: leave to the Clip kernel
    } else {
        return false;
    }
    return true;
}

}  // namespace

std::vector<FusionGroup> plan_fusions(const Graph& g, int64_t opset, bool exact_only) {
    std::vector<FusionGroup> groups;
    const auto cons = g.consumers();
    auto readers = [&](const std::string& v) -> const std::vector<size_t>& {
        static const std::vector<size_t> none;
        auto it = cons.find(v);
        return it == cons.end() ? none : it->second;
    };
    // v may be fused away: not a graph output, read by exactly `n` distinct nodes of this graph.
    auto private_value = [&](const std::string& v, size_t n) {
        if (v.empty() || g.is_graph_output(v) || g.is_initializer(v)) return false;
        auto r = readers(v);
        std::sort(r.begin(), r.end());
        return r.size() == n && std::unique(r.begin(), r.end()) == r.end();
    };
    std::vector<char> claimed(g.nodes.size(), 0);  // absorbed by a group already (an Add two Convs could take)
    for (size_t h = 0; h < g.nodes.size(); ++h) {
        const Node& conv = g.nodes[h];
        if (claimed[h]) continue;
        if (!is_onnx(conv) || conv.op_type != "Conv" || conv.outputs.size() != 1 || conv.outputs[0].empty()) continue;
        FusionGroup grp;
        grp.nodes.push_back(h);
        std::string v = conv.outputs[0];
        int phase = 0;  // 0: after Conv, 1: after an activation, 2: after Add, 3: after Add + activation
        while (phase < 3) {
            PostOp op;
            if (private_value(v, 1)) {
                const size_t ci = readers(v)[0];
                const Node& c = g.nodes[ci];
                if (claimed[ci]) break;
                if ((phase == 0 || phase == 2) && activation_op(g, c, v, opset, op) &&
                    !(exact_only && (op.kind == PostOp::Kind::HardSwish || op.kind == PostOp::Kind::Sigmoid ||
                                     op.kind == PostOp::Kind::HardSigmoid))) {
                    grp.ops.push_back(op);
                    grp.fused_away.push_back(v);
                    grp.nodes.push_back(ci);
                    v = c.outputs[0];
                    phase = phase == 0 ? 1 : 3;
                    continue;
                }
                if (phase < 2 && is_onnx(c) && c.op_type == "Add" && c.inputs.size() == 2 && c.outputs.size() == 1 &&
                    !c.outputs[0].empty() && count_of(c.inputs, v) == 1) {
                    op.kind = PostOp::Kind::Add;
                    op.operand = c.inputs[0] == v ? c.inputs[1] : c.inputs[0];
                    if (op.operand.empty()) break;
                    grp.ops.push_back(op);
                    grp.fused_away.push_back(v);
                    grp.nodes.push_back(ci);
                    v = c.outputs[0];
                    phase = 2;
                    continue;
                }
                break;
            }
            // Swish: v read by Sigmoid s and by Mul(v, s) only.
            if ((phase == 0 || phase == 2) && !exact_only && private_value(v, 2)) {
                const auto& r = readers(v);
                size_t si = r[0], mi = r[1];
                if (g.nodes[si].op_type != "Sigmoid") std::swap(si, mi);
                const Node& s = g.nodes[si];
                const Node& m = g.nodes[mi];
                if (claimed[si] || claimed[mi]) break;
                if (!is_onnx(s) || s.op_type != "Sigmoid" || s.inputs.size() != 1 || s.outputs.size() != 1 ||
                    !is_onnx(m) || m.op_type != "Mul" || m.inputs.size() != 2 || m.outputs.size() != 1 ||
                    m.outputs[0].empty())
                    break;
                const std::string& sv = s.outputs[0];
                if (!private_value(sv, 1) || readers(sv)[0] != mi || count_of(m.inputs, v) != 1 ||
                    count_of(m.inputs, sv) != 1)
                    break;
                op.kind = PostOp::Kind::Swish;
                grp.ops.push_back(op);
                grp.fused_away.push_back(v);
                grp.fused_away.push_back(sv);
                grp.nodes.push_back(std::min(si, mi));
                grp.nodes.push_back(std::max(si, mi));
                v = m.outputs[0];
                phase = phase == 0 ? 1 : 3;
                continue;
            }
            break;
        }
        if (grp.ops.empty()) continue;
        for (size_t ni : grp.nodes) claimed[ni] = 1;
        grp.output = v;
        groups.push_back(std::move(grp));
    }
    return groups;
}

std::string describe(const FusionGroup& grp, const Graph& g) {
    std::string s = g.nodes[grp.nodes[0]].label();
    for (const auto& op : grp.ops) {
        static const char* names[] = {"Relu", "LeakyRelu", "Clip", "HardSwish", "HardSigmoid", "Sigmoid", "Swish", "Add"};
        s += std::string(" + ") + names[(int)op.kind];
        if (op.kind == PostOp::Kind::Add) s += "(" + op.operand + ")";
    }
    return s;
}

}  // namespace hq::graph

#include "graph/fusion.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
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

// c = Op(v, scalar) or Op(scalar, v) for a binary ai.onnx op: the scalar's value (float initializer, numel 1, rank at
// most `max_rank` so it cannot raise the output's rank). `v_first`: v is input 0.
bool scalar_binary(const Graph& g, const Node& c, const std::string& v, const char* op, size_t max_rank, float& k,
                   bool& v_first) {
    if (!is_onnx(c) || c.op_type != op || c.inputs.size() != 2 || c.outputs.size() != 1 || c.outputs[0].empty() ||
        count_of(c.inputs, v) != 1)
        return false;
    v_first = c.inputs[0] == v;
    const std::string& other = v_first ? c.inputs[1] : c.inputs[0];
    auto it = g.initializers.find(other);
    if (it == g.initializers.end() || it->second.dtype() != DType::F32 || (size_t)it->second.rank() > max_rank)
        return false;
    return scalar_init(g, other, k);
}

// Element-wise ops with a scalar constant as post-ops: Mul/Add/Sub (Linear), Div (Linear by the reciprocal: not
// exact), Max/Min (Clip with one open bound).
bool scalar_op(const Graph& g, const Node& c, const std::string& v, size_t max_rank, bool exact_only, PostOp& op) {
    float k = 0;
    bool first = true;
    const float inf = std::numeric_limits<float>::infinity();
    if (scalar_binary(g, c, v, "Mul", max_rank, k, first)) {
        op = PostOp{PostOp::Kind::Linear, k, 0.f, {}};
    } else if (scalar_binary(g, c, v, "Add", max_rank, k, first)) {
        op = PostOp{PostOp::Kind::Linear, 1.f, k, {}};
    } else if (scalar_binary(g, c, v, "Sub", max_rank, k, first)) {
        op = first ? PostOp{PostOp::Kind::Linear, 1.f, -k, {}} : PostOp{PostOp::Kind::Linear, -1.f, k, {}};
    } else if (!exact_only && scalar_binary(g, c, v, "Div", max_rank, k, first) && first && k != 0 && std::isfinite(k)) {
        op = PostOp{PostOp::Kind::Linear, 1.f / k, 0.f, {}};
    } else if (scalar_binary(g, c, v, "Max", max_rank, k, first) && !std::isnan(k)) {
        op = PostOp{PostOp::Kind::Clip, k, inf, {}};
    } else if (scalar_binary(g, c, v, "Min", max_rank, k, first) && !std::isnan(k)) {
        op = PostOp{PostOp::Kind::Clip, -inf, k, {}};
    } else {
        return false;
    }
    return std::isfinite(op.alpha) || op.kind == PostOp::Kind::Clip;
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
    // The single unclaimed reader of private value v, or SIZE_MAX.
    auto only_reader = [&](const std::string& v) -> size_t {
        if (!private_value(v, 1)) return SIZE_MAX;
        const size_t r = readers(v)[0];
        return claimed[r] ? SIZE_MAX : r;
    };
    for (size_t h = 0; h < g.nodes.size(); ++h) {
        const Node& conv = g.nodes[h];
        if (claimed[h]) continue;
        if (!is_onnx(conv) || conv.op_type != "Conv" || conv.outputs.size() != 1 || conv.outputs[0].empty()) continue;
        // Rank of the Conv's output: its weight's, when the weight is an initializer (a scalar constant of higher
        // rank would broadcast the output up).
        size_t out_rank = 1;
        if (conv.inputs.size() > 1 && g.is_initializer(conv.inputs[1]))
            out_rank = (size_t)g.initializers.at(conv.inputs[1]).rank();
        FusionGroup grp;
        grp.nodes.push_back(h);
        std::string v = conv.outputs[0];
        bool have_add = false;
        auto push = [&](const PostOp& op, std::vector<size_t> nodes, std::vector<std::string> away, std::string out) {
            // Consecutive Linears merge where exactness is not required (one fma rounding instead of two).
            if (!exact_only && op.kind == PostOp::Kind::Linear && !grp.ops.empty() &&
                grp.ops.back().kind == PostOp::Kind::Linear) {
                PostOp& last = grp.ops.back();
                last.beta = op.alpha * last.beta + op.beta;
                last.alpha = op.alpha * last.alpha;
            } else {
                grp.ops.push_back(op);
            }
            for (auto& a : away) grp.fused_away.push_back(std::move(a));
            for (size_t ni : nodes) grp.nodes.push_back(ni);
            v = std::move(out);
        };
        while (grp.ops.size() < kMaxPostOps) {
            PostOp op;
            if (const size_t ci = only_reader(v); ci != SIZE_MAX) {
                const Node& c = g.nodes[ci];
                if (activation_op(g, c, v, opset, op) &&
                    !(exact_only && (op.kind == PostOp::Kind::HardSwish || op.kind == PostOp::Kind::Sigmoid ||
                                     op.kind == PostOp::Kind::HardSigmoid))) {
                    push(op, {ci}, {v}, c.outputs[0]);
                    continue;
                }
                if (scalar_op(g, c, v, out_rank, exact_only, op)) {
                    push(op, {ci}, {v}, c.outputs[0]);
                    continue;
                }
                if (!have_add && is_onnx(c) && c.op_type == "Add" && c.inputs.size() == 2 && c.outputs.size() == 1 &&
                    !c.outputs[0].empty() && count_of(c.inputs, v) == 1) {
                    op.kind = PostOp::Kind::Add;
                    op.operand = c.inputs[0] == v ? c.inputs[1] : c.inputs[0];
                    if (op.operand.empty()) break;
                    have_add = true;
                    push(op, {ci}, {v}, c.outputs[0]);
                    continue;
                }
                break;
            }
            if (exact_only || !private_value(v, 2)) break;
            size_t ai = readers(v)[0], mi = readers(v)[1];
            if (claimed[ai] || claimed[mi]) break;
            // Swish: v read by Sigmoid s and by Mul(v, s) only.
            if (g.nodes[mi].op_type == "Sigmoid") std::swap(ai, mi);
            if (g.nodes[ai].op_type == "Sigmoid") {
                const Node& s = g.nodes[ai];
                const Node& m = g.nodes[mi];
                if (!is_onnx(s) || s.inputs.size() != 1 || s.outputs.size() != 1 || !is_onnx(m) ||
                    m.op_type != "Mul" || m.inputs.size() != 2 || m.outputs.size() != 1 || m.outputs[0].empty())
                    break;
                const std::string& sv = s.outputs[0];
                if (only_reader(sv) != mi || count_of(m.inputs, v) != 1 || count_of(m.inputs, sv) != 1) break;
                op.kind = PostOp::Kind::Swish;
                push(op, {std::min(ai, mi), std::max(ai, mi)}, {v, sv}, m.outputs[0]);
                continue;
            }
            // HardSwish spelled out: v read by Add(v, 3) and Mul(v, t) only, with Add -> Clip(0, 6) -> t, and a
            // division by 6 (Div 6 or Mul 1/6) either before the Mul (on the Clip's result) or after it.
            if (g.nodes[mi].op_type == "Add") std::swap(ai, mi);
            float k = 0;
            bool first = true;
            const Node& an = g.nodes[ai];
            const Node& mn = g.nodes[mi];
            if (!scalar_binary(g, an, v, "Add", out_rank, k, first) || k != 3.f || !is_onnx(mn) ||
                mn.op_type != "Mul" || mn.inputs.size() != 2 || mn.outputs.size() != 1 || mn.outputs[0].empty() ||
                count_of(mn.inputs, v) != 1)
                break;
            const size_t ki = only_reader(an.outputs[0]);
            if (ki == SIZE_MAX) break;
            const Node& clip = g.nodes[ki];
            PostOp cl;
            if (!activation_op(g, clip, an.outputs[0], opset, cl) || cl.kind != PostOp::Kind::Clip || cl.alpha != 0.f ||
                cl.beta != 6.f)
                break;
            auto by_six = [&](size_t ni, const std::string& in) {
                const Node& d = g.nodes[ni];
                float q = 0;
                bool f = true;
                return (scalar_binary(g, d, in, "Div", out_rank, q, f) && f && q == 6.f) ||
                       (scalar_binary(g, d, in, "Mul", out_rank, q, f) && std::fabs(q * 6.f - 1.f) < 1e-6f);
            };
            const std::string& cv = clip.outputs[0];
            const size_t after_clip = only_reader(cv);
            if (after_clip == SIZE_MAX) break;
            op.kind = PostOp::Kind::HardSwish;
            if (after_clip == mi) {  // (v * clip) / 6
                const size_t di = only_reader(mn.outputs[0]);
                if (di == SIZE_MAX || count_of(mn.inputs, cv) != 1 || !by_six(di, mn.outputs[0])) break;
                push(op, {ai, ki, mi, di}, {v, an.outputs[0], cv, mn.outputs[0]}, g.nodes[di].outputs[0]);
            } else {  // v * (clip / 6)
                if (!by_six(after_clip, cv)) break;
                const std::string& dv = g.nodes[after_clip].outputs[0];
                if (only_reader(dv) != mi || count_of(mn.inputs, dv) != 1) break;
                push(op, {ai, ki, after_clip, mi}, {v, an.outputs[0], cv, dv}, mn.outputs[0]);
            }
        }
        if (grp.ops.empty()) continue;
        std::sort(grp.nodes.begin() + 1, grp.nodes.end());
        for (size_t ni : grp.nodes) claimed[ni] = 1;
        grp.output = v;
        groups.push_back(std::move(grp));
    }
    return groups;
}

std::vector<PadFold> plan_pad_folds(const Graph& g, int64_t opset) {
    std::vector<PadFold> folds;
    const auto cons = g.consumers();
    for (size_t pi = 0; pi < g.nodes.size(); ++pi) {
        const Node& pad = g.nodes[pi];
        if (!is_onnx(pad) || pad.op_type != "Pad" || pad.inputs.empty() || pad.inputs[0].empty() ||
            g.is_initializer(pad.inputs[0]) || pad.outputs.size() != 1 || pad.outputs[0].empty())
            continue;
        if (pad.attr_string("mode", "constant") != "constant") continue;
        std::vector<int64_t> pads;
        if (opset < 11) {
            if (pad.attr_float("value", 0.f) != 0.f) continue;
            pads = pad.attr_ints("pads");
        } else {
            if (pad.inputs.size() > 3 && !pad.inputs[3].empty()) continue;  // axes (opset 18): left to the kernel
            if (pad.inputs.size() < 2 || pad.inputs[1].empty()) continue;
            auto it = g.initializers.find(pad.inputs[1]);
            if (it == g.initializers.end() || it->second.dtype() != DType::I64 || it->second.rank() != 1) continue;
            for (int64_t i = 0; i < it->second.numel(); ++i) pads.push_back(it->second.data<int64_t>()[i]);
            if (pad.inputs.size() > 2 && !pad.inputs[2].empty()) {
                auto vt = g.initializers.find(pad.inputs[2]);
                if (vt == g.initializers.end() || vt->second.numel() != 1 || vt->second.at_f64(0) != 0.0) continue;
            }
        }
        const size_t r = pads.size() / 2;
        if (pads.size() % 2 != 0 || r < 3 || r > 5) continue;
        // No padding of batch or channels; none negative (a crop is not a Conv pad).
        if (pads[0] != 0 || pads[1] != 0 || pads[r] != 0 || pads[r + 1] != 0) continue;
        if (std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p < 0; })) continue;
        const std::string& y = pad.outputs[0];
        if (g.is_graph_output(y)) continue;
        auto it = cons.find(y);
        if (it == cons.end() || it->second.size() != 1) continue;
        const size_t ci = it->second[0];
        const Node& c = g.nodes[ci];
        const size_t nsp = r - 2;
        if (!is_onnx(c) || c.op_type != "Conv" || c.inputs.empty() || c.inputs[0] != y || count_of(c.inputs, y) != 1 ||
            c.attr_string("auto_pad", "NOTSET") != "NOTSET")
            continue;
        const auto cp = c.attr_ints("pads");
        if (!cp.empty() && cp.size() != 2 * nsp) continue;
        PadFold f;
        f.pad = pi;
        f.conv = ci;
        f.input = pad.inputs[0];
        for (size_t d = 0; d < nsp; ++d) f.pads.push_back(pads[2 + d]);
        for (size_t d = 0; d < nsp; ++d) f.pads.push_back(pads[r + 2 + d]);
        folds.push_back(std::move(f));
    }
    return folds;
}

std::string describe(const FusionGroup& grp, const Graph& g) {
    std::string s = g.nodes[grp.nodes[0]].label();
    for (const auto& op : grp.ops) {
        static const char* names[] = {"Relu", "LeakyRelu", "Clip", "HardSwish", "HardSigmoid", "Sigmoid", "Swish", "Add",
                                      "Linear"};
        s += std::string(" + ") + names[(int)op.kind];
        if (op.kind == PostOp::Kind::Add) s += "(" + op.operand + ")";
    }
    return s;
}

}  // namespace hq::graph

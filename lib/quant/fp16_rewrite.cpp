#include "quant/fp16_rewrite.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/error.h"
#include "core/half.h"
#include "graph/scoped_view.h"

namespace hq::quant {

namespace {

constexpr float kHalfMax = 65504.f;
constexpr float kHalfMinSubnormal = 5.9604645e-8f;  // 2^-24
// A weight with more than this share of its nonzero values below 2^-24 in magnitude stays float32.
constexpr double kMaxFlushedShare = 0.01;

// Probed with onnxruntime-node 1.30.0 (CPU execution provider, x86-64) by scripts/probe_ort_fp16.js at
// opsets 13 and 21: a float16 model of each op loads, runs and gives finite outputs. Of these, ORT has its
// own float16 kernel only for the ops in kNative; the others run in float32 between "InsertedPrecisionFreeCast"
// Casts that ORT adds itself (they still load and run; on GPU engines they are float16 kernels).
// Left out on purpose: Cast/Shape/ConstantOfShape (no T compute), QuantizeLinear/DequantizeLinear (float16
// scales need opset 19), Celu (float only in the ONNX schema), comparisons (Equal, Less, ... flip on rounding).
const std::set<std::string> kConvertible = {
    "Abs", "Add", "ArgMax", "AveragePool", "BatchNormalization", "Ceil", "Clip", "Concat", "Conv",
    "ConvTranspose", "Cos", "DepthToSpace", "Div", "Dropout", "Einsum", "Elu", "Erf", "Exp", "Expand", "Flatten",
    "Floor", "Gather", "GatherElements", "GatherND", "Gelu", "Gemm", "GlobalAveragePool", "GlobalMaxPool",
    "HardSigmoid", "HardSwish", "Hardmax", "Identity", "InstanceNormalization", "LRN", "LayerNormalization",
    "LeakyRelu", "Log", "LogSoftmax", "LpPool", "MatMul", "Max", "MaxPool", "Mean", "Min", "Mish", "Mul", "Neg",
    "PRelu", "Pad", "Pow", "Reciprocal", "ReduceL2", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin",
    "ReduceProd", "ReduceSum", "ReduceSumSquare", "Relu", "Reshape", "Resize", "Round", "ScatterElements",
    "ScatterND", "Selu", "Sigmoid", "Sign", "Sin", "Slice", "Softmax", "Softplus", "Softsign", "SpaceToDepth",
    "Split", "Sqrt", "Squeeze", "Sub", "Sum", "Tanh", "ThresholdedRelu", "Tile", "TopK", "Transpose", "Trilu",
    "Unsqueeze", "Where"};
const std::set<std::string> kNative = {
    "Cast", "Clip", "Concat", "ConstantOfShape", "Expand", "Flatten", "Gather", "GatherElements", "GatherND",
    "Identity", "LayerNormalization", "Max", "Min", "Reshape", "Round", "ScatterElements", "ScatterND", "Shape",
    "Sign", "Slice", "Split", "Squeeze", "Transpose", "Unsqueeze"};

// Inputs that are not of type T (they keep their float32 type): op -> input indices.
bool non_t_input(const std::string& op, size_t i) {
    if (op == "Resize") return i == 1 || i == 2;  // roi, scales
    if (op == "Dropout") return i == 1;           // ratio
    if (op == "Where") return i == 0;             // condition
    return false;
}
// Outputs that are not of type T.
bool non_t_output(const std::string& op, size_t i) {
    if (op == "ArgMax") return true;
    if (op == "TopK" || op == "MaxPool" || op == "Dropout") return i == 1;  // indices, mask
    return false;
}
// Consumers that accept any element type at this input: no Cast needed in front of them.
bool any_type_input(const std::string& op, size_t i) { return (op == "Shape" || op == "Size") && i == 0; }

// Element types of every value: recorded types first, then a forward pass for the rest.
std::map<std::string, DType> value_types(const graph::Graph& g) {
    std::map<std::string, DType> t;
    for (const auto& [k, v] : g.initializers) t[k] = v.dtype();
    for (const auto& v : g.inputs) t[v.name] = v.dtype;
    for (const auto& v : g.outputs)
        if (v.dtype != DType::Undefined) t[v.name] = v.dtype;
    for (const auto& [k, v] : g.value_info)
        if (v.dtype != DType::Undefined) t[k] = v.dtype;
    auto type_of = [&](const std::string& v) {
        auto it = t.find(v);
        return it == t.end() ? DType::Undefined : it->second;
    };
    for (const auto& n : g.nodes) {
        if (!n.domain.empty() && n.domain != "ai.onnx") continue;
        for (size_t k = 0; k < n.outputs.size(); ++k) {
            const std::string& o = n.outputs[k];
            if (o.empty() || type_of(o) != DType::Undefined) continue;
            const std::string& op = n.op_type;
            DType d = DType::Undefined;
            if (op == "Shape" || op == "Size" || op == "ArgMax" || op == "ArgMin" || op == "NonZero" ||
                ((op == "TopK" || op == "MaxPool") && k == 1))
                d = DType::I64;
            else if (op == "Equal" || op == "Less" || op == "Greater" || op == "LessOrEqual" ||
                     op == "GreaterOrEqual" || op == "Not" || op == "And" || op == "Or" || op == "Xor" ||
                     op == "IsNaN" || op == "IsInf" || (op == "Dropout" && k == 1))
                d = DType::Bool;
            else if (op == "Cast")
                d = (DType)n.attr_int("to", 0);
            else if (op == "ConstantOfShape")
                d = n.attr_tensor("value") ? n.attr_tensor("value")->dtype() : DType::F32;
            else if (op == "QuantizeLinear" || op == "DynamicQuantizeLinear")
                d = k == 0 ? (n.input(2).empty() ? DType::U8 : type_of(n.input(2))) : (k == 1 ? DType::F32 : DType::U8);
            else if (op == "DequantizeLinear")
                d = type_of(n.input(1));
            else if (op == "Where")
                d = type_of(n.input(1));
            else if (graph::has_subgraphs(n)) {
                // If: the branch's declared output; Loop: body output k + 1 (after cond); Scan: body output k.
                const auto sgs = graph::subgraphs(n);
                const size_t idx = op == "Loop" ? k + 1 : k;
                if (!sgs.empty() && idx < sgs[0].second->outputs.size()) d = sgs[0].second->outputs[idx].dtype;
            } else
                for (const auto& in : n.inputs)  // T-following ops: the first known input type
                    if (!in.empty() && (d = type_of(in)) != DType::Undefined) break;
            t[o] = d;
        }
    }
    return t;
}

// Why a float32 weight cannot be stored as float16, or "".
std::string weight_problem(const std::string& name, const Tensor& w) {
    const float* p = w.data<float>();
    int64_t nonzero = 0, flushed = 0;
    float amax = 0;
    for (int64_t i = 0; i < w.numel(); ++i) {
        const float a = std::fabs(p[i]);
        if (!(a <= kHalfMax)) return detail::cat("weight '", name, "' has |w| = ", a, " beyond the float16 range");
        if (a == 0) continue;
        ++nonzero;
        if (a < kHalfMinSubnormal) ++flushed;
        amax = std::max(amax, a);
    }
    if (nonzero && (double)flushed > kMaxFlushedShare * (double)nonzero)
        return detail::cat("weight '", name, "': ", flushed, " of ", nonzero,
                           " nonzero values are below 2^-24 and would become 0 in float16");
    return "";
}

Tensor to_half(const Tensor& t) {
    Tensor h(DType::F16, t.shape());
    const float* s = t.data<float>();
    uint16_t* d = h.data<uint16_t>();
    for (int64_t i = 0; i < t.numel(); ++i) d[i] = float_to_half(s[i]);
    return h;
}

graph::Node cast_node(const std::string& name, const std::string& in, const std::string& out, DType to) {
    graph::Node n;
    n.op_type = "Cast";
    n.name = name;
    n.inputs = {in};
    n.outputs = {out};
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::Int;
    a.i = (int64_t)to;
    n.attrs["to"] = a;
    return n;
}

}  // namespace

bool fp16_convertible_op(const std::string& op_type, int64_t opset) {
    if (op_type == "CumSum") return opset >= 14;  // float16 CumSum exists from opset 14
    return kConvertible.count(op_type) != 0;
}

bool ort_cpu_fp16_native(const std::string& op_type) { return kNative.count(op_type) != 0; }

namespace {

// One graph (the model's, or a subgraph handed over on its own by for_each_graph_view).
Fp16Report rewrite_graph(graph::Model& m, const std::set<std::string>& nodes,
                         const std::map<std::string, std::pair<float, float>>& observed_ranges, bool keep_io_types) {
    graph::Graph& g = m.graph;
    const int64_t opset = m.opset("");
    Fp16Report rep;
    auto types = value_types(g);
    auto type_of = [&](const std::string& v) {
        auto it = types.find(v);
        return it == types.end() ? DType::Undefined : it->second;
    };
    auto out_of_range = [&](const std::string& v) -> std::string {
        auto it = observed_ranges.find(v);
        if (it == observed_ranges.end()) return "";
        const float a = std::max(std::fabs(it->second.first), std::fabs(it->second.second));
        if (a <= kHalfMax) return "";
        return detail::cat("observed range of '", v, "' [", it->second.first, ", ", it->second.second,
                           "] exceeds the float16 range");
    };

    // 1. Which nodes convert.
    std::set<size_t> conv;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        const graph::Node& n = g.nodes[i];
        if (!nodes.count(n.name)) continue;
        std::string why;
        if (!n.domain.empty() && n.domain != "ai.onnx")
            why = "domain '" + n.domain + "' is not converted";
        else if (!fp16_convertible_op(n.op_type, opset))
            why = n.op_type + " is not run in float16 by ONNX Runtime's CPU execution provider";
        bool any_float = false;
        for (size_t k = 0; why.empty() && k < n.inputs.size(); ++k) {
            const std::string& in = n.inputs[k];
            if (in.empty()) continue;
            if (std::string r = out_of_range(in); !r.empty()) why = r;
            if (non_t_input(n.op_type, k)) continue;
            const DType d = type_of(in);
            if (d == DType::F32) {
                any_float = true;
                if (auto it = g.initializers.find(in); it != g.initializers.end() && why.empty())
                    why = weight_problem(in, it->second);
            } else if (d == DType::Undefined) {
                why = "type of input '" + in + "' is unknown";
            } else if (dtype_is_float(d)) {
                why = "input '" + in + "' is " + dtype_name(d) + ", not float32";
            }
        }
        for (size_t k = 0; why.empty() && k < n.outputs.size(); ++k)
            if (!n.outputs[k].empty()) why = out_of_range(n.outputs[k]);
        if (why.empty() && !any_float) why = "no float32 inputs";
        if (why.empty())
            conv.insert(i);
        else
            rep.kept_fp32[n.name] = why;
    }
    if (conv.empty()) return rep;

    // 2. float16 values: the T outputs of converted nodes.
    std::set<std::string> half_values;
    for (size_t i : conv) {
        const auto& n = g.nodes[i];
        for (size_t k = 0; k < n.outputs.size(); ++k)
            if (!n.outputs[k].empty() && !non_t_output(n.op_type, k) && type_of(n.outputs[k]) == DType::F32)
                half_values.insert(n.outputs[k]);
    }
    const auto consumers = g.consumers();
    // Read by a node's subgraph (an If branch reading it from this scope): a float32 reader (the branch
    // declares what it reads as it was).
    auto read_in_subgraph = [&](const std::string& v) {
        auto it = consumers.find(v);
        if (it == consumers.end()) return false;
        for (size_t c : it->second) {
            if (!graph::has_subgraphs(g.nodes[c])) continue;
            const auto imp = graph::implicit_inputs(g.nodes[c]);
            if (std::binary_search(imp.begin(), imp.end(), v)) return true;
        }
        return false;
    };
    auto uses = [&](const std::string& v) {
        std::vector<std::pair<size_t, size_t>> r;  // (node, input index)
        auto it = consumers.find(v);
        if (it == consumers.end()) return r;
        for (size_t c : it->second)
            for (size_t k = 0; k < g.nodes[c].inputs.size(); ++k)
                if (g.nodes[c].inputs[k] == v) r.emplace_back(c, k);
        return r;
    };
    auto t_use = [&](size_t c, size_t k) { return conv.count(c) && !non_t_input(g.nodes[c].op_type, k); };
    std::set<std::string> used_names;
    for (const auto& n : g.nodes) {
        used_names.insert(n.name);
        used_names.insert(n.inputs.begin(), n.inputs.end());
        used_names.insert(n.outputs.begin(), n.outputs.end());
    }
    for (const auto& v : g.inputs) used_names.insert(v.name);
    for (const auto& v : g.outputs) used_names.insert(v.name);
    for (const auto& [k, v] : g.initializers) used_names.insert(k);
    for (const auto& [k, v] : g.value_info) used_names.insert(k);
    used_names.insert(g.outer_names.begin(), g.outer_names.end());
    auto fresh = [&](const std::string& base) {
        std::string c = base;
        for (int i = 1; used_names.count(c); ++i) c = base + "_" + std::to_string(i);
        used_names.insert(c);
        return c;
    };
    std::vector<graph::Node> added;
    auto set_vi = [&](const std::string& from, const std::string& to, DType dt) {
        auto it = g.value_info.find(from);
        if (it == g.value_info.end()) return;
        graph::ValueInfo vi = it->second;
        vi.name = to;
        vi.dtype = dt;
        g.value_info[to] = vi;
    };

    // 3. float32 values entering the region.
    std::set<std::string> entering;
    for (size_t i : conv)
        for (size_t k = 0; k < g.nodes[i].inputs.size(); ++k) {
            const std::string& in = g.nodes[i].inputs[k];
            if (!in.empty() && !non_t_input(g.nodes[i].op_type, k) && type_of(in) == DType::F32 &&
                !half_values.count(in))
                entering.insert(in);
        }
    for (const std::string& v : entering) {
        auto u = uses(v);
        const bool only_t = std::all_of(u.begin(), u.end(), [&](auto& p) { return t_use(p.first, p.second); }) &&
                            !read_in_subgraph(v);
        auto init = g.initializers.find(v);
        std::string hv;
        if (init != g.initializers.end()) {
            if (only_t && !g.is_graph_output(v)) {
                init->second = to_half(init->second);
                continue;
            }
            hv = fresh(v + "_fp16");  // shared with float32 readers: a float16 copy
            g.initializers[hv] = to_half(init->second);
        } else {
            auto gi = std::find_if(g.inputs.begin(), g.inputs.end(), [&](auto& x) { return x.name == v; });
            if (gi != g.inputs.end() && !keep_io_types && only_t && !g.is_graph_output(v)) {
                gi->dtype = DType::F16;
                continue;
            }
            hv = fresh(v + "_fp16");
            added.push_back(cast_node(fresh(v + "_to_fp16"), v, hv, DType::F16));
            set_vi(v, hv, DType::F16);
            if (gi != g.inputs.end() && gi->has_shape) {
                graph::ValueInfo vi = *gi;
                vi.name = hv;
                vi.dtype = DType::F16;
                g.value_info[hv] = vi;
            }
            ++rep.casts_inserted;
        }
        for (auto [c, k] : u)
            if (t_use(c, k)) g.nodes[c].inputs[k] = hv;
    }

    // 4. float16 values leaving the region (float32 readers, graph outputs).
    for (const std::string& v : half_values) {
        auto u = uses(v);
        bool need_f32 = (keep_io_types && g.is_graph_output(v)) || read_in_subgraph(v);
        for (auto [c, k] : u)
            if (!t_use(c, k) && !any_type_input(g.nodes[c].op_type, k)) need_f32 = true;
        if (!need_f32) {
            if (auto it = g.value_info.find(v); it != g.value_info.end()) it->second.dtype = DType::F16;
            for (auto& o : g.outputs)
                if (o.name == v) o.dtype = DType::F16;
            continue;
        }
        // The producer writes v_fp16; a Cast gives v back as float32 for everything outside the region.
        const std::string hv = fresh(v + "_fp16");
        for (size_t i : conv)
            for (auto& o : g.nodes[i].outputs)
                if (o == v) o = hv;
        for (auto [c, k] : u)
            if (t_use(c, k) || any_type_input(g.nodes[c].op_type, k)) g.nodes[c].inputs[k] = hv;
        added.push_back(cast_node(fresh(v + "_to_fp32"), hv, v, DType::F32));
        set_vi(v, hv, DType::F16);
        ++rep.casts_inserted;
    }
    for (auto& n : added) g.nodes.push_back(std::move(n));
    graph::topo_sort(g);
    return rep;
}

}  // namespace

Fp16Report rewrite_fp16(graph::Model& m, const std::set<std::string>& nodes,
                        const std::map<std::string, std::pair<float, float>>& observed_ranges, bool keep_io_types) {
    const int64_t opset = m.opset("");
    HQ_CHECK(opset >= 13, "FP16 rewrite needs ai.onnx opset >= 13 (the model has ", opset, "); upgrade it first");
    for (const auto& n : nodes)
        HQ_CHECK(graph::find_node_anywhere(m, n), "FP16 rewrite: no node named '", n, "' in the model");
    // Each graph with its own nodes; a subgraph keeps its inputs' and outputs' types (the node around it declares
    // them), whatever keep_io_types says for the model's.
    Fp16Report rep;
    graph::for_each_graph_view(m, [&](graph::Model& v, const std::string& where) {
        std::set<std::string> here;
        for (const auto& n : v.graph.nodes)
            if (nodes.count(n.name)) here.insert(n.name);
        if (here.empty()) return;
        Fp16Report r = rewrite_graph(v, here, observed_ranges, where.empty() ? keep_io_types : true);
        rep.kept_fp32.insert(r.kept_fp32.begin(), r.kept_fp32.end());
        rep.casts_inserted += r.casts_inserted;
    });
    return rep;
}

namespace {

std::set<std::string> grow_in_graph(const graph::Graph& g, std::set<std::string> seeds) {
    static const std::set<std::string> growable = {
        "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",
        "Clip", "Elu", "Selu", "Erf", "Gelu", "Mish", "Softplus", "Abs", "Neg", "Max", "Min", "Sum", "Mean",
        "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Concat", "Reshape", "Transpose", "Flatten",
        "Squeeze", "Unsqueeze", "Split", "Slice", "Pad", "Resize", "Identity", "Gather", "Expand", "DepthToSpace",
        "SpaceToDepth", "Tile"};
    const auto prod = g.producers();
    const auto cons = g.consumers();
    auto is_growable = [&](const graph::Node& n) {
        return (n.domain.empty() || n.domain == "ai.onnx") && growable.count(n.op_type) && !seeds.count(n.name);
    };
    // Forward: growable nodes reached from a seed through growable nodes (node order is topological).
    std::vector<char> fwd(g.nodes.size(), 0), bwd(g.nodes.size(), 0);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        const auto& n = g.nodes[i];
        if (!is_growable(n)) continue;
        for (const auto& in : n.inputs) {
            auto p = prod.find(in);
            if (p == prod.end()) continue;
            if (seeds.count(g.nodes[p->second].name) || fwd[p->second]) fwd[i] = 1;
        }
    }
    for (size_t i = g.nodes.size(); i-- > 0;) {
        const auto& n = g.nodes[i];
        if (!is_growable(n)) continue;
        for (const auto& o : n.outputs) {
            auto c = cons.find(o);
            if (c == cons.end()) continue;
            for (size_t j : c->second)
                if (seeds.count(g.nodes[j].name) || bwd[j]) bwd[i] = 1;
        }
    }
    for (size_t i = 0; i < g.nodes.size(); ++i)
        if (fwd[i] && bwd[i]) seeds.insert(g.nodes[i].name);
    return seeds;
}

}  // namespace

std::set<std::string> grow_fp16_region(const graph::Model& m, std::set<std::string> seeds) {
    // Within each graph (a region does not cross into a subgraph: the control-flow node stays float32).
    graph::for_each_graph(m.graph, [&](const graph::Graph& g, int) { seeds = grow_in_graph(g, seeds); });
    return seeds;
}

}  // namespace hq::quant

#include "quant/placement.h"

#include "core/error.h"
#include "graph/scoped_view.h"
#include "quant/qdq_ops.h"

namespace hq::quant {

const QdqPair* Placement::find(const std::string& tensor) const {
    for (const auto& p : pairs)
        if (p.tensor == tensor) return &p;
    return nullptr;
}

namespace {

bool is_float_activation(const graph::Graph& g, const std::string& v) {
    if (v.empty() || g.is_initializer(v)) return false;
    const graph::ValueInfo* vi = g.find_value(v);
    return !vi || vi->dtype == DType::F32 || vi->dtype == DType::Undefined;
}

// A constant scalar input (or the default when absent), for Clip's min.
bool constant_scalar(const graph::Graph& g, const std::string& v, float& out) {
    auto it = g.initializers.find(v);
    if (it == g.initializers.end() || it->second.numel() != 1 || it->second.dtype() != DType::F32) return false;
    out = it->second.data<float>()[0];
    return true;
}

// Relu, or Clip with a constant min of exactly 0: the Q after it (zero point 0, uint8) saturates the same way.
bool foldable(const graph::Graph& g, const graph::Node& n, const Target& t) {
    if (!n.domain.empty() || !t.folded_activations.count(n.op_type)) return false;
    if (n.op_type == "Relu") return true;
    if (n.op_type == "Clip") {
        float lo = 0;
        if (n.has_attr("min")) return n.attr_float("min", -1) == 0.0f;
        return !n.input(1).empty() && constant_scalar(g, n.input(1), lo) && lo == 0.0f;
    }
    return false;
}

struct Placer {
    const graph::Model& m;
    const graph::Graph& g;
    const Plan& plan;
    const Target& t;
    bool int8_act;
    const std::set<std::string>& skip;
    const RangeMap* ranges;
    std::map<std::string, std::vector<size_t>> cons;
    std::map<std::string, size_t> pair_index;  // tensor -> index in out.pairs
    Placement out;

    // The pair on x (creating one read by `consumer` only, with x's own range, when there is none).
    void use(const std::string& x, const std::string& consumer) {
        auto it = pair_index.find(x);
        if (it != pair_index.end()) {
            QdqPair& p = out.pairs[it->second];
            if (!p.all_consumers) p.consumers.insert(consumer);
            return;
        }
        QdqPair p;
        p.tensor = x;
        p.params_from = x;
        p.consumers = {consumer};
        pair_index[x] = out.pairs.size();
        out.pairs.push_back(p);
    }
    bool quantized(const std::string& x) const { return pair_index.count(x) != 0; }
    // Q/DQ on an INT8 node's output read by every consumer; false when the output is a graph output (the
    // engine would not fuse: its Q would not be the output's only reader).
    bool has_range(const std::string& v) const { return !ranges || ranges->count(v) != 0; }
    bool quantize_output(const std::string& y, const std::string& params_from) {
        if (y.empty() || g.is_graph_output(y) || quantized(y) || !has_range(params_from)) return false;
        QdqPair p;
        p.tensor = y;
        p.params_from = params_from;
        p.all_consumers = true;
        pair_index[y] = out.pairs.size();
        out.pairs.push_back(p);
        return true;
    }
    // Output of an INT8 layer/op: after a foldable Relu/Clip that is its only reader when activations are
    // asymmetric, else on the output itself. Returns whether a Q was placed.
    bool output_q(const graph::Node& n) {
        const std::string& y = n.outputs.empty() ? std::string() : n.outputs[0];
        if (y.empty() || g.is_graph_output(y)) return false;
        auto c = cons.find(y);
        if (!int8_act && c != cons.end() && c->second.size() == 1) {
            const graph::Node& a = g.nodes[c->second[0]];
            if (!skip.count(a.name) && foldable(g, a, t) && !a.outputs.empty() && !g.is_graph_output(a.outputs[0])) {
                if (quantize_output(a.outputs[0], a.outputs[0])) {
                    out.nodes.push_back({a.name, a.op_type, "folded", "removed (" + a.op_type + " folded into the Q)"});
                    out.kernel[a.name] = out.nodes.back().kernel;
                    return true;
                }
            }
        }
        return quantize_output(y, y);
    }
    std::string kernel_name(const std::string& op, bool has_output_q) const {
        if (has_output_q || !t.quantize_outputs) {
            auto it = t.kernel_fused.find(op);
            if (it != t.kernel_fused.end()) return it->second;
        }
        auto it = t.kernel_unfused.find(op);
        if (it != t.kernel_unfused.end()) return it->second;
        return op + " (QDQ)";
    }
    void place(graph::Node const& n, const std::string& role, bool has_output_q) {
        std::string k = role == "passthrough" ? n.op_type + " (int8)"
                        : role == "residual"  ? n.op_type + " (int8 residual input)"
                                              : kernel_name(n.op_type, has_output_q);
        PlacedNode p{n.name, n.op_type, role, k};
        out.kernel[n.name] = p.kernel;
        out.nodes.push_back(p);
    }

    void run() {
        cons = g.consumers();
        auto prod = g.producers();
        std::set<std::string> int8_layers;
        for (const auto& l : plan.layers)
            if (l.precision == Precision::Int8) int8_layers.insert(l.node);
        for (const auto& n : g.nodes) {
            if (skip.count(n.name) || !n.domain.empty()) continue;
            if (int8_layers.count(n.name)) {
                auto acts = layer_activations(g, n);
                if (acts.empty()) continue;
                for (const auto& x : acts) use(x, n.name);
                bool oq = t.quantize_outputs && output_q(n);
                place(n, "weighted", oq);
                continue;
            }
            if (t.residual_inputs && n.op_type == "Add" && n.inputs.size() == 2 && is_float_activation(g, n.input(0)) &&
                is_float_activation(g, n.input(1))) {
                // The skip input of a residual Add whose other input comes from an INT8 layer (TensorRT fuses it).
                for (int k = 0; k < 2; ++k) {
                    auto pit = prod.find(n.input(k));
                    if (pit != prod.end() && int8_layers.count(g.nodes[pit->second].name)) {
                        use(n.input(1 - k), n.name);
                        place(n, "residual", false);
                        break;
                    }
                }
                continue;
            }
            if (t.int8_ops.count(n.op_type)) {
                // Every input an already-quantized activation (no constants: ORT would need them quantized too).
                bool ok = !n.inputs.empty();
                for (const auto& x : n.inputs) ok = ok && !x.empty() && quantized(x);
                if (!ok) continue;
                for (const auto& x : n.inputs) use(x, n.name);
                bool oq = output_q(n);
                if (!oq) {
                    // No Q after it (a graph output): the op would run in float between DQs; leave it float.
                    continue;
                }
                place(n, "int8", true);
                continue;
            }
            if (t.passthrough_ops.count(n.op_type)) {
                const std::string& x = n.input(0);
                if (!quantized(x) || n.outputs.empty()) continue;
                const std::string src = out.pairs[pair_index.at(x)].params_from;
                use(x, n.name);
                if (quantize_output(n.outputs[0], src)) place(n, "passthrough", true);
                continue;
            }
        }
        // Pairs whose only would-be readers were dropped: none (every pair has a reader by construction).
    }
};

}  // namespace

std::vector<std::string> layer_activations(const graph::Graph& g, const graph::Node& n) {
    if (!n.domain.empty() || !is_weighted_layer(n.op_type)) return {};
    const bool w1 = g.is_initializer(n.input(1));
    const bool w0 = n.op_type == "MatMul" && g.is_initializer(n.input(0));
    if (w1 || w0) {
        const std::string& wname = w1 ? n.input(1) : n.input(0);
        if (g.initializers.at(wname).dtype() != DType::F32) return {};
        const std::string& a = w1 ? n.input(0) : n.input(1);
        if (!is_float_activation(g, a)) return {};
        return {a};
    }
    if (n.op_type == "MatMul" && is_float_activation(g, n.input(0)) && is_float_activation(g, n.input(1)))
        return {n.input(0), n.input(1)};
    return {};
}

Placement place_qdq(const graph::Model& m, const Plan& plan, const Target& t, bool int8_activations,
                    const std::set<std::string>& skip, const RangeMap* ranges) {
    // Each graph on its own (a subgraph with the constants it reads from outer scopes): an outer activation read
    // by a layer inside a branch gets its pair inside the branch.
    Placement all;
    graph::for_each_graph_view(m, [&](const graph::Model& v, const std::string&) {
        Placer p{v, v.graph, plan, t, int8_activations, skip, ranges, {}, {}, {}};
        p.run();
        for (auto& x : p.out.pairs) all.pairs.push_back(std::move(x));
        for (auto& x : p.out.nodes) all.nodes.push_back(std::move(x));
        for (auto& [k, x] : p.out.kernel) all.kernel[k] = x;
    });
    return all;
}

int keep_uncalibrated_fp32(const graph::Model& m, Plan& plan, const RangeMap& ranges) {
    std::map<std::string, std::string> missing;  // layer -> an activation without a range
    graph::for_each_graph_view(m, [&](const graph::Model& v, const std::string&) {
        for (const auto& n : v.graph.nodes)
            for (const auto& a : layer_activations(v.graph, n))
                if (!ranges.count(a) && !missing.count(n.name)) missing[n.name] = a;
    });
    int moved = 0;
    for (auto& l : plan.layers) {
        auto it = missing.find(l.node);
        if (l.precision != Precision::Int8 || it == missing.end()) continue;
        l.precision = Precision::Fp32;
        l.reason = "kept fp32: its input '" + it->second +
                   "' has no calibration range (no calibration sample reached it: a branch not taken?)";
        ++moved;
    }
    return moved;
}

int apply_speed_rules(const graph::Model& m, Plan& plan, const Target& t, bool int8_activations,
                      const RangeMap* ranges) {
    std::map<std::string, const graph::Node*> by_name;  // every graph's nodes (layers inside subgraphs too)
    graph::for_each_graph(m.graph, [&](const graph::Graph& sg, int) {
        for (const auto& n : sg.nodes) by_name.emplace(n.name, &n);
    });
    int moved = 0;
    const std::string fb = precision_name(t.fallback);
    // Channel counts first (do not depend on placement).
    if (t.min_channels > 0) {
        for (auto& l : plan.layers) {
            if (l.precision != Precision::Int8 || l.op_type != "Conv") continue;
            const graph::Node* n = by_name.count(l.node) ? by_name.at(l.node) : nullptr;
            const Tensor* wp = n ? graph::find_initializer_anywhere(m, n->input(1)) : nullptr;
            if (!wp) continue;
            const Tensor& w = *wp;
            if (w.rank() < 3) continue;
            const int64_t oc = w.dim(0), ic = w.dim(1) * n->attr_int("group", 1);
            if (oc < t.min_channels || ic < t.min_channels) {
                l.precision = t.fallback;
                l.reason = "kept " + fb + ": " + std::to_string(ic) + " -> " + std::to_string(oc) + " channels (< " +
                           std::to_string(t.min_channels) + ": INT8 does not pay on " + t.name + ")";
                ++moved;
            }
        }
    }
    // Op types the engine has no int8 kernel for: a DQ before them only adds work.
    for (auto& l : plan.layers) {
        if (l.precision != Precision::Int8 || !t.no_int8_kernel.count(l.op_type)) continue;
        l.precision = t.fallback;
        l.reason = "kept " + fb + ": no int8 kernel for " + l.op_type + " on " + t.name + " (" + t.engine + ")";
        ++moved;
    }
    // Layers the engine only fuses with a quantized output that cannot get one: iterate, as moving one layer
    // can change what its neighbours' placement looks like.
    if (!t.needs_output_q.empty()) {
        for (int iter = 0; iter < 8; ++iter) {
            Placement pl = place_qdq(m, plan, t, int8_activations, {}, ranges);
            int changed = 0;
            for (auto& l : plan.layers) {
                if (l.precision != Precision::Int8 || !t.needs_output_q.count(l.op_type)) continue;
                const graph::Node* n = by_name.count(l.node) ? by_name.at(l.node) : nullptr;
                if (!n || n->outputs.empty()) continue;
                auto k = pl.kernel.find(l.node);
                if (k == pl.kernel.end()) continue;
                if (k->second == t.kernel_fused.at(l.op_type)) continue;
                const bool graph_out = graph::is_output_anywhere(m, n->outputs[0]);
                const bool no_range = ranges && !ranges->count(n->outputs[0]);
                l.precision = t.fallback;
                l.reason = "kept " + fb + ": " + t.engine + " runs " + l.op_type + " as " + t.kernel_fused.at(l.op_type) +
                           " only with a quantized output" +
                           (graph_out  ? " and its output is a graph output"
                            : no_range ? " and its output has no calibrated range"
                                       : ", which it cannot get here");
                ++changed;
            }
            moved += changed;
            if (!changed) break;
        }
    }
    return moved;
}

}  // namespace hq::quant

#include "prune/compensate.h"

#include <algorithm>
#include <optional>

#include "core/error.h"
#include "prune/channel_graph.h"

namespace hq::prune {

int64_t weight_in_axis(const graph::Node& n) {
    if (n.op_type == "Conv") return 1;
    if (n.op_type == "Gemm") return n.attr_int("transB", 0) ? 1 : 0;
    return 0;  // ConvTranspose, MatMul
}

std::map<std::string, int64_t> layer_input_axes(const graph::Model& m) {
    const graph::Graph& g = m.graph;
    std::map<std::string, int64_t> axes;
    std::map<std::string, bool> conflict;
    for (const auto& n : g.nodes) {
        if (!n.domain.empty() || n.input(0).empty()) continue;
        int64_t axis = 0;
        if (n.op_type == "Conv" || n.op_type == "ConvTranspose")
            axis = 1;
        else if (n.op_type == "Gemm" && !n.attr_int("transA", 0))
            axis = 1;
        else if (n.op_type == "MatMul")
            axis = -1;
        else
            continue;
        auto w = g.initializers.find(n.input(1));
        if (w == g.initializers.end() || w->second.dtype() != DType::F32) continue;
        auto [it, fresh] = axes.emplace(n.input(0), axis);
        if (!fresh && it->second != axis) conflict[n.input(0)] = true;
    }
    for (const auto& [name, c] : conflict) axes.erase(name);
    return axes;
}

std::vector<double> removed_contribution(const graph::Node& n, const Tensor& w, const std::vector<int64_t>& removed,
                                         const std::vector<double>& mean) {
    HQ_ASSERT(w.dtype() == DType::F32 && w.rank() >= 2, n.label(), ": weight of rank ", w.rank());
    const float* d = w.data<float>();
    const std::string& op = n.op_type;
    std::vector<double> delta;
    if (op == "Conv" || op == "ConvTranspose") {
        const bool tr = op == "ConvTranspose";
        const int64_t group = std::max<int64_t>(1, n.attr_int("group", 1));
        const int64_t d0 = w.dim(0), d1 = w.dim(1), k = w.numel() / std::max<int64_t>(1, d0 * d1);
        // Conv: W [out, in/group, k...]; ConvTranspose: W [in, out/group, k...].
        const int64_t cin = tr ? d0 : d1 * group, out_g = tr ? d1 : d0 / group, cin_g = cin / group;
        HQ_ASSERT((int64_t)mean.size() == cin, n.label(), ": ", mean.size(), " means for ", cin, " input channels");
        double per_position = 1.0;
        if (tr)
            for (int64_t s : n.attr_ints("strides")) per_position *= (double)std::max<int64_t>(1, s);
        delta.assign((size_t)(out_g * group), 0.0);
        for (int64_t c : removed) {
            HQ_ASSERT(c >= 0 && c < cin);
            const int64_t grp = c / cin_g, cl = c % cin_g;
            for (int64_t ol = 0; ol < out_g; ++ol) {
                const float* p = tr ? d + (c * out_g + ol) * k : d + ((grp * out_g + ol) * cin_g + cl) * k;
                double s = 0;
                for (int64_t j = 0; j < k; ++j) s += p[j];
                delta[(size_t)(grp * out_g + ol)] += mean[(size_t)c] * s / per_position;
            }
        }
        return delta;
    }
    HQ_ASSERT(op == "Gemm" || op == "MatMul", n.label(), ": not a layer");
    HQ_ASSERT(w.rank() == 2, n.label(), ": weight of rank ", w.rank());
    const bool tb = op == "Gemm" && n.attr_int("transB", 0) != 0;
    const int64_t kdim = tb ? w.dim(1) : w.dim(0), ncol = tb ? w.dim(0) : w.dim(1);
    HQ_ASSERT((int64_t)mean.size() == kdim, n.label(), ": ", mean.size(), " means for ", kdim, " input features");
    const double alpha = op == "Gemm" ? (double)n.attr_float("alpha", 1.0f) : 1.0;
    delta.assign((size_t)ncol, 0.0);
    for (int64_t f : removed) {
        HQ_ASSERT(f >= 0 && f < kdim);
        for (int64_t o = 0; o < ncol; ++o)
            delta[(size_t)o] += alpha * mean[(size_t)f] * (double)(tb ? d[o * kdim + f] : d[f * ncol + o]);
    }
    return delta;
}

namespace {

const Tensor* constant(const graph::Graph& g, const std::string& v) {
    auto it = g.initializers.find(v);
    return v.empty() || it == g.initializers.end() ? nullptr : &it->second;
}

// Output channels of a layer as its weight is now.
int64_t out_channels(const graph::Node& n, const Tensor& w) {
    if (n.op_type == "ConvTranspose") return w.dim(1) * std::max<int64_t>(1, n.attr_int("group", 1));
    return w.dim(weight_out_axis(n));
}

// The bias Add of a MatMul: its output's only consumer, an Add of a float constant varying along the last axis
// only (size n there, 1 elsewhere). Returns the Add's node index and the constant's input index.
std::optional<std::pair<size_t, size_t>> bias_add(const graph::Graph& g, size_t node, int64_t n) {
    const std::string& y = g.nodes[node].outputs[0];
    if (g.is_graph_output(y)) return std::nullopt;
    auto cons = g.consumers();
    auto it = cons.find(y);
    if (it == cons.end() || it->second.size() != 1) return std::nullopt;
    const size_t ai = it->second[0];
    const graph::Node& a = g.nodes[ai];
    if (a.op_type != "Add" || !a.domain.empty() || a.inputs.size() != 2 || a.inputs[0] == a.inputs[1])
        return std::nullopt;
    const size_t k = a.inputs[0] == y ? 1 : 0;
    const Tensor* c = constant(g, a.inputs[k]);
    if (!c || c->dtype() != DType::F32 || c->rank() < 1 || c->dim(-1) != n || c->numel() != n) return std::nullopt;
    return std::make_pair(ai, k);
}

// A deep copy of the initializer read by input `k` of node `ni`, stored in its place (tensor copies share storage:
// writing in place would change every copy of the model), under a new name when anything else reads it.
Tensor& own_initializer(graph::Graph& g, size_t ni, size_t k) {
    std::string name = g.nodes[ni].inputs[k];
    int uses = g.is_graph_output(name) ? 1 : 0;
    for (const auto& n : g.nodes)
        for (const auto& in : n.inputs) uses += in == name;
    Tensor copy = g.initializers.at(name).clone();
    if (uses > 1) {
        name = g.unique_name(name + "_compensated");
        g.nodes[ni].inputs[k] = name;
    }
    Tensor& t = g.initializers[name];
    t = copy;
    return t;
}

void set_input(graph::Node& n, size_t k, const std::string& v) {
    if (n.inputs.size() <= k) n.inputs.resize(k + 1);
    n.inputs[k] = v;
}

}  // namespace

std::string bias_blocker(const graph::Model& m, size_t node) {
    const graph::Graph& g = m.graph;
    const graph::Node& n = g.nodes[node];
    const Tensor* w = constant(g, n.input(1));
    if (!w || w->dtype() != DType::F32 || w->rank() < 2) return "weight is not a constant float tensor";
    const int64_t nout = out_channels(n, *w);
    const std::string& b = n.input(2);
    if (n.op_type == "Conv" || n.op_type == "ConvTranspose") {
        if (b.empty()) return "";
        const Tensor* t = constant(g, b);
        if (!t || t->dtype() != DType::F32 || t->numel() != nout) return "bias is not a constant float vector";
        return "";
    }
    if (n.op_type == "Gemm") {
        if (n.attr_float("beta", 1.0f) == 0.0f || b.empty()) return "";
        const Tensor* t = constant(g, b);
        if (!t || t->dtype() != DType::F32) return "bias C is not a constant float tensor";
        if (t->rank() > 2 || (t->rank() >= 1 && t->dim(-1) != 1 && t->dim(-1) != nout))
            return "bias C has an unusual shape";
        return "";
    }
    if (n.op_type == "MatMul") {
        if (bias_add(g, node, nout)) return "";
        if (m.opset("") < 7)
            return "no bias Add after the MatMul and opset " + std::to_string(m.opset("")) +
                   " < 7 has no broadcasting Add to insert";
        return "";
    }
    return n.label() + " is not a layer";
}

std::string add_to_bias(graph::Model& m, size_t node, const std::vector<double>& delta) {
    std::string why = bias_blocker(m, node);
    HQ_CHECK(why.empty(), m.graph.nodes[node].label(), ": cannot compensate the removed channels: ", why);
    graph::Graph& g = m.graph;
    const graph::Node& n = g.nodes[node];
    const int64_t nout = out_channels(n, g.initializers.at(n.input(1)));
    HQ_ASSERT((int64_t)delta.size() == nout, n.label(), ": ", delta.size(), " bias changes for ", nout, " outputs");
    auto vector_of = [&](double scale) {
        Tensor t(DType::F32, {nout});
        for (int64_t o = 0; o < nout; ++o) t.data<float>()[o] = (float)(delta[(size_t)o] * scale);
        return t;
    };
    auto add_new = [&](size_t k, double scale) {
        std::string name = g.unique_name(g.nodes[node].name + "_compensation_bias");
        g.initializers[name] = vector_of(scale);
        set_input(g.nodes[node], k, name);
    };
    const std::string& op = n.op_type;
    if (op == "Conv" || op == "ConvTranspose") {
        if (n.input(2).empty()) {
            add_new(2, 1.0);
            return "bias created";
        }
        Tensor& b = own_initializer(g, node, 2);
        float* p = b.data<float>();
        for (int64_t o = 0; o < nout; ++o) p[o] = (float)((double)p[o] + delta[(size_t)o]);
        return "bias updated";
    }
    if (op == "Gemm") {
        const double beta = n.attr_float("beta", 1.0f);
        if (beta == 0.0) {
            graph::Attribute at;
            at.kind = graph::Attribute::Kind::Float;
            at.f = 1.0f;
            g.nodes[node].attrs["beta"] = at;
            add_new(2, 1.0);
            return "bias created";
        }
        if (n.input(2).empty()) {
            add_new(2, 1.0 / beta);
            return "bias created";
        }
        Tensor& c = own_initializer(g, node, 2);
        // Broadcast C along the output columns when it has one column (or is a scalar).
        if (c.rank() == 0 || c.dim(-1) != nout) {
            Shape s = c.shape();
            if (s.empty()) s.push_back(1);
            const int64_t rows = shape_numel(s) / s.back();
            s.back() = nout;
            Tensor e(DType::F32, s);
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t o = 0; o < nout; ++o) e.data<float>()[r * nout + o] = c.data<float>()[r];
            c = e;
        }
        float* p = c.data<float>();
        const int64_t rows = c.numel() / nout;
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t o = 0; o < nout; ++o)
                p[r * nout + o] = (float)((double)p[r * nout + o] + delta[(size_t)o] / beta);
        return "bias updated";
    }
    // MatMul
    if (auto ba = bias_add(g, node, nout)) {
        Tensor& c = own_initializer(g, ba->first, ba->second);
        float* p = c.data<float>();
        for (int64_t o = 0; o < nout; ++o) p[o] = (float)((double)p[o] + delta[(size_t)o]);
        return "bias Add updated";
    }
    const std::string y = n.outputs[0];
    const std::string pre = g.unique_name(y + "_before_compensation");
    const std::string bias = g.unique_name(n.name + "_compensation_bias");
    graph::Node add;
    add.name = g.unique_name(n.name + "_compensation");
    add.op_type = "Add";
    add.inputs = {pre, bias};
    add.outputs = {y};
    g.initializers[bias] = vector_of(1.0);
    auto vi = g.value_info.find(y);
    if (vi != g.value_info.end()) {
        graph::ValueInfo v = vi->second;
        v.name = pre;
        g.value_info[pre] = v;
    } else if (const graph::ValueInfo* out = g.find_value(y)) {
        graph::ValueInfo v = *out;
        v.name = pre;
        g.value_info[pre] = v;
    }
    g.nodes[node].outputs[0] = pre;
    g.nodes.insert(g.nodes.begin() + (std::ptrdiff_t)node + 1, add);
    return "bias Add inserted";
}

}  // namespace hq::prune

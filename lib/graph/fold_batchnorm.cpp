// BatchNormalization folded into the Conv / ConvTranspose / Gemm that feeds it.
#include <cmath>
#include <set>

#include "core/error.h"
#include "graph/passes.h"

namespace hq::graph {

namespace {

const Tensor* f32_init(const Graph& g, const std::string& name) {
    auto it = g.initializers.find(name);
    if (it == g.initializers.end() || it->second.dtype() != DType::F32) return nullptr;
    return &it->second;
}

// Output channel of each weight element; -1 when the layout is not understood.
int64_t out_channels_of(const Node& n, const Tensor& w) {
    if (n.op_type == "Conv") return w.rank() >= 3 ? w.dim(0) : -1;
    if (n.op_type == "ConvTranspose") return w.rank() >= 3 ? w.dim(1) * n.attr_int("group", 1) : -1;
    if (n.op_type == "Gemm") return w.rank() == 2 ? (n.attr_int("transB", 0) ? w.dim(0) : w.dim(1)) : -1;
    return -1;
}

}  // namespace

// One graph; `names` (the model's graph) makes new names unique across every scope.
static bool fold_batchnorm_in(Graph& g, const Graph& names) {
    bool changed = false;
    auto cons = g.consumers();
    auto prod = g.producers();
    std::set<size_t> removed;
    for (size_t bi = 0; bi < g.nodes.size(); ++bi) {
        Node& bn = g.nodes[bi];
        if (bn.op_type != "BatchNormalization" || !bn.domain.empty() || bn.attr_int("training_mode", 0) != 0) continue;
        if (bn.outputs.size() > 1) {
            bool extra_used = false;
            for (size_t k = 1; k < bn.outputs.size(); ++k) extra_used |= !bn.outputs[k].empty() && cons.count(bn.outputs[k]);
            if (extra_used) continue;
        }
        const std::string& x = bn.input(0);
        auto pit = prod.find(x);
        if (pit == prod.end() || removed.count(pit->second)) continue;
        Node& layer = g.nodes[pit->second];
        if (!layer.domain.empty() || (layer.op_type != "Conv" && layer.op_type != "ConvTranspose" && layer.op_type != "Gemm"))
            continue;
        if (cons[x].size() != 1 || g.is_graph_output(x) || layer.outputs.size() != 1) continue;
        const Tensor* w = f32_init(g, layer.input(1));
        const Tensor* scale = f32_init(g, bn.input(1));
        const Tensor* beta = f32_init(g, bn.input(2));
        const Tensor* mean = f32_init(g, bn.input(3));
        const Tensor* var = f32_init(g, bn.input(4));
        if (!w || !scale || !beta || !mean || !var) continue;
        int64_t oc = out_channels_of(layer, *w);
        if (oc <= 0 || scale->numel() != oc || beta->numel() != oc || mean->numel() != oc || var->numel() != oc) continue;
        const Tensor* bias = nullptr;
        if (!layer.input(2).empty()) {
            bias = f32_init(g, layer.input(2));
            if (!bias) continue;
            if (bias->numel() != oc && !(layer.op_type == "Gemm" && bias->numel() == 1)) continue;
        }
        float eps = bn.attr_float("epsilon", 1e-5f);
        std::vector<float> s(oc), shift(oc);
        const float *sc = scale->data<float>(), *be = beta->data<float>(), *mu = mean->data<float>(), *va = var->data<float>();
        for (int64_t c = 0; c < oc; ++c) {
            s[c] = sc[c] / std::sqrt(va[c] + eps);
            shift[c] = be[c] - mu[c] * s[c];
        }
        Tensor nw = w->clone();
        float* pw = nw.data<float>();
        const int64_t n = nw.numel();
        if (layer.op_type == "Conv") {
            int64_t per = n / oc;
            for (int64_t i = 0; i < n; ++i) pw[i] *= s[i / per];
        } else if (layer.op_type == "ConvTranspose") {
            int64_t group = layer.attr_int("group", 1);
            int64_t cin = nw.dim(0), ocg = nw.dim(1), k = n / (cin * ocg), cin_g = cin / group;
            for (int64_t ci = 0; ci < cin; ++ci)
                for (int64_t j = 0; j < ocg; ++j) {
                    int64_t c = (ci / cin_g) * ocg + j;
                    for (int64_t q = 0; q < k; ++q) pw[(ci * ocg + j) * k + q] *= s[c];
                }
        } else {  // Gemm: Y = alpha * A * B + beta * C; scale output columns
            bool tb = layer.attr_int("transB", 0) != 0;
            int64_t rows = nw.dim(0), cols = nw.dim(1);
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t c = 0; c < cols; ++c) pw[r * cols + c] *= s[tb ? r : c];
        }
        Tensor nb(DType::F32, {oc});
        float* pb = nb.data<float>();
        float gemm_beta = layer.op_type == "Gemm" ? layer.attr_float("beta", 1.0f) : 1.0f;
        for (int64_t c = 0; c < oc; ++c) {
            float b0 = bias ? bias->data<float>()[bias->numel() == 1 ? 0 : c] * gemm_beta : 0.0f;
            pb[c] = b0 * s[c] + shift[c];
        }
        std::string wname = names.unique_name(layer.input(1) + "_bnfold");
        g.initializers[wname] = nw;
        std::string bname = names.unique_name((layer.input(2).empty() ? layer.name + "_bias" : layer.input(2)) + "_bnfold");
        g.initializers[bname] = nb;
        layer.inputs.resize(3);
        layer.inputs[1] = wname;
        layer.inputs[2] = bname;
        if (layer.op_type == "Gemm") {
            Attribute a;
            a.kind = Attribute::Kind::Float;
            a.f = 1.0f;
            layer.attrs["beta"] = a;
        }
        // The layer now writes the BN's output directly.
        g.value_info.erase(x);
        layer.outputs[0] = bn.outputs[0];
        removed.insert(bi);
        changed = true;
    }
    if (!removed.empty()) {
        std::vector<Node> kept;
        for (size_t i = 0; i < g.nodes.size(); ++i)
            if (!removed.count(i)) kept.push_back(std::move(g.nodes[i]));
        g.nodes = std::move(kept);
    }
    return changed;
}

bool fold_batchnorm(Model& m) {
    // Per graph, with the weights of that graph (a subgraph's layer with outer-scope weights is left alone).
    bool changed = false;
    for_each_graph(m.graph, [&](Graph& g, int) { changed |= fold_batchnorm_in(g, m.graph); });
    if (changed) eliminate_dead_code(m);
    return changed;
}

}  // namespace hq::graph

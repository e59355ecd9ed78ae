#include "quant/accuracy_helpers.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "quant/params.h"

namespace hq::quant {

namespace {

Tensor* float_weight(graph::Graph& g, const std::string& name) {
    auto it = g.initializers.find(name);
    if (it == g.initializers.end() || it->second.dtype() != DType::F32) return nullptr;
    return &it->second;
}

// Gives node input `idx` a private copy of its initializer (weights may be shared).
Tensor& own_initializer(graph::Graph& g, graph::Node& n, size_t idx, const std::string& suffix) {
    std::string name = g.unique_name(n.inputs[idx] + suffix);
    g.initializers[name] = g.initializers.at(n.inputs[idx]).clone();
    n.inputs[idx] = name;
    return g.initializers.at(name);
}

}  // namespace

std::vector<std::string> cross_layer_equalize(graph::Model& m) {
    graph::Graph& g = m.graph;
    std::vector<std::string> done;
    auto prod = g.producers();
    auto cons = g.consumers();
    for (size_t bi = 0; bi < g.nodes.size(); ++bi) {
        graph::Node& b = g.nodes[bi];
        if (b.op_type != "Conv" || !b.domain.empty() || b.attr_int("group", 1) != 1) continue;
        std::string x = b.input(0);
        auto pit = prod.find(x);
        if (pit == prod.end()) continue;
        size_t act_idx = SIZE_MAX;
        if (g.nodes[pit->second].op_type == "Relu" || g.nodes[pit->second].op_type == "LeakyRelu" ||
            g.nodes[pit->second].op_type == "PRelu") {
            // PRelu is positively homogeneous only with a per-tensor slope; keep it simple: scalar slopes.
            if (g.nodes[pit->second].op_type == "PRelu") {
                auto sl = g.initializers.find(g.nodes[pit->second].input(1));
                if (sl == g.initializers.end() || sl->second.numel() != 1) continue;
            }
            act_idx = pit->second;
            if (cons[x].size() != 1 || g.is_graph_output(x)) continue;
            x = g.nodes[act_idx].input(0);
            pit = prod.find(x);
            if (pit == prod.end()) continue;
        }
        graph::Node& a = g.nodes[pit->second];
        if (a.op_type != "Conv" || !a.domain.empty() || cons[x].size() != 1 || g.is_graph_output(x)) continue;
        Tensor* wa = float_weight(g, a.input(1));
        Tensor* wb = float_weight(g, b.input(1));
        if (!wa || !wb || wa->rank() < 3 || wb->rank() < 3) continue;
        const int64_t c = wa->dim(0);
        if (wb->dim(1) != c) continue;
        if (!a.input(2).empty() && !float_weight(g, a.input(2))) continue;
        // Channel ranges.
        std::vector<double> ra(c, 0), rb(c, 0);
        const int64_t ka = wa->numel() / c, ob = wb->dim(0), kb = wb->numel() / (ob * c);
        const float* pa = wa->data<float>();
        const float* pb = wb->data<float>();
        for (int64_t i = 0; i < c; ++i)
            for (int64_t k = 0; k < ka; ++k) ra[i] = std::max(ra[i], (double)std::fabs(pa[i * ka + k]));
        for (int64_t o = 0; o < ob; ++o)
            for (int64_t i = 0; i < c; ++i)
                for (int64_t k = 0; k < kb; ++k) rb[i] = std::max(rb[i], (double)std::fabs(pb[(o * c + i) * kb + k]));
        std::vector<float> s(c, 1.0f);
        bool any = false;
        for (int64_t i = 0; i < c; ++i) {
            if (ra[i] > 0 && rb[i] > 0) s[i] = (float)std::sqrt(ra[i] / rb[i]);
            any |= s[i] != 1.0f;
        }
        if (!any) continue;
        Tensor& na = own_initializer(g, a, 1, "_cle");
        Tensor& nb = own_initializer(g, b, 1, "_cle");
        float* qa = na.data<float>();
        float* qb = nb.data<float>();
        for (int64_t i = 0; i < c; ++i)
            for (int64_t k = 0; k < ka; ++k) qa[i * ka + k] /= s[i];
        for (int64_t o = 0; o < ob; ++o)
            for (int64_t i = 0; i < c; ++i)
                for (int64_t k = 0; k < kb; ++k) qb[(o * c + i) * kb + k] *= s[i];
        if (!a.input(2).empty()) {
            Tensor& bias = own_initializer(g, a, 2, "_cle");
            float* pbias = bias.data<float>();
            for (int64_t i = 0; i < c && i < bias.numel(); ++i) pbias[i] /= s[i];
        }
        done.push_back(a.name + " -> " + b.name);
    }
    return done;
}

std::vector<std::string> correct_bias(graph::Model& m, const Plan& plan, const ChannelMeans& means,
                                      const QdqOptions& opt) {
    graph::Graph& g = m.graph;
    std::vector<std::string> done;
    for (auto& n : g.nodes) {
        const LayerPlan* lp = plan.find(n.name);
        if (!lp || lp->precision != Precision::Int8) continue;
        if (n.op_type != "Conv" && n.op_type != "Gemm") continue;
        if (n.op_type == "Gemm" && (n.attr_int("transA", 0) || n.attr_float("alpha", 1.0f) != 1.0f ||
                                    n.attr_float("beta", 1.0f) != 1.0f))
            continue;
        Tensor* w = float_weight(g, n.input(1));
        auto mit = means.find(n.input(0));
        if (!w || mit == means.end()) continue;
        const std::vector<double>& ex = mit->second;
        const int64_t axis = weight_channel_axis(n, *w);
        const bool per_channel = opt.per_channel && axis >= 0;
        WeightQuant wq = quantize_weight(*w, per_channel ? axis : 0, per_channel, opt.reduce_range ? 63 : 127);
        const float* pw = w->data<float>();
        const int8_t* pq = wq.q.data<int8_t>();
        std::vector<double> delta;
        if (n.op_type == "Conv") {
            const int64_t oc = w->dim(0), cin_g = w->dim(1), group = n.attr_int("group", 1);
            const int64_t k = w->numel() / (oc * cin_g), oc_g = oc / group;
            if ((int64_t)ex.size() != cin_g * group) continue;
            delta.assign(oc, 0.0);
            for (int64_t o = 0; o < oc; ++o) {
                const double sc = per_channel ? wq.scales[o] : wq.scales[0];
                const int64_t g0 = (o / oc_g) * cin_g;
                for (int64_t c = 0; c < cin_g; ++c)
                    for (int64_t j = 0; j < k; ++j) {
                        int64_t idx = (o * cin_g + c) * k + j;
                        delta[o] += (pq[idx] * sc - pw[idx]) * ex[g0 + c];
                    }
            }
        } else {  // Gemm: y = x W (transB: W is [N, K])
            const bool tb = n.attr_int("transB", 0) != 0;
            const int64_t kdim = tb ? w->dim(1) : w->dim(0), ncol = tb ? w->dim(0) : w->dim(1);
            if ((int64_t)ex.size() != kdim) continue;
            delta.assign(ncol, 0.0);
            for (int64_t o = 0; o < ncol; ++o) {
                const double sc = per_channel ? wq.scales[o] : wq.scales[0];
                for (int64_t kk = 0; kk < kdim; ++kk) {
                    int64_t idx = tb ? o * kdim + kk : kk * ncol + o;
                    delta[o] += (pq[idx] * sc - pw[idx]) * ex[kk];
                }
            }
        }
        const int64_t nout = (int64_t)delta.size();
        Tensor bias(DType::F32, {nout});
        if (!n.input(2).empty()) {
            Tensor* b = float_weight(g, n.input(2));
            if (!b || b->numel() != nout) continue;
            bias = b->clone().reshaped({nout});
        }
        float* pb = bias.data<float>();
        for (int64_t o = 0; o < nout; ++o) pb[o] = (float)(pb[o] - delta[o]);
        std::string name = g.unique_name((n.input(2).empty() ? n.name + "_bias" : n.input(2)) + "_corrected");
        g.initializers[name] = bias;
        if (n.inputs.size() < 3) n.inputs.resize(3);
        n.inputs[2] = name;
        done.push_back(n.name);
    }
    return done;
}

namespace {

// A reader SmoothQuant can scale: MatMul(X, W) with a constant 2-D float W [F, O], or Gemm(X, W) (transA 0) with a
// constant float W ([F, O], transB: [O, F]). Returns the feature count F, or 0.
int64_t smooth_reader_features(const graph::Graph& g, const graph::Node& n, const std::string& x) {
    if (!n.domain.empty() || n.input(0) != x) return 0;
    if (n.op_type != "MatMul" && n.op_type != "Gemm") return 0;
    auto it = g.initializers.find(n.input(1));
    if (it == g.initializers.end() || it->second.dtype() != DType::F32 || it->second.rank() != 2) return 0;
    if (n.op_type == "Gemm") {
        if (n.attr_int("transA", 0) != 0) return 0;
        return n.attr_int("transB", 0) ? it->second.dim(1) : it->second.dim(0);
    }
    return it->second.dim(0);
}

}  // namespace

std::map<std::string, int64_t> smooth_candidates(const graph::Model& m) {
    const graph::Graph& g = m.graph;
    std::map<std::string, int64_t> out;
    for (const auto& [x, readers] : g.consumers()) {
        if (g.is_initializer(x)) continue;
        int64_t f = 0;
        bool consistent = true;
        for (size_t ni : readers) {
            int64_t k = smooth_reader_features(g, g.nodes[ni], x);
            if (!k) continue;
            if (f && k != f) consistent = false;
            f = k;
        }
        if (f && consistent) out[x] = f;
    }
    return out;
}

std::vector<std::string> smooth_quant(graph::Model& m, const FeatureAbsMax& absmax, double alpha,
                                      double outlier_ratio) {
    HQ_CHECK(alpha >= 0 && alpha <= 1, "SmoothQuant alpha ", alpha, " is not in [0, 1]");
    graph::Graph& g = m.graph;
    const auto candidates = smooth_candidates(m);
    std::vector<std::string> done;
    for (const auto& [x, features] : candidates) {
        auto ai = absmax.find(x);
        if (ai == absmax.end() || (int64_t)ai->second.size() != features) continue;
        const std::vector<double>& a = ai->second;
        std::vector<double> sorted = a;
        std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
        const double median = sorted[sorted.size() / 2];
        const double top = *std::max_element(a.begin(), a.end());
        if (!(top > 0) || top < outlier_ratio * median) continue;  // no outlier features: nothing to migrate
        // Readers (by index: the node list grows below) and the largest |W[j, :]| over them.
        std::vector<size_t> readers;
        const auto cons = g.consumers();
        for (size_t ni : cons.at(x))
            if (smooth_reader_features(g, g.nodes[ni], x) == features) readers.push_back(ni);
        std::vector<double> w(features, 0.0);
        for (size_t ni : readers) {
            const graph::Node& n = g.nodes[ni];
            const Tensor& wt = g.initializers.at(n.input(1));
            const bool trans = n.op_type == "Gemm" && n.attr_int("transB", 0);
            const int64_t rows = wt.dim(0), cols = wt.dim(1);
            const float* p = wt.data<float>();
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t c = 0; c < cols; ++c) {
                    const int64_t j = trans ? c : r;
                    w[j] = std::max(w[j], (double)std::fabs(p[r * cols + c]));
                }
        }
        std::vector<float> s(features), inv(features);
        for (int64_t j = 0; j < features; ++j) {
            double v = 1.0;
            if (a[j] > 0 && w[j] > 0 && std::isfinite(a[j])) v = std::pow(a[j], alpha) / std::pow(w[j], 1.0 - alpha);
            v = std::min(1e4, std::max(1e-4, v));
            s[j] = (float)v;
            inv[j] = (float)(1.0 / v);
        }
        // X_s = X * (1/s), read by every scalable reader; their weights' rows j times s_j.
        const std::string xs = g.unique_name(x + "_smoothed");
        const std::string inv_name = g.unique_name(x + "_smooth_inv_scale");
        g.initializers[inv_name] = Tensor::from_f32({features}, inv);
        for (size_t ni : readers) {
            graph::Node& n = g.nodes[ni];
            n.inputs[0] = xs;
            Tensor& wt = own_initializer(g, n, 1, "_smoothed");
            const bool trans = n.op_type == "Gemm" && n.attr_int("transB", 0);
            const int64_t rows = wt.dim(0), cols = wt.dim(1);
            float* p = wt.data<float>();
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t c = 0; c < cols; ++c) p[r * cols + c] *= s[trans ? c : r];
        }
        graph::Node mul;
        mul.name = g.unique_name(x + "_SmoothQuant");
        mul.op_type = "Mul";
        mul.inputs = {x, inv_name};
        mul.outputs = {xs};
        if (const graph::ValueInfo* vi = g.find_value(x)) {
            graph::ValueInfo v = *vi;
            v.name = xs;
            g.value_info[xs] = v;
        }
        // Before the first reader keeps the node list in topological order.
        const size_t first = *std::min_element(readers.begin(), readers.end());
        g.nodes.insert(g.nodes.begin() + (ptrdiff_t)first, std::move(mul));
        done.push_back(x);
    }
    return done;
}

}  // namespace hq::quant

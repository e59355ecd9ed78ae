#include "prune/prune.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>
#include <set>

#include "core/error.h"

namespace hq::prune {

namespace {

bool is_prunable_op(const graph::Node& n) {
    return n.domain.empty() &&
           (n.op_type == "Conv" || n.op_type == "ConvTranspose" || n.op_type == "Gemm" || n.op_type == "MatMul");
}

std::optional<Shape> shape_of(const graph::Model& m, const std::string& v) {
    if (v.empty()) return std::nullopt;
    auto it = m.graph.initializers.find(v);
    if (it != m.graph.initializers.end()) return it->second.shape();
    const graph::ValueInfo* vi = m.graph.find_value(v);
    return vi ? vi->static_shape() : std::nullopt;
}

int64_t count_zeros(const Tensor& t) {
    if (t.dtype() != DType::F32) return 0;
    const float* d = t.data<float>();
    int64_t z = 0;
    for (int64_t i = 0; i < t.numel(); ++i) z += d[i] == 0.0f;
    return z;
}

// Indices of t sorted by |value| (ties by index), so that pruning is deterministic.
std::vector<int64_t> magnitude_order(const Tensor& t) {
    const float* d = t.data<float>();
    std::vector<int64_t> idx((size_t)t.numel());
    std::iota(idx.begin(), idx.end(), 0);
    std::sort(idx.begin(), idx.end(), [d](int64_t a, int64_t b) {
        float fa = std::fabs(d[a]), fb = std::fabs(d[b]);
        return fa != fb ? fa < fb : a < b;
    });
    return idx;
}

// The reduction (input-channel) axis of a layer's weight, or a reason why N:M does not apply.
std::optional<int64_t> reduction_axis(const graph::Node& n, const Shape& w, std::string& why) {
    if (n.op_type == "Conv") {
        if (w.size() < 3) {
            why = "Conv weight of rank " + std::to_string(w.size());
            return std::nullopt;
        }
        return 1;
    }
    if (n.op_type == "Gemm") {
        if (w.size() != 2) {
            why = "Gemm weight of rank " + std::to_string(w.size());
            return std::nullopt;
        }
        return n.attr_int("transB", 0) ? 1 : 0;
    }
    if (n.op_type == "MatMul") {
        if (w.size() < 2) {
            why = "MatMul weight of rank " + std::to_string(w.size());
            return std::nullopt;
        }
        return (int64_t)w.size() - 2;
    }
    why = n.op_type + ": N:M is not applied (reduction axis is not the weight's input-channel axis)";
    return std::nullopt;
}

struct Candidate {
    size_t layer;  // index into result.layers
    std::string weight;
};

}  // namespace

void parse_pattern(const std::string& s, PruneOptions& o) {
    if (s == "unstructured") {
        o.pattern = Pattern::Unstructured;
        return;
    }
    auto colon = s.find(':');
    HQ_CHECK(colon != std::string::npos, "--pattern '", s, "': expected unstructured or N:M (e.g. 2:4)");
    try {
        size_t p1 = 0, p2 = 0;
        std::string a = s.substr(0, colon), b = s.substr(colon + 1);
        int64_t n = std::stoll(a, &p1), m = std::stoll(b, &p2);
        HQ_CHECK(p1 == a.size() && p2 == b.size() && n >= 0 && m >= 1 && n < m, "--pattern '", s,
                 "': N:M needs 0 <= N < M");
        o.pattern = Pattern::NM;
        o.n = n;
        o.m = m;
    } catch (const std::logic_error&) {
        HQ_FAIL("--pattern '", s, "': expected unstructured or N:M (e.g. 2:4)");
    }
}

std::string pattern_name(const PruneOptions& o) {
    return o.pattern == Pattern::Unstructured ? "unstructured" : std::to_string(o.n) + ":" + std::to_string(o.m);
}

std::optional<int64_t> layer_macs(const graph::Model& m, const graph::Node& n) {
    auto w = shape_of(m, n.input(1));
    auto y = n.outputs.empty() ? std::nullopt : shape_of(m, n.outputs[0]);
    if (!w || !y) return std::nullopt;
    auto tail = [&](size_t from) {
        int64_t k = 1;
        for (size_t i = from; i < w->size(); ++i) k *= (*w)[i];
        return k;
    };
    if (n.op_type == "Conv") return w->size() < 3 ? std::nullopt : std::optional<int64_t>(shape_numel(*y) * tail(1));
    if (n.op_type == "ConvTranspose") {
        auto x = shape_of(m, n.input(0));
        if (!x || w->size() < 3) return std::nullopt;
        return shape_numel(*x) * tail(1);
    }
    if (n.op_type == "Gemm") {
        if (w->size() != 2) return std::nullopt;
        return shape_numel(*y) * (n.attr_int("transB", 0) ? (*w)[1] : (*w)[0]);
    }
    if (n.op_type == "MatMul") {
        if (w->empty()) return std::nullopt;
        return shape_numel(*y) * (w->size() == 1 ? (*w)[0] : (*w)[w->size() - 2]);
    }
    return std::nullopt;
}

PruneResult layer_stats(const graph::Model& m) {
    PruneResult r;
    for (const auto& n : m.graph.nodes) {
        if (!is_prunable_op(n)) continue;
        LayerResult l;
        l.node = n.name;
        l.op_type = n.op_type;
        l.weight = n.input(1);
        auto it = m.graph.initializers.find(l.weight);
        if (it == m.graph.initializers.end()) {
            l.skipped_reason = "weight is not a constant";
        } else {
            l.params = it->second.numel();
            l.zeros = count_zeros(it->second);
            l.sparsity = l.params ? (double)l.zeros / (double)l.params : 0.0;
            if (it->second.dtype() != DType::F32)
                l.skipped_reason = "weight is " + std::string(dtype_name(it->second.dtype()));
        }
        l.macs = layer_macs(m, n);
        if (l.macs && l.params)
            l.nonzero_macs = (int64_t)std::llround((double)*l.macs * (double)(l.params - l.zeros) / (double)l.params);
        r.layers.push_back(std::move(l));
    }
    return r;
}

PruneResult prune_model(graph::Model& m, const PruneOptions& o) {
    HQ_CHECK(o.pattern != Pattern::Unstructured || (o.sparsity >= 0 && o.sparsity < 1), "--sparsity ", o.sparsity,
             ": expected a fraction in [0, 1)");
    HQ_CHECK(o.min_keep > 0 && o.min_keep <= 1, "minimum kept fraction ", o.min_keep, ": expected (0, 1]");
    HQ_CHECK(o.pattern != Pattern::NM || (o.n >= 0 && o.m >= 1 && o.n < o.m), "N:M pattern ", o.n, ":", o.m,
             ": needs 0 <= N < M");
    auto& g = m.graph;
    PruneResult r = layer_stats(m);
    auto consumers = g.consumers();
    std::set<std::string> exclude(o.exclude.begin(), o.exclude.end());

    // First and last layer with a constant weight (in node order), kept unless include_ends.
    std::optional<size_t> first, last;
    for (size_t i = 0; i < r.layers.size(); ++i)
        if (r.layers[i].skipped_reason.empty()) {
            if (!first) first = i;
            last = i;
        }

    std::vector<Candidate> cands;
    size_t li = 0;
    for (const auto& n : g.nodes) {
        if (!is_prunable_op(n)) continue;
        LayerResult& l = r.layers[li];
        size_t idx = li++;
        if (!l.skipped_reason.empty()) continue;
        if (exclude.count(n.name) || exclude.count(n.op_type)) {
            l.skipped_reason = "excluded (--exclude)";
            continue;
        }
        if (!o.include_ends && first && idx == *first) {
            l.skipped_reason = "first layer kept (--include-ends prunes it)";
            continue;
        }
        if (!o.include_ends && last && idx == *last) {
            l.skipped_reason = "last layer kept (--include-ends prunes it)";
            continue;
        }
        size_t users = consumers.count(l.weight) ? consumers.at(l.weight).size() : 0;
        if (users > 1) {
            l.skipped_reason = "weight shared by " + std::to_string(users) + " nodes";
            continue;
        }
        if (g.is_graph_output(l.weight)) {
            l.skipped_reason = "weight is a graph output";
            continue;
        }
        if (o.pattern == Pattern::NM) {
            const Shape& ws = g.initializers.at(l.weight).shape();
            std::string why;
            auto ax = reduction_axis(n, ws, why);
            if (!ax) {
                l.skipped_reason = why;
                continue;
            }
            int64_t red = ws[(size_t)*ax];
            if (red % o.m != 0) {
                l.skipped_reason = "reduction dimension " + std::to_string(red) + " is not a multiple of " +
                                   std::to_string(o.m) + (n.op_type == "Conv" && red == 1 ? " (depthwise)" : "");
                continue;
            }
        }
        cands.push_back({idx, l.weight});
    }

    // Zero count per candidate layer.
    std::vector<int64_t> target(cands.size(), 0);
    std::vector<std::vector<int64_t>> orders(cands.size());
    if (o.pattern == Pattern::Unstructured) {
        for (size_t c = 0; c < cands.size(); ++c) orders[c] = magnitude_order(g.initializers.at(cands[c].weight));
        if (o.scope == Scope::Layer) {
            for (size_t c = 0; c < cands.size(); ++c)
                target[c] = (int64_t)std::llround(o.sparsity * (double)orders[c].size());
        } else {
            // One threshold over all layers: take the globally smallest magnitudes, a layer at a time once it
            // reaches its cap (numel - ceil(min_keep * numel)), until the total is reached.
            int64_t total = 0;
            std::vector<int64_t> cap(cands.size());
            for (size_t c = 0; c < cands.size(); ++c) {
                int64_t numel = (int64_t)orders[c].size();
                total += numel;
                cap[c] = numel - (int64_t)std::ceil(o.min_keep * (double)numel - 1e-9);
            }
            int64_t want = (int64_t)std::llround(o.sparsity * (double)total);
            int64_t capacity = std::accumulate(cap.begin(), cap.end(), (int64_t)0);
            HQ_CHECK(want <= capacity, "--sparsity ", o.sparsity, " over ", total, " weights needs ", want,
                     " zeros but every layer keeps at least ", o.min_keep, " of its weights (at most ", capacity, ")");
            using Item = std::pair<float, size_t>;  // magnitude, candidate
            auto cmp = [](const Item& a, const Item& b) {
                return a.first != b.first ? a.first > b.first : a.second > b.second;
            };
            std::priority_queue<Item, std::vector<Item>, decltype(cmp)> heap(cmp);
            auto mag = [&](size_t c) {
                return std::fabs(g.initializers.at(cands[c].weight).data<float>()[orders[c][(size_t)target[c]]]);
            };
            for (size_t c = 0; c < cands.size(); ++c)
                if (cap[c] > 0) heap.push({mag(c), c});
            for (int64_t k = 0; k < want; ++k) {
                HQ_ASSERT(!heap.empty());
                size_t c = heap.top().second;
                heap.pop();
                ++target[c];
                if (target[c] < cap[c]) heap.push({mag(c), c});
            }
        }
        for (size_t c = 0; c < cands.size(); ++c) {
            Tensor w = g.initializers.at(cands[c].weight).clone();
            float* d = w.data<float>();
            for (int64_t k = 0; k < target[c]; ++k) d[orders[c][(size_t)k]] = 0.0f;
            g.initializers[cands[c].weight] = w;
        }
    } else {
        for (const auto& cand : cands) {
            const graph::Node* node = nullptr;
            for (const auto& n : g.nodes)
                if (n.name == r.layers[cand.layer].node && n.input(1) == cand.weight) node = &n;
            HQ_ASSERT(node);
            Tensor w = g.initializers.at(cand.weight).clone();
            std::string why;
            int64_t ax = *reduction_axis(*node, w.shape(), why);
            int64_t outer = 1, inner = 1, red = w.shape()[(size_t)ax];
            for (int64_t i = 0; i < ax; ++i) outer *= w.shape()[(size_t)i];
            for (size_t i = (size_t)ax + 1; i < w.shape().size(); ++i) inner *= w.shape()[i];
            float* d = w.data<float>();
            std::vector<int64_t> grp((size_t)o.m);
            for (int64_t a = 0; a < outer; ++a)
                for (int64_t s = 0; s < inner; ++s)
                    for (int64_t g0 = 0; g0 < red; g0 += o.m) {
                        for (int64_t j = 0; j < o.m; ++j) grp[(size_t)j] = (a * red + g0 + j) * inner + s;
                        std::sort(grp.begin(), grp.end(), [d](int64_t x, int64_t y) {
                            float fx = std::fabs(d[x]), fy = std::fabs(d[y]);
                            return fx != fy ? fx < fy : x < y;
                        });
                        for (int64_t j = 0; j < o.m - o.n; ++j) d[grp[(size_t)j]] = 0.0f;
                    }
            g.initializers[cand.weight] = w;
        }
    }

    // Achieved numbers.
    PruneResult after = layer_stats(m);
    for (size_t i = 0; i < r.layers.size(); ++i) {
        std::string reason = r.layers[i].skipped_reason;
        r.layers[i] = after.layers[i];
        r.layers[i].skipped_reason = reason;
    }
    return r;
}

int64_t nonzero_parameters(const graph::Model& m) {
    int64_t n = 0;
    for (const auto& [name, t] : m.graph.initializers)
        n += t.dtype() == DType::F32 ? t.numel() - count_zeros(t) : t.numel();
    return n;
}

int64_t total_parameters(const graph::Model& m) {
    int64_t n = 0;
    for (const auto& [name, t] : m.graph.initializers) n += t.numel();
    return n;
}

}  // namespace hq::prune

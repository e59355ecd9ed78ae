#include "prune/prune.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>
#include <set>

#include "core/error.h"
#include "prune/channel_graph.h"
#include "prune/compensate.h"

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

}  // namespace

void parse_pattern(const std::string& s, PruneOptions& o) {
    if (s == "unstructured") {
        o.pattern = Pattern::Unstructured;
        return;
    }
    if (s == "channel") {
        o.pattern = Pattern::Channel;
        return;
    }
    auto colon = s.find(':');
    HQ_CHECK(colon != std::string::npos, "--pattern '", s, "': expected unstructured, channel or N:M (e.g. 2:4)");
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
        HQ_FAIL("--pattern '", s, "': expected unstructured, channel or N:M (e.g. 2:4)");
    }
}

std::string pattern_name(const PruneOptions& o) {
    if (o.pattern == Pattern::Channel) return "channel";
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
            const Shape& ws = it->second.shape();
            const int64_t ax = weight_out_axis(n);
            if (ax < (int64_t)ws.size())
                l.channels = ws[(size_t)ax] * (n.op_type == "ConvTranspose" ? n.attr_int("group", 1) : 1);
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

namespace {

// What one layer gets: resolved from the options and its plan entry.
struct Spec {
    enum class Kind { Skip, Unstructured, NM, Channel };
    Kind kind = Kind::Skip;
    double sparsity = 0;
    int64_t n = 2, m = 4;
    std::string reason;  // Skip: why
};

std::string spec_pattern(const Spec& s) {
    switch (s.kind) {
        case Spec::Kind::Unstructured: return "unstructured";
        case Spec::Kind::NM: return std::to_string(s.n) + ":" + std::to_string(s.m);
        case Spec::Kind::Channel: return "channel";
        case Spec::Kind::Skip: break;
    }
    return "";
}

Spec::Kind kind_of(Pattern p) {
    if (p == Pattern::Unstructured) return Spec::Kind::Unstructured;
    return p == Pattern::NM ? Spec::Kind::NM : Spec::Kind::Channel;
}

// Zeroes the `count` smallest-magnitude weights of `w` (ties by index).
Tensor zero_smallest(const Tensor& w, int64_t count) {
    Tensor t = w.clone();
    auto order = magnitude_order(t);
    float* d = t.data<float>();
    for (int64_t k = 0; k < count; ++k) d[order[(size_t)k]] = 0.0f;
    return t;
}

// At most n nonzeros in every group of m along `ax`.
Tensor prune_nm(const Tensor& w0, int64_t ax, int64_t n, int64_t m) {
    Tensor w = w0.clone();
    int64_t outer = 1, inner = 1, red = w.shape()[(size_t)ax];
    for (int64_t i = 0; i < ax; ++i) outer *= w.shape()[(size_t)i];
    for (size_t i = (size_t)ax + 1; i < w.shape().size(); ++i) inner *= w.shape()[i];
    float* d = w.data<float>();
    std::vector<int64_t> grp((size_t)m);
    for (int64_t a = 0; a < outer; ++a)
        for (int64_t s = 0; s < inner; ++s)
            for (int64_t g0 = 0; g0 < red; g0 += m) {
                for (int64_t j = 0; j < m; ++j) grp[(size_t)j] = (a * red + g0 + j) * inner + s;
                std::sort(grp.begin(), grp.end(), [d](int64_t x, int64_t y) {
                    float fx = std::fabs(d[x]), fy = std::fabs(d[y]);
                    return fx != fy ? fx < fy : x < y;
                });
                for (int64_t j = 0; j < m - n; ++j) d[grp[(size_t)j]] = 0.0f;
            }
    return w;
}

}  // namespace

PruneResult prune_model(graph::Model& m, const PruneOptions& o) {
    HQ_CHECK(o.pattern == Pattern::NM || (o.sparsity >= 0 && o.sparsity < 1), "--sparsity ", o.sparsity,
             ": expected a fraction in [0, 1)");
    HQ_CHECK(o.min_keep > 0 && o.min_keep <= 1, "minimum kept fraction ", o.min_keep, ": expected (0, 1]");
    HQ_CHECK(o.pattern != Pattern::NM || (o.n >= 0 && o.m >= 1 && o.n < o.m), "N:M pattern ", o.n, ":", o.m,
             ": needs 0 <= N < M");
    HQ_CHECK(o.channel_multiple >= 1, "--channel-multiple ", o.channel_multiple, ": expected an integer >= 1");
    HQ_CHECK(o.plan.empty() || o.scope == Scope::Layer,
             "a plan gives every layer its own sparsity: it cannot be combined with --scope global");
    HQ_CHECK(!o.compensate || o.stats, "bias compensation needs activation statistics of calibration data (--data)");
    HQ_CHECK(o.criterion != Criterion::Activation || o.stats,
             "the activation criterion needs activation statistics of calibration data (--data)");
    auto& g = m.graph;
    PruneResult r = layer_stats(m);
    std::vector<size_t> node_of;
    std::map<std::string, size_t> layer_by_name;
    for (size_t i = 0; i < g.nodes.size(); ++i)
        if (is_prunable_op(g.nodes[i])) {
            layer_by_name[g.nodes[i].name] = node_of.size();
            node_of.push_back(i);
        }
    for (const auto& [name, lp] : o.plan)
        HQ_CHECK(layer_by_name.count(name), "plan: node '", name,
                 "' is not a prunable layer of the model (Conv, ConvTranspose, Gemm or MatMul)");
    auto consumers = g.consumers();
    std::set<std::string> exclude(o.exclude.begin(), o.exclude.end());

    // First and last layer with a constant weight (in node order), kept unless include_ends.
    std::optional<size_t> first, last;
    for (size_t i = 0; i < r.layers.size(); ++i)
        if (r.layers[i].skipped_reason.empty()) {
            if (!first) first = i;
            last = i;
        }

    std::vector<Spec> spec(r.layers.size());
    for (size_t li = 0; li < r.layers.size(); ++li) {
        const LayerResult& l = r.layers[li];
        const graph::Node& n = g.nodes[node_of[li]];
        Spec& s = spec[li];
        s.reason = l.skipped_reason;
        if (!s.reason.empty()) continue;
        if (exclude.count(n.name) || exclude.count(n.op_type)) {
            s.reason = "excluded (--exclude)";
            continue;
        }
        Spec want;
        auto p = o.plan.find(n.name);
        if (p != o.plan.end()) {
            if (p->second.pattern == "skip") {
                s.reason = "skipped by the plan" + (p->second.reason.empty() ? "" : ": " + p->second.reason);
                continue;
            }
            PruneOptions po;
            po.pattern = o.pattern;
            po.n = o.n;
            po.m = o.m;
            if (!p->second.pattern.empty()) parse_pattern(p->second.pattern, po);
            want.kind = kind_of(po.pattern);
            want.n = po.n;
            want.m = po.m;
            want.sparsity = p->second.sparsity.value_or(o.sparsity);
            HQ_CHECK(want.kind == Spec::Kind::NM || (want.sparsity >= 0 && want.sparsity < 1), "plan: node '", n.name,
                     "': sparsity ", want.sparsity, ": expected a fraction in [0, 1)");
        } else {
            if (!o.include_ends && first && li == *first) {
                s.reason = "first layer kept (--include-ends prunes it)";
                continue;
            }
            if (!o.include_ends && last && li == *last) {
                s.reason = "last layer kept (--include-ends prunes it)";
                continue;
            }
            want.kind = kind_of(o.pattern);
            want.n = o.n;
            want.m = o.m;
            want.sparsity = o.sparsity;
        }
        size_t users = consumers.count(l.weight) ? consumers.at(l.weight).size() : 0;
        if (users > 1) {
            s.reason = "weight shared by " + std::to_string(users) + " nodes";
            continue;
        }
        if (g.is_graph_output(l.weight)) {
            s.reason = "weight is a graph output";
            continue;
        }
        s = want;
    }

    // Channel pruning first: it changes the shapes the other patterns work on.
    std::map<size_t, double> selected;
    std::map<size_t, std::string> not_selected;
    for (size_t li = 0; li < spec.size(); ++li) {
        if (spec[li].kind == Spec::Kind::Channel)
            selected[node_of[li]] = spec[li].sparsity;
        else
            not_selected[node_of[li]] =
                spec[li].kind == Spec::Kind::Skip ? spec[li].reason : "pattern " + spec_pattern(spec[li]);
    }
    std::map<size_t, ChannelOutcome> outcomes;
    std::map<size_t, InputOutcome> inputs;
    if (!selected.empty()) {
        ChannelOptions co;
        co.criterion = o.criterion;
        co.multiple = o.channel_multiple;
        co.global = o.scope == Scope::Global;
        co.sparsity = o.sparsity;
        co.min_keep = o.min_keep;
        co.stats = o.stats;
        co.compensate = o.compensate;
        outcomes = prune_channels(m, selected, not_selected, co, &inputs);
        for (size_t li = 0; li < spec.size(); ++li) {
            if (spec[li].kind != Spec::Kind::Channel) continue;
            auto it = outcomes.find(node_of[li]);
            HQ_ASSERT(it != outcomes.end(), "no channel outcome for '", r.layers[li].node, "'");
            if (!it->second.skipped_reason.empty()) {
                spec[li].kind = Spec::Kind::Skip;
                spec[li].reason = it->second.skipped_reason;
            } else {
                spec[li].sparsity = it->second.target;
            }
        }
    }

    // Unstructured: zero counts per layer, or one global threshold.
    std::vector<size_t> un;
    for (size_t li = 0; li < spec.size(); ++li)
        if (spec[li].kind == Spec::Kind::Unstructured) un.push_back(li);
    auto weight_of = [&](size_t li) -> const std::string& { return g.nodes[node_of[li]].inputs[1]; };
    std::vector<int64_t> target(un.size(), 0);
    if (o.scope == Scope::Global && o.pattern == Pattern::Unstructured && o.plan.empty()) {
        // One threshold over all layers: take the globally smallest magnitudes, a layer at a time once it
        // reaches its cap (numel - ceil(min_keep * numel)), until the total is reached.
        std::vector<std::vector<int64_t>> orders(un.size());
        for (size_t c = 0; c < un.size(); ++c) orders[c] = magnitude_order(g.initializers.at(weight_of(un[c])));
        int64_t total = 0;
        std::vector<int64_t> cap(un.size());
        for (size_t c = 0; c < un.size(); ++c) {
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
            return std::fabs(g.initializers.at(weight_of(un[c])).data<float>()[orders[c][(size_t)target[c]]]);
        };
        for (size_t c = 0; c < un.size(); ++c)
            if (cap[c] > 0) heap.push({mag(c), c});
        for (int64_t k = 0; k < want; ++k) {
            HQ_ASSERT(!heap.empty());
            size_t c = heap.top().second;
            heap.pop();
            ++target[c];
            if (target[c] < cap[c]) heap.push({mag(c), c});
        }
    } else {
        for (size_t c = 0; c < un.size(); ++c)
            target[c] =
                (int64_t)std::llround(spec[un[c]].sparsity * (double)g.initializers.at(weight_of(un[c])).numel());
    }
    for (size_t c = 0; c < un.size(); ++c) {
        const std::string& w = weight_of(un[c]);
        g.initializers[w] = zero_smallest(g.initializers.at(w), target[c]);
        spec[un[c]].sparsity = (double)target[c] / (double)g.initializers.at(w).numel();
    }

    // N:M (after channel pruning, which may change the reduction dimension).
    for (size_t li = 0; li < spec.size(); ++li) {
        Spec& s = spec[li];
        if (s.kind != Spec::Kind::NM) continue;
        const graph::Node& n = g.nodes[node_of[li]];
        const std::string& w = n.inputs[1];
        const Shape& ws = g.initializers.at(w).shape();
        std::string why;
        auto ax = reduction_axis(n, ws, why);
        if (ax && ws[(size_t)*ax] % s.m != 0) {
            int64_t red = ws[(size_t)*ax];
            why = "reduction dimension " + std::to_string(red) + " is not a multiple of " + std::to_string(s.m) +
                  (n.op_type == "Conv" && red == 1 ? " (depthwise)" : "");
            ax.reset();
        }
        if (!ax) {
            s.kind = Spec::Kind::Skip;
            s.reason = why;
            continue;
        }
        g.initializers[w] = prune_nm(g.initializers.at(w), *ax, s.n, s.m);
        s.sparsity = (double)(s.m - s.n) / (double)s.m;
    }

    // Achieved numbers.
    PruneResult after = layer_stats(m);
    for (size_t li = 0; li < r.layers.size(); ++li) {
        LayerResult& l = after.layers[li];
        const Spec& s = spec[li];
        l.skipped_reason = s.kind == Spec::Kind::Skip ? s.reason : "";
        l.pattern = spec_pattern(s);
        l.target = s.kind == Spec::Kind::Skip ? 0.0 : s.sparsity;
        auto it = outcomes.find(node_of[li]);
        if (it != outcomes.end() && s.kind == Spec::Kind::Channel) {
            l.removed_channels = it->second.removed;
            l.tied_to = it->second.tied_to;
        }
        const graph::Node& n = g.nodes[node_of[li]];
        if (auto w = g.initializers.find(n.input(1)); w != g.initializers.end() && w->second.rank() >= 2)
            l.input_channels = w->second.dim(n.op_type == "MatMul" ? w->second.rank() - 2 : weight_in_axis(n)) *
                               (n.op_type == "Conv" ? std::max<int64_t>(1, n.attr_int("group", 1)) : 1);
        auto in = inputs.find(node_of[li]);
        if (in == inputs.end()) continue;
        l.input_channels = in->second.channels;
        l.input_channels_removed = (int64_t)in->second.removed.size();
        if (!o.compensate) continue;
        l.compensated = in->second.delta.has_value();
        l.compensation_note = in->second.note;
        if (in->second.delta) {
            double s2 = 0;
            for (double d : *in->second.delta) s2 += d * d;
            l.bias_change = std::sqrt(s2);
        }
    }

    // Compensation last: a MatMul without a bias Add gets one inserted after it, which shifts the node indices
    // after it (hence in descending node order, after everything that uses node indices).
    for (auto it = inputs.rbegin(); it != inputs.rend(); ++it) {
        if (!it->second.delta) continue;
        std::string how = add_to_bias(m, it->first, *it->second.delta);
        for (size_t li = 0; li < node_of.size(); ++li)
            if (node_of[li] == it->first) after.layers[li].compensation_note = how;
    }
    return after;
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

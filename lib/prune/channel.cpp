#include "prune/channel.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <optional>
#include <set>

#include "core/error.h"
#include "prune/channel_graph.h"

namespace hq::prune {

namespace {

// Per index along `ax` of `w`: L1 (sum |w|) or L2 (sqrt(sum w^2)) norm over every other axis.
std::vector<double> axis_norms(const Tensor& w, int64_t ax, bool l2) {
    const Shape& s = w.shape();
    HQ_ASSERT(w.dtype() == DType::F32 && ax < (int64_t)s.size());
    int64_t outer = 1, inner = 1;
    const int64_t ch = s[(size_t)ax];
    for (int64_t i = 0; i < ax; ++i) outer *= s[(size_t)i];
    for (size_t i = (size_t)ax + 1; i < s.size(); ++i) inner *= s[i];
    std::vector<double> v((size_t)ch, 0.0);
    const float* d = w.data<float>();
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t k = 0; k < ch; ++k) {
            const float* p = d + (o * ch + k) * inner;
            double acc = 0;
            for (int64_t j = 0; j < inner; ++j) acc += l2 ? (double)p[j] * p[j] : std::fabs((double)p[j]);
            v[(size_t)k] += acc;
        }
    if (l2)
        for (auto& x : v) x = std::sqrt(x);
    return v;
}

}  // namespace

std::vector<double> channel_norms(const graph::Node& n, const Tensor& w, Criterion c) {
    HQ_ASSERT(c != Criterion::Activation, "channel_norms: the activation criterion is not a filter norm");
    return axis_norms(w, weight_out_axis(n), c == Criterion::L2);
}

Tensor slice_axis(const Tensor& t, int64_t axis, const std::vector<int64_t>& keep) {
    HQ_ASSERT(t.dtype() != DType::String && axis >= 0 && axis < t.rank());
    Shape s = t.shape();
    const int64_t ch = s[(size_t)axis];
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= s[(size_t)i];
    for (size_t i = (size_t)axis + 1; i < s.size(); ++i) inner *= s[i];
    s[(size_t)axis] = (int64_t)keep.size();
    Tensor r(t.dtype(), s);
    const size_t row = (size_t)inner * dtype_size(t.dtype());
    const auto* src = static_cast<const unsigned char*>(t.raw());
    auto* dst = static_cast<unsigned char*>(r.raw());
    const int64_t k = (int64_t)keep.size();
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < k; ++j) {
            HQ_ASSERT(keep[(size_t)j] >= 0 && keep[(size_t)j] < ch);
            std::memcpy(dst + (size_t)(o * k + j) * row, src + (size_t)(o * ch + keep[(size_t)j]) * row, row);
        }
    return r;
}

namespace {

struct Keep {
    bool all = true;
    std::vector<int64_t> kept;  // ascending
};

// Indices kept along a layout's axis; nullopt when nothing is removed.
std::optional<std::vector<int64_t>> kept_indices(const ChannelAnalysis& a, const std::vector<Keep>& keep,
                                                 const ChannelLayout& l) {
    bool all = true;
    for (const auto& run : l.runs) all &= keep[(size_t)a.find(run.group)].all;
    if (all) return std::nullopt;
    std::vector<int64_t> idx;
    int64_t off = 0;
    for (const auto& run : l.runs) {
        const Keep& k = keep[(size_t)a.find(run.group)];
        if (k.all) {
            for (int64_t i = 0; i < run.channels * run.inner; ++i) idx.push_back(off + i);
        } else {
            for (int64_t c : k.kept)
                for (int64_t j = 0; j < run.inner; ++j) idx.push_back(off + c * run.inner + j);
        }
        off += run.channels * run.inner;
    }
    return idx;
}

// The initializer read by input `k` of node `ni`, copied under a new name first when anything else reads it.
Tensor& writable(graph::Graph& g, size_t ni, size_t k) {
    std::string name = g.nodes[ni].inputs[k];
    int uses = g.is_graph_output(name) ? 1 : 0;
    for (const auto& n : g.nodes)
        for (const auto& in : n.inputs) uses += in == name;
    if (uses > 1) {
        std::string fresh = g.unique_name(name + "_pruned");
        g.initializers[fresh] = g.initializers.at(name).clone();
        g.nodes[ni].inputs[k] = fresh;
        name = fresh;
    }
    return g.initializers.at(name);
}

std::string reason_for(const ChannelGroup& grp, const std::string& node) {
    for (const auto& r : grp.blocked)
        if (r.node == node) return r.text;
    const BlockReason& r = grp.blocked.front();
    if (r.node.empty()) return r.text;
    return "channels tied to '" + r.node + "', which is not channel-pruned (" + r.text + ")";
}

int64_t kept_count(int64_t channels, int64_t removed, int64_t multiple) {
    int64_t kept = std::max<int64_t>(1, channels - removed);
    if (multiple > 1) kept = std::min(channels, (kept + multiple - 1) / multiple * multiple);
    return kept;
}

// An edit that slices a layer's weight along its input-channel axis: the layer loses input channels.
bool is_input_slice(const graph::Graph& g, const ChannelEdit& e) {
    if (e.kind != ChannelEdit::Kind::Slice || e.input != 1) return false;
    const graph::Node& n = g.nodes[e.node];
    if (!n.domain.empty()) return false;
    if (n.op_type != "Conv" && n.op_type != "ConvTranspose" && n.op_type != "Gemm" && n.op_type != "MatMul")
        return false;
    return e.axis == weight_in_axis(n);
}

// Indices of 0..n-1 not in `kept` (ascending).
std::vector<int64_t> complement(int64_t n, const std::vector<int64_t>& kept) {
    std::vector<int64_t> r;
    size_t j = 0;
    for (int64_t c = 0; c < n; ++c) {
        if (j < kept.size() && kept[j] == c)
            ++j;
        else
            r.push_back(c);
    }
    return r;
}

// Statistics of tensor `v` when both moments have `size` channels.
struct Moments {
    const std::vector<double>* mean = nullptr;
    const std::vector<double>* square = nullptr;
};
std::optional<Moments> moments(const ChannelStats* st, const std::string& v, int64_t size, bool need_square) {
    if (!st) return std::nullopt;
    auto m = st->mean.find(v);
    if (m == st->mean.end() || (int64_t)m->second.size() != size) return std::nullopt;
    Moments r{&m->second, nullptr};
    if (need_square) {
        auto q = st->mean_square.find(v);
        if (q == st->mean_square.end() || (int64_t)q->second.size() != size) return std::nullopt;
        r.square = &q->second;
    }
    return r;
}

}  // namespace

std::map<size_t, ChannelOutcome> prune_channels(graph::Model& m, const std::map<size_t, double>& selected,
                                                const std::map<size_t, std::string>& not_selected,
                                                const ChannelOptions& o, std::map<size_t, InputOutcome>* inputs) {
    HQ_CHECK(o.multiple >= 1, "--channel-multiple ", o.multiple, ": expected an integer >= 1");
    graph::Graph& g = m.graph;
    const ChannelAnalysis a = analyze_channels(m, not_selected);

    // Activation criterion: per group, the effect of each channel on the layers that read it.
    std::map<int, std::vector<double>> effect;
    std::set<int> incomplete;
    if (o.criterion == Criterion::Activation) {
        HQ_CHECK(o.stats, "the activation criterion needs activation statistics of the calibration data (--data)");
        for (const ChannelEdit& e : a.edits) {
            if (!is_input_slice(g, e)) continue;
            const graph::Node& n = g.nodes[e.node];
            const Tensor& w = g.initializers.at(n.input(1));
            auto mo = moments(o.stats, n.input(0), e.layout.size(), true);
            const std::vector<double> col = axis_norms(w, e.axis, true);
            HQ_ASSERT((int64_t)col.size() == e.layout.size());
            int64_t off = 0;
            for (const auto& run : e.layout.runs) {
                const int root = a.find(run.group);
                if (!mo) {
                    incomplete.insert(root);
                } else {
                    auto& v = effect[root];
                    if (v.empty()) v.assign((size_t)run.channels, 0.0);
                    HQ_ASSERT((int64_t)v.size() == run.channels);
                    for (int64_t c = 0; c < run.channels; ++c)
                        for (int64_t j = 0; j < run.inner; ++j) {
                            const size_t idx = (size_t)(off + c * run.inner + j);
                            // Compensation restores the mean: what is lost is the deviation from it (the
                            // standard deviation); without it, the whole signal (the root mean square).
                            const double mu = (*mo->mean)[idx], sq = (*mo->square)[idx];
                            const double lost = o.compensate ? std::max(0.0, sq - mu * mu) : std::max(0.0, sq);
                            v[(size_t)c] += std::sqrt(lost) * col[idx];
                        }
                }
                off += run.channels * run.inner;
            }
        }
    }

    // Prunable groups: roots with sources, not blocked. Their norms summed over the group's layers.
    struct Pool {
        int root;
        double sparsity;
        std::vector<double> norm;
        std::vector<int64_t> order;  // channels by ascending norm (ties: lower index first)
    };
    std::vector<Pool> pools;
    for (size_t gi = 0; gi < a.groups.size(); ++gi) {
        const ChannelGroup& grp = a.groups[gi];
        if (grp.parent >= 0 || grp.sources.empty() || !grp.blocked.empty()) continue;
        Pool p{(int)gi, -1.0, std::vector<double>((size_t)grp.channels, 0.0), {}};
        size_t first = grp.sources.front();
        for (size_t src : grp.sources) {
            auto it = selected.find(src);
            HQ_ASSERT(it != selected.end(), "source '", g.nodes[src].name, "' of an unblocked group was not selected");
            if (p.sparsity < 0) {
                p.sparsity = it->second;
            } else if (!o.global && std::fabs(p.sparsity - it->second) > 1e-12) {
                HQ_FAIL("layers '", g.nodes[first].name, "' and '", g.nodes[src].name,
                        "' share their output channels (one channel group) but ask for sparsities ", p.sparsity,
                        " and ", it->second, "; give them the same sparsity");
            }
            const graph::Node& n = g.nodes[src];
            if (o.criterion == Criterion::Activation && effect.count((int)gi) && !incomplete.count((int)gi)) continue;
            auto nv = channel_norms(n, g.initializers.at(n.input(1)),
                                    o.criterion == Criterion::Activation ? Criterion::L1 : o.criterion);
            HQ_ASSERT((int64_t)nv.size() == grp.channels);
            for (size_t c = 0; c < nv.size(); ++c) p.norm[c] += nv[c];
        }
        if (o.criterion == Criterion::Activation && effect.count((int)gi) && !incomplete.count((int)gi)) {
            HQ_ASSERT((int64_t)effect.at((int)gi).size() == grp.channels);
            p.norm = effect.at((int)gi);
        }
        p.order.resize(p.norm.size());
        std::iota(p.order.begin(), p.order.end(), 0);
        std::stable_sort(p.order.begin(), p.order.end(),
                         [&](int64_t x, int64_t y) { return p.norm[(size_t)x] < p.norm[(size_t)y]; });
        pools.push_back(std::move(p));
    }

    // Channels removed per group (a prefix of its order).
    std::vector<int64_t> removed(pools.size(), 0);
    if (!o.global) {
        for (size_t i = 0; i < pools.size(); ++i) {
            const int64_t ch = (int64_t)pools[i].norm.size();
            // Nearest whole number of channels; a tie keeps the channel (0.5 of a channel removes none).
            const int64_t want = std::max<int64_t>(0, (int64_t)std::ceil(pools[i].sparsity * (double)ch - 0.5 - 1e-9));
            removed[i] = ch - kept_count(ch, want, o.multiple);
        }
    } else {
        // One threshold over norms divided by their group's mean norm; every group keeps at least
        // max(1, ceil(min_keep * channels)).
        HQ_CHECK(o.sparsity >= 0 && o.sparsity < 1, "--sparsity ", o.sparsity, ": expected a fraction in [0, 1)");
        struct Item {
            double v;
            size_t pool;
            int64_t rank;
        };
        std::vector<Item> items;
        std::vector<int64_t> cap(pools.size());
        int64_t total = 0, capacity = 0;
        for (size_t i = 0; i < pools.size(); ++i) {
            const int64_t ch = (int64_t)pools[i].norm.size();
            double mean = std::accumulate(pools[i].norm.begin(), pools[i].norm.end(), 0.0) / (double)ch;
            for (int64_t r = 0; r < ch; ++r) {
                double v = pools[i].norm[(size_t)pools[i].order[(size_t)r]];
                items.push_back({mean > 0 ? v / mean : 0.0, i, r});
            }
            total += ch;
            cap[i] = ch - std::max<int64_t>(1, (int64_t)std::ceil(o.min_keep * (double)ch - 1e-9));
            capacity += cap[i];
        }
        const int64_t want = (int64_t)std::llround(o.sparsity * (double)total);
        HQ_CHECK(want <= capacity, "--sparsity ", o.sparsity, " over ", total, " channels needs ", want,
                 " removed but every layer keeps at least ", o.min_keep, " of its channels (at most ", capacity, ")");
        std::stable_sort(items.begin(), items.end(), [](const Item& x, const Item& y) {
            if (x.v != y.v) return x.v < y.v;
            return x.pool != y.pool ? x.pool < y.pool : x.rank < y.rank;
        });
        int64_t taken = 0;
        for (const Item& it : items) {
            if (taken == want) break;
            if (removed[it.pool] >= cap[it.pool]) continue;
            ++removed[it.pool];
            ++taken;
        }
        for (size_t i = 0; i < pools.size(); ++i) {
            const int64_t ch = (int64_t)pools[i].norm.size();
            removed[i] = ch - kept_count(ch, removed[i], o.multiple);
        }
    }

    std::vector<Keep> keep(a.groups.size());
    std::map<int, double> target;
    for (size_t i = 0; i < pools.size(); ++i) {
        const int64_t ch = (int64_t)pools[i].norm.size();
        target[pools[i].root] = (double)removed[i] / (double)ch;
        if (removed[i] == 0) continue;
        Keep& k = keep[(size_t)pools[i].root];
        k.all = false;
        k.kept.assign(pools[i].order.begin() + removed[i], pools[i].order.end());
        std::sort(k.kept.begin(), k.kept.end());
    }

    // Outcomes are computed on the analysis (node indices are stable: no node is added or removed).
    std::map<size_t, ChannelOutcome> out;
    auto removed_of = [&](const ChannelLayout& l) {
        auto idx = kept_indices(a, keep, l);
        return idx ? complement(l.size(), *idx) : std::vector<int64_t>{};
    };
    for (const auto& [ni, lc] : a.layers) {
        const bool sel = selected.count(ni) != 0;
        if (!sel) continue;
        ChannelOutcome oc;
        oc.depthwise = lc.depthwise;
        oc.channels = lc.out.size();
        const std::string& name = g.nodes[ni].name;
        if (lc.out.runs.empty()) {
            oc.skipped_reason = lc.not_source.empty() ? "no output channels to prune" : lc.not_source;
            out[ni] = oc;
            continue;
        }
        std::vector<int> roots = a.roots(lc.out);
        for (int r : roots)
            for (size_t src : a.groups[(size_t)r].sources)
                if (src != ni) oc.tied_to.push_back(g.nodes[src].name);
        std::sort(oc.tied_to.begin(), oc.tied_to.end());
        oc.tied_to.erase(std::unique(oc.tied_to.begin(), oc.tied_to.end()), oc.tied_to.end());
        oc.removed = removed_of(lc.out);
        oc.target = oc.channels ? (double)oc.removed.size() / (double)oc.channels : 0.0;
        if (!lc.depthwise) {
            const ChannelGroup& grp = a.groups[(size_t)roots[0]];
            if (!grp.blocked.empty()) oc.skipped_reason = reason_for(grp, name);
            auto t = target.find(roots[0]);
            if (t != target.end()) oc.target = t->second;
        } else if (oc.removed.empty()) {
            for (int r : roots)
                if (!a.groups[(size_t)r].blocked.empty()) {
                    oc.skipped_reason = lc.not_source + "; " + reason_for(a.groups[(size_t)r], name);
                    break;
                }
            if (oc.skipped_reason.empty() && roots.size() == 1 && a.groups[(size_t)roots[0]].sources.empty())
                oc.skipped_reason = lc.not_source;
        }
        out[ni] = oc;
    }

    // Layers losing input channels, and (compensate) the removed channels' mean contribution, from the weights
    // as they are before the edits.
    std::map<size_t, InputOutcome> ins;
    for (const ChannelEdit& e : a.edits) {
        if (!is_input_slice(g, e)) continue;
        auto idx = kept_indices(a, keep, e.layout);
        if (!idx) continue;
        InputOutcome io;
        io.channels = e.layout.size();
        io.removed = complement(io.channels, *idx);
        if (o.compensate) {
            const graph::Node& n = g.nodes[e.node];
            io.note = bias_blocker(m, e.node);
            auto mo = moments(o.stats, n.input(0), io.channels, false);
            if (io.note.empty() && !mo)
                io.note =
                    "no statistics of its input '" + n.input(0) + "' with " + std::to_string(io.channels) + " channels";
            if (io.note.empty())
                io.delta = removed_contribution(n, g.initializers.at(n.input(1)), io.removed, *mo->mean);
        }
        ins[e.node] = std::move(io);
    }

    // The edits, in analysis order.
    for (const ChannelEdit& e : a.edits) {
        auto idx = kept_indices(a, keep, e.layout);
        if (!idx) continue;
        switch (e.kind) {
            case ChannelEdit::Kind::Slice: {
                Tensor& t = writable(g, e.node, e.input);
                HQ_ASSERT(t.dim(e.axis) == e.layout.size(), "'", g.nodes[e.node].input(e.input), "' axis ", e.axis);
                t = slice_axis(t, e.axis, *idx);
                break;
            }
            case ChannelEdit::Kind::GroupAttr: {
                graph::Attribute at;
                at.kind = graph::Attribute::Kind::Int;
                at.i = (int64_t)idx->size();
                g.nodes[e.node].attrs["group"] = at;
                break;
            }
            case ChannelEdit::Kind::ResizeSizes: {
                Tensor& t = writable(g, e.node, e.input);
                Tensor sizes = Tensor::from_i64(t.shape(), t.to_i64());
                sizes.data<int64_t>()[e.axis] = (int64_t)idx->size();
                t = sizes;
                break;
            }
            case ChannelEdit::Kind::ValueShape: {
                auto it = g.value_info.find(e.value);
                if (it != g.value_info.end() && it->second.has_shape && e.axis < (int64_t)it->second.dims.size())
                    it->second.dims[(size_t)e.axis] = graph::Dim{(int64_t)idx->size(), ""};
                break;
            }
        }
    }

    // Bias changes of the layers whose own output channels were removed too: only the kept outputs.
    for (auto& [ni, io] : ins) {
        if (!io.delta) continue;
        auto lc = a.layers.find(ni);
        if (lc == a.layers.end() || lc->second.out.runs.empty()) continue;
        auto kept = kept_indices(a, keep, lc->second.out);
        if (!kept) continue;
        HQ_ASSERT((int64_t)io.delta->size() == lc->second.out.size(), g.nodes[ni].label());
        std::vector<double> d;
        for (int64_t k : *kept) d.push_back((*io.delta)[(size_t)k]);
        io.delta = std::move(d);
    }
    if (inputs) *inputs = std::move(ins);
    return out;
}

}  // namespace hq::prune

#include "prune/channel_graph.h"

#include <algorithm>
#include <optional>
#include <set>

#include "core/error.h"

namespace hq::prune {

int64_t ChannelLayout::size() const {
    int64_t n = 0;
    for (const auto& r : runs) n += r.channels * r.inner;
    return n;
}

int ChannelAnalysis::find(int g) const {
    while (groups[(size_t)g].parent >= 0) g = groups[(size_t)g].parent;
    return g;
}

std::vector<int> ChannelAnalysis::roots(const ChannelLayout& l) const {
    std::vector<int> r;
    for (const auto& run : l.runs) r.push_back(find(run.group));
    return r;
}

int64_t weight_out_axis(const graph::Node& n) {
    if (n.op_type == "ConvTranspose" || n.op_type == "MatMul") return 1;
    if (n.op_type == "Gemm") return n.attr_int("transB", 0) ? 0 : 1;
    return 0;
}

namespace {

// Elementwise ops of one tensor input whose output channel c depends only on input channel c. Extra inputs
// (Clip's min/max) are scalars.
// clang-format off
const std::set<std::string> kUnary = {
    "Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu", "Celu", "Softplus",
    "Softsign", "Gelu", "Mish", "Erf", "Exp", "Log", "Neg", "Abs", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round",
    "Sign", "Sin", "Cos", "Identity", "Cast", "Dropout", "ThresholdedRelu", "Shrink"};
// Broadcasting elementwise ops: the channels of every input line up (or broadcast from size 1).
const std::set<std::string> kElementwise = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "PRelu",
                                            "Where"};
// Ops over the spatial axes of NCHW tensors.
const std::set<std::string> kPool = {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool",
                                     "GlobalLpPool"};
// clang-format on

void collect_captured(const graph::Graph& g, std::set<std::string>& names) {
    for (const auto& n : g.nodes) {
        for (const auto& [k, a] : n.attrs) {
            std::vector<std::shared_ptr<graph::Graph>> subs = a.graphs;
            if (a.g) subs.push_back(a.g);
            for (const auto& s : subs) {
                if (!s) continue;
                for (const auto& sn : s->nodes) names.insert(sn.inputs.begin(), sn.inputs.end());
                for (const auto& o : s->outputs) names.insert(o.name);
                collect_captured(*s, names);
            }
        }
    }
}

class Analyzer {
public:
    Analyzer(const graph::Model& m, const SourceFilter& filter)
        : m_(m), g_(m.graph), filter_(filter), cons_(m.graph.consumers()) {
        collect_captured(g_, captured_);
    }

    ChannelAnalysis run() {
        for (size_t i = 0; i < g_.nodes.size(); ++i) visit(i, g_.nodes[i]);
        return std::move(a_);
    }

private:
    const graph::Model& m_;
    const graph::Graph& g_;
    const SourceFilter& filter_;
    std::map<std::string, std::vector<size_t>> cons_;
    std::set<std::string> captured_;
    std::map<std::string, ChannelLayout> lay_;
    ChannelAnalysis a_;

    const ChannelLayout* layout_of(const std::string& v) const {
        auto it = lay_.find(v);
        return v.empty() || it == lay_.end() ? nullptr : &it->second;
    }
    const Tensor* constant(const std::string& v) const {
        auto it = g_.initializers.find(v);
        return v.empty() || it == g_.initializers.end() ? nullptr : &it->second;
    }
    std::optional<int64_t> rank_of(const std::string& v) const {
        if (const Tensor* t = constant(v)) return t->rank();
        const graph::ValueInfo* vi = g_.find_value(v);
        if (!vi || !vi->has_shape) return std::nullopt;
        return (int64_t)vi->dims.size();
    }
    std::optional<int64_t> dim_of(const std::string& v, int64_t axis) const {
        if (const Tensor* t = constant(v))
            return axis < t->rank() ? std::optional<int64_t>(t->dim(axis)) : std::nullopt;
        const graph::ValueInfo* vi = g_.find_value(v);
        if (!vi || !vi->has_shape || axis >= (int64_t)vi->dims.size() || !vi->dims[(size_t)axis].known())
            return std::nullopt;
        return vi->dims[(size_t)axis].value;
    }

    int new_group(int64_t channels) {
        ChannelGroup g;
        g.channels = channels;
        a_.groups.push_back(g);
        return (int)a_.groups.size() - 1;
    }
    void block(const ChannelLayout& l, const std::string& why) {
        for (const auto& r : l.runs) a_.groups[(size_t)a_.find(r.group)].blocked.push_back({"", why});
    }
    // Blocks the groups of every input of `n` that has channels, with `why` (default: the node stops them).
    void block_inputs(const graph::Node& n, std::string why = "") {
        if (why.empty()) why = "channels reach " + n.label();
        for (const auto& in : n.inputs)
            if (const ChannelLayout* l = layout_of(in)) block(*l, why);
    }
    void unite(int x, int y) {
        int rx = a_.find(x), ry = a_.find(y);
        if (rx == ry) return;
        if (ry < rx) std::swap(rx, ry);
        ChannelGroup &gx = a_.groups[(size_t)rx], &gy = a_.groups[(size_t)ry];
        HQ_ASSERT(gx.channels == gy.channels);
        gy.parent = rx;
        gx.sources.insert(gx.sources.end(), gy.sources.begin(), gy.sources.end());
        std::sort(gx.sources.begin(), gx.sources.end());
        gx.blocked.insert(gx.blocked.end(), gy.blocked.begin(), gy.blocked.end());
    }
    static bool same_runs(const ChannelLayout& a, const ChannelLayout& b) {
        if (a.runs.size() != b.runs.size()) return false;
        for (size_t i = 0; i < a.runs.size(); ++i)
            if (a.runs[i].channels != b.runs[i].channels || a.runs[i].inner != b.runs[i].inner) return false;
        return true;
    }

    // Gives value `v` the layout `l` (rank and axis set by the caller), or blocks its groups when the value's
    // shape does not confirm it or the value leaves the graph.
    void set_out(const std::string& v, const ChannelLayout& l) {
        if (v.empty()) return;
        const graph::ValueInfo* vi = g_.find_value(v);
        if (!vi || !vi->has_shape || (int64_t)vi->dims.size() != l.rank) {
            block(l, "shape of '" + v + "' is unknown");
            return;
        }
        const graph::Dim& d = vi->dims[(size_t)l.axis];
        if (d.known() && d.value != l.size()) {
            block(l, "'" + v + "' has " + std::to_string(d.value) + " channels, expected " + std::to_string(l.size()));
            return;
        }
        if (g_.is_graph_output(v)) block(l, "channels reach graph output '" + v + "'");
        if (captured_.count(v)) block(l, "channels reach a subgraph ('" + v + "')");
        lay_[v] = l;
        ChannelEdit e;
        e.kind = ChannelEdit::Kind::ValueShape;
        e.value = v;
        e.axis = l.axis;
        e.layout = l;
        a_.edits.push_back(e);
    }
    void slice(size_t node, size_t input, int64_t axis, const ChannelLayout& l) {
        ChannelEdit e;
        e.kind = ChannelEdit::Kind::Slice;
        e.node = node;
        e.input = input;
        e.axis = axis;
        e.layout = l;
        a_.edits.push_back(e);
    }
    // Passes the channels of input 0 to output 0 unchanged (only the rank may differ).
    void pass(const graph::Node& n, const ChannelLayout& in, int64_t axis_out) {
        auto r = rank_of(n.outputs[0]);
        if (!r) {
            block(in, "shape of '" + n.outputs[0] + "' is unknown");
            return;
        }
        ChannelLayout o = in;
        o.rank = *r;
        o.axis = axis_out;
        set_out(n.outputs[0], o);
    }
    bool extra_outputs_used(const graph::Node& n) const {
        for (size_t k = 1; k < n.outputs.size(); ++k)
            if (!n.outputs[k].empty() && (cons_.count(n.outputs[k]) || g_.is_graph_output(n.outputs[k]))) return true;
        return false;
    }
    // Layout inputs other than input 0: channels reaching a parameter slot.
    bool params_have_channels(const graph::Node& n) const {
        for (size_t k = 1; k < n.inputs.size(); ++k)
            if (layout_of(n.inputs[k])) return true;
        return false;
    }

    void visit(size_t i, const graph::Node& n) {
        if (!n.domain.empty()) return block_inputs(n);
        const std::string& op = n.op_type;
        if (op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul") return layer(i, n);
        bool any = false;
        for (const auto& in : n.inputs) any |= layout_of(in) != nullptr;
        if (!any || n.outputs.empty()) return;
        if (kElementwise.count(op)) return elementwise(i, n);
        if (op == "Concat") return concat(n);
        const ChannelLayout* in = layout_of(n.input(0));
        if (!in || params_have_channels(n)) return block_inputs(n);
        if (kUnary.count(op)) {
            if (extra_outputs_used(n) && op != "Dropout") return block_inputs(n);
            for (size_t k = 0; k < n.outputs.size() && (k == 0 || op == "Dropout"); ++k) {
                ChannelLayout o = *in;
                set_out(n.outputs[k], o);
            }
            return;
        }
        if (kPool.count(op)) {
            if (in->axis != 1 || extra_outputs_used(n)) return block_inputs(n);
            return pass(n, *in, 1);
        }
        if (op == "BatchNormalization" || op == "InstanceNormalization") {
            size_t np = op == "BatchNormalization" ? 4 : 2;
            if (in->axis != 1 || extra_outputs_used(n)) return block_inputs(n);
            for (size_t k = 1; k <= np; ++k) {
                const Tensor* t = constant(n.input(k));
                if (!t || t->numel() != in->size()) return block_inputs(n, n.label() + " has a non-constant parameter");
            }
            for (size_t k = 1; k <= np; ++k) slice(i, k, 0, *in);
            return pass(n, *in, 1);
        }
        if (op == "Resize" || op == "Upsample") return resize(i, n, *in);
        if (op == "Flatten") return flatten(n, *in);
        if (op == "Squeeze" || op == "Unsqueeze") return squeeze(n, *in);
        if (op == "QuantizeLinear" || op == "DequantizeLinear") return qdq(i, n, *in);
        if (op == "Pad") return pad(n, *in);
        block_inputs(n);
    }

    void source(size_t i, const graph::Node& n, LayerChannels& lc, int64_t channels, bool last_axis,
                const std::vector<std::pair<size_t, int64_t>>& params) {
        auto r = rank_of(n.outputs[0]);
        int gid = new_group(channels);
        a_.groups[(size_t)gid].sources.push_back(i);
        auto f = filter_.find(i);
        if (f != filter_.end() && !f->second.empty()) a_.groups[(size_t)gid].blocked.push_back({n.name, f->second});
        lc.group = gid;
        ChannelLayout l;
        l.runs.push_back({gid, channels, 1});
        lc.out = l;
        if (!r) {
            a_.groups[(size_t)gid].blocked.push_back({"", "shape of '" + n.outputs[0] + "' is unknown"});
            return;
        }
        l.rank = *r;
        l.axis = last_axis ? *r - 1 : 1;
        if (l.axis < 0) {
            a_.groups[(size_t)gid].blocked.push_back({"", "output of rank 0"});
            return;
        }
        for (const auto& [k, axis] : params)
            if (!n.input(k).empty()) slice(i, k, axis, l);
        set_out(n.outputs[0], l);
    }

    void layer(size_t i, const graph::Node& n) {
        LayerChannels lc;
        lc.node = i;
        const ChannelLayout* in = layout_of(n.input(0));
        const Tensor* w = constant(n.input(1));
        if (params_have_channels(n)) block_inputs(n, "channels reach a weight input of " + n.label());
        if (!w || w->dtype() != DType::F32) {
            if (in) block(*in, "channels reach " + n.label() + ", whose weight is not a constant");
            lc.not_source = "weight is not a constant float tensor";
            a_.layers[i] = lc;
            return;
        }
        const Shape& ws = w->shape();
        const std::string& op = n.op_type;
        std::string bad_rank = "weight of rank " + std::to_string(ws.size());
        if (op == "Conv" || op == "ConvTranspose") {
            if (ws.size() < 3) {
                if (in) block(*in, "channels reach " + n.label() + " (" + bad_rank + ")");
                lc.not_source = bad_rank;
            } else if (op == "Conv") {
                conv(i, n, lc, in, ws);
            } else {
                int64_t grp = n.attr_int("group", 1);
                if (in) {
                    if (in->axis != 1 || grp != 1)
                        block(*in, "channels reach " + n.label() + (grp != 1 ? " (grouped)" : ""));
                    else
                        slice(i, 1, 0, *in);
                }
                if (grp != 1)
                    lc.not_source = "grouped ConvTranspose (group " + std::to_string(grp) + ")";
                else
                    source(i, n, lc, ws[1], false, {{1, 1}, {2, 0}});
            }
        } else if (op == "Gemm") {
            const bool ta = n.attr_int("transA", 0) != 0, tb = n.attr_int("transB", 0) != 0;
            if (ws.size() != 2) {
                if (in) block(*in, "channels reach " + n.label() + " (" + bad_rank + ")");
                lc.not_source = bad_rank;
            } else {
                if (in) {
                    if (ta || in->axis != 1 || in->rank != 2)
                        block(*in, "channels reach " + n.label() + " along a non-reduction axis");
                    else
                        slice(i, 1, tb ? 1 : 0, *in);
                }
                const int64_t cn = tb ? ws[0] : ws[1];
                std::vector<std::pair<size_t, int64_t>> params{{1, tb ? 0 : 1}};
                if (!n.input(2).empty()) {
                    auto rc = rank_of(n.input(2));
                    auto last = rc && *rc > 0 ? dim_of(n.input(2), *rc - 1) : std::optional<int64_t>(1);
                    if (!rc || !last || (*last != 1 && *last != cn))
                        lc.not_source = "bias C of unknown or unusual shape";
                    else if (*last == cn && !constant(n.input(2)))
                        lc.not_source = "bias C is not a constant";
                    else if (*last == cn && cn != 1)
                        params.push_back({2, *rc - 1});
                }
                if (lc.not_source.empty()) source(i, n, lc, cn, false, params);
            }
        } else {  // MatMul
            if (ws.size() != 2) {
                if (in) block(*in, "channels reach " + n.label() + " (" + bad_rank + ")");
                lc.not_source = bad_rank;
            } else {
                if (in) {
                    if (in->axis != in->rank - 1)
                        block(*in, "channels reach " + n.label() + " along a non-reduction axis");
                    else
                        slice(i, 1, 0, *in);
                }
                source(i, n, lc, ws[1], true, {{1, 1}});
            }
        }
        a_.layers[i] = lc;
    }

    void conv(size_t i, const graph::Node& n, LayerChannels& lc, const ChannelLayout* in, const Shape& ws) {
        const int64_t grp = n.attr_int("group", 1);
        const bool dw = grp > 1 && ws[1] == 1 && ws[0] % grp == 0;
        if (in) {
            if (in->axis != 1) {
                block(*in, "channels reach " + n.label() + " along a non-channel axis");
            } else if (grp == 1) {
                slice(i, 1, 1, *in);
            } else if (dw && in->size() == grp) {
                auto r = rank_of(n.outputs[0]);
                ChannelLayout o = *in;
                for (auto& run : o.runs) run.inner *= ws[0] / grp;
                if (r) o.rank = *r;
                slice(i, 1, 0, o);
                if (!n.input(2).empty()) {
                    if (constant(n.input(2)))
                        slice(i, 2, 0, o);
                    else
                        block(*in, n.label() + " has a non-constant bias");
                }
                auto f = filter_.find(i);
                if (f != filter_.end() && !f->second.empty())
                    for (const auto& run : in->runs)
                        a_.groups[(size_t)a_.find(run.group)].blocked.push_back({n.name, f->second});
                ChannelEdit e;
                e.kind = ChannelEdit::Kind::GroupAttr;
                e.node = i;
                e.layout = *in;
                a_.edits.push_back(e);
                lc.depthwise = true;
                lc.group = in->runs.size() == 1 ? in->runs[0].group : -1;
                lc.out = o;
                lc.not_source = "depthwise convolution: its channels follow its input's";
                if (!r) {
                    block(*in, "shape of '" + n.outputs[0] + "' is unknown");
                    return;
                }
                set_out(n.outputs[0], o);
                return;
            } else {
                block(*in, "channels reach grouped " + n.label() + " (group " + std::to_string(grp) + ")");
            }
        }
        if (grp != 1) {
            lc.depthwise = dw;
            lc.not_source = dw ? "depthwise convolution: its channels follow its input's"
                               : "grouped convolution (group " + std::to_string(grp) + ")";
            return;
        }
        source(i, n, lc, ws[0], false, {{1, 0}, {2, 0}});
    }

    void elementwise(size_t i, const graph::Node& n) {
        auto r = rank_of(n.outputs[0]);
        if (!r) return block_inputs(n, "shape of '" + n.outputs[0] + "' is unknown");
        const ChannelLayout* ref = nullptr;
        int64_t axis = -1;
        for (const auto& in : n.inputs) {
            const ChannelLayout* l = layout_of(in);
            if (!l) continue;
            int64_t ax = l->axis + (*r - l->rank);
            if (!ref) {
                ref = l;
                axis = ax;
            } else if (ax != axis) {
                return block_inputs(n, "channels meet along different axes at " + n.label());
            } else if (!same_runs(*ref, *l)) {
                return block_inputs(n, "channels of different layouts meet at " + n.label());
            }
        }
        // Other inputs: constants broadcast along the channels or are sliced; a non-constant one must have
        // size 1 there.
        std::vector<std::pair<size_t, int64_t>> slices;
        for (size_t k = 0; k < n.inputs.size(); ++k) {
            const std::string& in = n.inputs[k];
            if (in.empty() || layout_of(in)) continue;
            auto rk = rank_of(in);
            if (!rk) return block_inputs(n, "shape of '" + in + "' (an input of " + n.label() + ") is unknown");
            int64_t p = axis - (*r - *rk);
            if (p < 0) continue;
            auto d = dim_of(in, p);
            if (d && *d == 1) continue;
            if (constant(in) && d && *d == ref->size()) {
                slices.push_back({k, p});
                continue;
            }
            return block_inputs(n, "channels meet '" + in + "' at " + n.label() +
                                       (constant(in) ? " (a constant of another size)" : ", whose channels are fixed"));
        }
        for (const auto& in : n.inputs)
            if (const ChannelLayout* l = layout_of(in))
                for (size_t j = 0; j < l->runs.size(); ++j) unite(ref->runs[j].group, l->runs[j].group);
        for (const auto& [k, p] : slices) slice(i, k, p, *ref);
        ChannelLayout o = *ref;
        o.rank = *r;
        o.axis = axis;
        set_out(n.outputs[0], o);
    }

    void concat(const graph::Node& n) {
        auto r = rank_of(n.outputs[0]);
        if (!r) return block_inputs(n, "shape of '" + n.outputs[0] + "' is unknown");
        int64_t axis = n.attr_int("axis", 1);
        if (axis < 0) axis += *r;
        ChannelLayout o;
        o.rank = *r;
        o.axis = axis;
        for (const auto& in : n.inputs) {
            if (in.empty()) continue;
            if (const ChannelLayout* l = layout_of(in)) {
                if (l->axis + (*r - l->rank) != axis)
                    return block_inputs(n, "channels reach " + n.label() + " (concatenated along another axis)");
                o.runs.insert(o.runs.end(), l->runs.begin(), l->runs.end());
                continue;
            }
            auto d = dim_of(in, axis);
            if (!d) return block_inputs(n, "shape of '" + in + "' (an input of " + n.label() + ") is unknown");
            int fixed = new_group(*d);
            a_.groups[(size_t)fixed].blocked.push_back(
                {"", "concatenated by " + n.label() + " with '" + in + "', whose channels are fixed"});
            o.runs.push_back({fixed, *d, 1});
        }
        set_out(n.outputs[0], o);
    }

    void resize(size_t i, const graph::Node& n, const ChannelLayout& in) {
        if (n.has_attr("axes")) return block_inputs(n);
        const bool old = n.op_type == "Upsample" || m_.opset("") < 11;
        const size_t scales_at = old ? 1 : 2;
        const std::string& sc = n.input(scales_at);
        if (!sc.empty()) {
            const Tensor* t = constant(sc);
            if (!t) return block_inputs(n, "channels reach " + n.label() + " with non-constant scales");
            auto v = t->to_f32();
            if (!v.empty() && ((int64_t)v.size() != in.rank || v[(size_t)in.axis] != 1.0f))
                return block_inputs(n, "channels reach " + n.label() + ", which scales the channel axis");
        }
        const std::string& sz = old ? std::string() : n.input(3);
        if (!sz.empty()) {
            const Tensor* t = constant(sz);
            if (!t) return block_inputs(n, "channels reach " + n.label() + " with non-constant sizes");
            auto v = t->to_i64();
            if ((int64_t)v.size() != in.rank || v[(size_t)in.axis] != in.size())
                return block_inputs(n, "channels reach " + n.label() + ", which resizes the channel axis");
            ChannelEdit e;
            e.kind = ChannelEdit::Kind::ResizeSizes;
            e.node = i;
            e.input = 3;
            e.axis = in.axis;
            e.layout = in;
            a_.edits.push_back(e);
        }
        pass(n, in, in.axis);
    }

    void flatten(const graph::Node& n, const ChannelLayout& in) {
        int64_t axis = n.attr_int("axis", 1);
        if (axis < 0) axis += in.rank;
        if (axis != in.axis)
            return block_inputs(n, "channels reach " + n.label() + ", which merges them with other axes");
        int64_t inner = 1;
        for (int64_t d = axis + 1; d < in.rank; ++d) {
            auto v = dim_of(n.input(0), d);
            if (!v) return block_inputs(n, "channels reach " + n.label() + " with an unknown spatial size");
            inner *= *v;
        }
        ChannelLayout o = in;
        for (auto& run : o.runs) run.inner *= inner;
        o.rank = 2;
        o.axis = 1;
        set_out(n.outputs[0], o);
    }

    void squeeze(const graph::Node& n, const ChannelLayout& in) {
        const bool sq = n.op_type == "Squeeze";
        std::vector<int64_t> axes;
        if (n.has_attr("axes")) {
            axes = n.attr_ints("axes");
        } else if (!n.input(1).empty()) {
            const Tensor* t = constant(n.input(1));
            if (!t) return block_inputs(n, "channels reach " + n.label() + " with non-constant axes");
            axes = t->to_i64();
        } else if (sq) {
            for (int64_t d = 0; d < in.rank; ++d) {
                auto v = dim_of(n.input(0), d);
                if (!v) return block_inputs(n, "channels reach " + n.label() + " with an unknown shape");
                if (*v == 1) axes.push_back(d);
            }
        }
        const int64_t out_rank = sq ? in.rank - (int64_t)axes.size() : in.rank + (int64_t)axes.size();
        for (auto& a : axes) a = a < 0 ? a + (sq ? in.rank : out_rank) : a;
        std::set<int64_t> ax(axes.begin(), axes.end());
        int64_t axis = -1;
        if (sq) {
            if (ax.count(in.axis)) return block_inputs(n);
            axis = in.axis - (int64_t)std::count_if(ax.begin(), ax.end(), [&](int64_t a) { return a < in.axis; });
        } else {
            for (int64_t p = 0, j = 0; p < out_rank; ++p) {
                if (ax.count(p)) continue;
                if (j++ == in.axis) axis = p;
            }
        }
        if (axis < 0) return block_inputs(n);
        pass(n, in, axis);
    }

    void qdq(size_t i, const graph::Node& n, const ChannelLayout& in) {
        const Tensor* scale = constant(n.input(1));
        if (!scale || n.has_attr("block_size")) return block_inputs(n);
        if (scale->numel() > 1) {
            int64_t axis = n.attr_int("axis", 1);
            if (axis < 0) axis += in.rank;
            if (axis != in.axis || scale->numel() != in.size()) return block_inputs(n);
            if (!n.input(2).empty() && !constant(n.input(2))) return block_inputs(n);
            slice(i, 1, 0, in);
            if (!n.input(2).empty()) slice(i, 2, 0, in);
        }
        pass(n, in, in.axis);
    }

    void pad(const graph::Node& n, const ChannelLayout& in) {
        std::vector<int64_t> pads;
        if (n.has_attr("pads")) {
            pads = n.attr_ints("pads");
        } else {
            const Tensor* t = constant(n.input(1));
            if (!t || !n.input(3).empty()) return block_inputs(n);
            pads = t->to_i64();
        }
        if ((int64_t)pads.size() != 2 * in.rank || pads[(size_t)in.axis] != 0 || pads[(size_t)(in.axis + in.rank)] != 0)
            return block_inputs(n, "channels reach " + n.label() + ", which pads the channel axis");
        pass(n, in, in.axis);
    }
};

}  // namespace

ChannelAnalysis analyze_channels(const graph::Model& m, const SourceFilter& blocked_sources) {
    return Analyzer(m, blocked_sources).run();
}

}  // namespace hq::prune

#include "quant/qdq_rewrite.h"

#include "core/error.h"
#include "graph/scoped_view.h"

namespace hq::quant {

int64_t weight_channel_axis(const graph::Node& n, const Tensor& w) {
    if (n.op_type == "Conv") return w.rank() >= 3 ? 0 : -1;
    if (n.op_type == "ConvTranspose") return w.rank() >= 3 ? 1 : -1;
    if (n.op_type == "Gemm") return w.rank() == 2 ? (n.attr_int("transB", 0) ? 0 : 1) : -1;
    if (n.op_type == "MatMul") return w.rank() == 2 ? 1 : -1;
    return -1;
}

namespace {

graph::Attribute int_attr(int64_t v) {
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::Int;
    a.i = v;
    return a;
}

Tensor scalar_zp(const ActParams& p) {
    Tensor z(p.is_signed ? DType::I8 : DType::U8, {});
    if (p.is_signed) z.data<int8_t>()[0] = (int8_t)p.zero_point;
    else z.data<uint8_t>()[0] = (uint8_t)p.zero_point;
    return z;
}

struct Rewriter {
    graph::Model& m;
    graph::Graph& g;
    const QdqOptions& opt;
    std::map<std::string, std::string> act_dq;   // activation -> its dequantized name
    QdqReport report;

    std::string fresh(const std::string& base) {
        std::string n = g.unique_name(base);
        g.initializers[n] = Tensor();  // reserve the name until it is filled
        return n;
    }

    // Q/DQ pair on x with parameters p; returns the dequantized name.
    std::string insert_pair(const std::string& x, const ActParams& p) {
        std::string scale = fresh(x + "_scale"), zp = fresh(x + "_zero_point");
        g.initializers[scale] = Tensor::scalar_f32(p.scale);
        g.initializers[zp] = scalar_zp(p);
        std::string q = fresh(x + "_quantized"), dq = fresh(x + "_dequantized");
        g.initializers.erase(q);
        g.initializers.erase(dq);
        graph::Node qn, dqn;
        qn.op_type = "QuantizeLinear";
        qn.name = g.unique_name(x + "_QuantizeLinear");
        qn.inputs = {x, scale, zp};
        qn.outputs = {q};
        dqn.op_type = "DequantizeLinear";
        dqn.name = g.unique_name(x + "_DequantizeLinear");
        dqn.inputs = {q, scale, zp};
        dqn.outputs = {dq};
        // Appended now (so unique_name sees them); topo_sort places them before their consumers.
        g.nodes.push_back(qn);
        g.nodes.push_back(dqn);
        act_dq[x] = dq;
        report.activations[x] = p;
        return dq;
    }

    // DequantizeLinear(value_q, scale, zero_point[, axis]) feeding `consumer_input`.
    std::string dequantize_const(const std::string& base, const Tensor& q, const std::vector<float>& scales,
                                 int64_t axis, bool per_channel) {
        std::string qn = fresh(base + "_quantized"), sn = fresh(base + "_scale"), zn = fresh(base + "_zero_point");
        g.initializers[qn] = q;
        const int64_t c = (int64_t)scales.size();
        g.initializers[sn] = per_channel ? Tensor::from_f32({c}, scales) : Tensor::scalar_f32(scales[0]);
        g.initializers[zn] = per_channel ? Tensor(q.dtype(), {c}) : Tensor(q.dtype(), {});
        std::string out = fresh(base + "_dequantized");
        g.initializers.erase(out);
        graph::Node dq;
        dq.op_type = "DequantizeLinear";
        dq.name = g.unique_name(base + "_DequantizeLinear");
        dq.inputs = {qn, sn, zn};
        dq.outputs = {out};
        if (per_channel) dq.attrs["axis"] = int_attr(axis);
        g.nodes.push_back(dq);
        return out;
    }
};

}  // namespace

namespace {

// One graph (the model's, or a subgraph handed over on its own by for_each_graph_view).
QdqReport rewrite_graph(graph::Model& m, const Placement& placement,
                        const std::map<std::string, std::pair<float, float>>& ranges, const QdqOptions& opt) {
    graph::Graph& g = m.graph;
    Rewriter rw{m, g, opt, {}, {}};
    rw.report.placement = placement;
    const Placement& pl = rw.report.placement;
    // Activation parameters of every pair, from the calibrated range of its parameter source.
    std::map<std::string, ActParams> params;
    std::map<std::string, std::string> node_label;
    for (const auto& n : g.nodes) node_label[n.name] = n.label();
    for (const auto& p : pl.pairs) {
        auto rit = ranges.find(p.params_from);
        if (rit == ranges.end()) {
            std::string reader = p.all_consumers ? std::string() : *p.consumers.begin();
            HQ_FAIL(reader.empty() ? std::string("tensor '") + p.tensor + "'" : node_label[reader],
                    ": no calibration range for ", reader.empty() ? "it" : "its input '" + p.params_from + "'",
                    " (was the table made for this model?)");
        }
        params[p.tensor] = activation_params(rit->second.first, rit->second.second, opt.int8_activations);
    }
    std::set<std::string> weighted;
    for (const auto& pn : pl.nodes)
        if (pn.role == "weighted") weighted.insert(pn.node);
    const size_t original = g.nodes.size();
    g.nodes.reserve(original * 6 + 16 + pl.pairs.size() * 2);  // no reallocation under `n`
    for (size_t ni = 0; ni < original; ++ni) {
        graph::Node& n = g.nodes[ni];
        if (!weighted.count(n.name)) continue;
        QuantizedLayer ql;
        ql.node = n.name;
        ql.op_type = n.op_type;
        const int wi = g.is_initializer(n.input(1)) ? 1 : (n.op_type == "MatMul" && g.is_initializer(n.input(0)) ? 0 : -1);
        const std::vector<std::string> acts = layer_activations(g, n);
        ql.activation = acts.at(0);
        ql.input = params.at(ql.activation);
        if (wi < 0) {  // activation x activation MatMul: both inputs through their pairs
            ql.weight_axis = -1;
            rw.report.layers.push_back(ql);
            continue;
        }
        const std::string wname = n.input(wi);
        const Tensor w = g.initializers.at(wname);
        int64_t axis = weight_channel_axis(n, w);
        bool per_channel = opt.per_channel && axis >= 0;
        if (wi == 0) per_channel = false;  // weight on the left of MatMul: its channels are not outputs
        const int qmax = opt.reduce_range ? 63 : 127;
        WeightQuant wq = quantize_weight(w, per_channel ? axis : 0, per_channel, qmax);
        std::vector<float> wscales = wq.scales;
        // Bias: int32 with scale s_in * s_w, widening weight scales where it would overflow.
        std::string bias_dq;
        const std::string bname = n.input(2);
        if (opt.target.quantize_bias && (n.op_type == "Conv" || n.op_type == "ConvTranspose" || n.op_type == "Gemm") &&
            !bname.empty() && g.is_initializer(bname)) {
            const Tensor& b = g.initializers.at(bname);
            int64_t oc = per_channel ? (int64_t)wscales.size() : -1;
            bool fits = b.dtype() == DType::F32 && b.rank() == 1 && (oc < 0 || b.numel() == oc);
            if (fits && n.op_type == "Gemm" && n.attr_float("beta", 1.0f) != 1.0f) fits = false;
            if (fits && n.op_type == "Gemm" && n.attr_float("alpha", 1.0f) != 1.0f) fits = false;
            if (fits) {
                bool widened = false;
                std::vector<float> ws = wscales;
                Tensor bq = quantize_bias(b, ql.input.scale, ws, widened);
                if (per_channel || !widened) {
                    wscales = per_channel ? ws : wscales;
                    std::vector<float> bs(bq.numel());
                    for (int64_t c = 0; c < bq.numel(); ++c)
                        bs[c] = ql.input.scale * (per_channel ? wscales[c] : wscales[0]);
                    bias_dq = rw.dequantize_const(bname, bq, bs, 0, true);
                    ql.bias_quantized = true;
                    ql.bias_widened = widened;
                }
            }
        }
        Tensor wq_final = (wscales == wq.scales) ? wq.q : quantize_weight_with(w, axis, wscales, qmax);
        std::string w_dq = rw.dequantize_const(wname, wq_final, wscales, axis, per_channel);
        graph::Node& node = g.nodes[ni];  // g.nodes may have grown
        node.inputs[wi] = w_dq;
        if (!bias_dq.empty()) node.inputs[2] = bias_dq;
        ql.weight_scales = wscales;
        ql.weight_axis = per_channel ? axis : -1;
        rw.report.layers.push_back(ql);
    }
    // The activation pairs, and their readers redirected to the dequantized tensors.
    std::map<std::string, std::pair<const QdqPair*, std::string>> dq_of;
    for (const auto& p : pl.pairs) dq_of[p.tensor] = {&p, rw.insert_pair(p.tensor, params.at(p.tensor))};
    for (size_t ni = 0; ni < original; ++ni) {
        graph::Node& n = g.nodes[ni];
        for (auto& in : n.inputs) {
            auto it = in.empty() ? dq_of.end() : dq_of.find(in);
            if (it == dq_of.end()) continue;
            const QdqPair* p = it->second.first;
            if (p->all_consumers || p->consumers.count(n.name)) in = it->second.second;
        }
    }
    // Graph outputs are never redirected (placement puts no pair on them).
    for (auto it = g.initializers.begin(); it != g.initializers.end();)
        it = it->second.empty() ? g.initializers.erase(it) : std::next(it);
    graph::topo_sort(g);
    return rw.report;
}

}  // namespace

QdqReport rewrite_qdq(graph::Model& m, const Plan& plan, const std::map<std::string, std::pair<float, float>>& ranges,
                      const QdqOptions& opt) {
    HQ_ASSERT(m.opset("") >= 13, "QDQ rewrite needs opset 13, model has ", m.opset(""));
    // The placement of every graph is made on the model as it comes (place_qdq looks into subgraphs the same
    // way), then each graph is rewritten with its own part.
    QdqReport all;
    graph::for_each_graph_view(m, [&](graph::Model& v, const std::string&) {
        Placement pl;
        {
            // place_qdq on a view covers that graph and the subgraphs under it: keep this graph's part only.
            std::set<std::string> here;
            for (const auto& n : v.graph.nodes) here.insert(n.name);
            Placement full = place_qdq(v, plan, opt.target, opt.int8_activations, opt.skip, &ranges);
            for (const auto& pn : full.nodes)
                if (here.count(pn.node)) {
                    pl.nodes.push_back(pn);
                    pl.kernel[pn.node] = pn.kernel;
                }
            for (const auto& p : full.pairs) {
                bool mine = false;
                if (p.all_consumers) {
                    for (const auto& n : v.graph.nodes)
                        for (const auto& o : n.outputs) mine |= o == p.tensor;
                } else {
                    for (const auto& c : p.consumers) mine |= here.count(c) != 0;
                }
                if (mine) pl.pairs.push_back(p);
            }
        }
        if (pl.pairs.empty() && pl.nodes.empty()) return;
        QdqReport r = rewrite_graph(v, pl, ranges, opt);
        for (auto& l : r.layers) all.layers.push_back(std::move(l));
        for (auto& [k, a] : r.activations) all.activations.emplace(k, a);
        for (auto& x : r.placement.pairs) all.placement.pairs.push_back(std::move(x));
        for (auto& x : r.placement.nodes) all.placement.nodes.push_back(std::move(x));
        for (auto& [k, x] : r.placement.kernel) all.placement.kernel[k] = x;
    });
    return all;
}

}  // namespace hq::quant

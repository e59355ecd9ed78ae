// hyquant inspect: what a model holds (inputs/outputs, opsets, ops, parameters, quantizable layers, MACs),
// and `--ops`: the operators the CPU executor implements.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <set>

#include "apps/hyquant/commands.h"
#include "core/error.h"
#include "exec/cpu/cpu_backend.h"
#include "exec/subgraph.h"
#include "graph/scoped_view.h"

namespace hq::app {

namespace {

using json = nlohmann::ordered_json;

json value_json(const graph::ValueInfo& v) {
    json dims = json::array();
    for (const auto& d : v.dims) {
        if (d.known()) dims.push_back(d.value);
        else dims.push_back(d.param.empty() ? json(nullptr) : json(d.param));
    }
    return json{{"name", v.name}, {"dtype", dtype_name(v.dtype)}, {"shape", v.has_shape ? dims : json(nullptr)}};
}

std::optional<Shape> shape_of(const graph::Model& m, const std::string& v) {
    auto it = m.graph.initializers.find(v);
    if (it != m.graph.initializers.end()) return it->second.shape();
    const graph::ValueInfo* vi = m.graph.find_value(v);
    return vi ? vi->static_shape() : std::nullopt;
}

// Multiply-accumulates of one quantizable layer, when the shapes it needs are known.
std::optional<int64_t> layer_macs(const graph::Model& m, const graph::Node& n) {
    auto w = shape_of(m, n.input(1));
    auto y = n.outputs.empty() ? std::nullopt : shape_of(m, n.outputs[0]);
    if (!w || !y) return std::nullopt;
    if (n.op_type == "Conv") {
        if (w->size() < 3) return std::nullopt;
        int64_t k = 1;
        for (size_t i = 1; i < w->size(); ++i) k *= (*w)[i];
        return shape_numel(*y) * k;
    }
    if (n.op_type == "ConvTranspose") {
        auto x = shape_of(m, n.input(0));
        if (!x || w->size() < 3) return std::nullopt;
        int64_t k = 1;
        for (size_t i = 1; i < w->size(); ++i) k *= (*w)[i];
        return shape_numel(*x) * k;
    }
    if (n.op_type == "Gemm") {
        if (w->size() != 2) return std::nullopt;
        int64_t kdim = n.attr_int("transB", 0) ? (*w)[1] : (*w)[0];
        return shape_numel(*y) * kdim;
    }
    if (n.op_type == "MatMul") {
        if (w->empty()) return std::nullopt;
        int64_t kdim = w->size() == 1 ? (*w)[0] : (*w)[w->size() - 2];
        return shape_numel(*y) * kdim;
    }
    return std::nullopt;
}

json inspect_json(const graph::Model& m, const std::string& path) {
    const auto& g = m.graph;
    json j;
    j["model"] = path;
    j["ir_version"] = m.ir_version;
    json ops = json::object();
    for (const auto& [d, v] : m.opsets) ops[d.empty() ? "ai.onnx" : d] = v;
    j["opsets"] = ops;
    j["producer"] = m.producer_name + (m.producer_version.empty() ? "" : " " + m.producer_version);
    j["inputs"] = json::array();
    for (const auto& i : g.inputs) j["inputs"].push_back(value_json(i));
    j["outputs"] = json::array();
    for (const auto& o : g.outputs) j["outputs"].push_back(value_json(o));
    // Nodes, parameters and layers of every graph: If branches and Loop/Scan bodies count too.
    std::map<std::string, int64_t> counts;
    int64_t nodes = 0, sub_nodes = 0, subgraphs = 0, params = 0;
    std::map<std::string, int64_t> bytes;
    graph::for_each_graph(g, [&](const graph::Graph& sg, int depth) {
        for (const auto& n : sg.nodes) counts[(n.domain.empty() ? "" : n.domain + ".") + n.op_type]++;
        nodes += (int64_t)sg.nodes.size();
        if (depth > 0) {
            sub_nodes += (int64_t)sg.nodes.size();
            ++subgraphs;
        }
        for (const auto& [k, t] : sg.initializers) {
            params += t.numel();
            bytes[dtype_name(t.dtype())] += (int64_t)t.nbytes();
        }
    });
    j["nodes"] = nodes;
    j["subgraphs"] = subgraphs;
    j["subgraph_nodes"] = sub_nodes;
    j["op_counts"] = counts;
    j["parameters"] = params;
    j["bytes_by_dtype"] = bytes;
    json layers = json::array();
    int64_t total = 0;
    bool all_known = true;
    static const std::set<std::string> quantizable = {"Conv", "ConvTranspose", "Gemm", "MatMul"};
    graph::for_each_graph_view(m, [&](const graph::Model& v, const std::string& where) {
        const auto& vg = v.graph;  // a subgraph sees the outer constants it reads
        for (const auto& n : vg.nodes) {
            if (!n.domain.empty() || !quantizable.count(n.op_type)) continue;
            json l{{"name", n.name}, {"op_type", n.op_type}};
            if (!where.empty()) l["subgraph"] = where;
            auto wit = vg.initializers.find(n.input(1));
            l["weight"] = wit == vg.initializers.end() ? json(nullptr) : json(n.input(1));
            l["weight_shape"] = wit == vg.initializers.end() ? json(nullptr) : json(wit->second.shape());
            if (n.op_type == "Conv" || n.op_type == "ConvTranspose") l["group"] = n.attr_int("group", 1);
            auto macs = layer_macs(v, n);
            l["macs"] = macs ? json(*macs) : json(nullptr);
            if (macs) total += *macs;
            else all_known = false;
            layers.push_back(l);
        }
    });
    j["quantizable_layers"] = layers;
    j["macs_total"] = all_known ? json(total) : json(nullptr);

    // Already-quantized or FP16 models: which form they are in (`quantize` refuses the quantized ones).
    std::map<std::string, int64_t> qops;
    std::set<std::string> formats;
    for (const auto& n : g.nodes) {
        const std::string& op = n.op_type;
        const bool ms = n.domain == "com.microsoft";
        if (!n.domain.empty() && !ms) continue;
        std::string form;
        if (op.rfind("QLinear", 0) == 0 || (ms && (op == "QGemm" || op == "QAttention"))) form = "QOperator";
        else if (op == "ConvInteger" || op == "MatMulInteger" || op == "DynamicQuantizeLinear" ||
                 (ms && (op == "MatMulIntegerToFloat" || op == "DynamicQuantizeMatMul")))
            form = "dynamic (integer ops)";
        else if (op == "QuantizeLinear" || op == "DequantizeLinear") form = "QDQ";
        else if (ms && op == "MatMulNBits") form = "weight-only (MatMulNBits)";
        if (form.empty()) continue;
        qops[(ms ? "com.microsoft." : "") + op]++;
        formats.insert(form);
    }
    int64_t fp16_weights = 0;
    for (const auto& [k, t] : g.initializers)
        if (t.dtype() == DType::F16 && t.numel() > 1) fp16_weights++;
    json q;
    q["quantized"] = !qops.empty();
    q["formats"] = formats;
    q["nodes"] = qops;
    q["float16_weights"] = fp16_weights;
    j["quantization"] = q;
    return j;
}

std::string human_count(int64_t v) {
    char buf[32];
    if (v >= 1000000000) std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
    else if (v >= 1000000) std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
    else if (v >= 1000) std::snprintf(buf, sizeof buf, "%.1fK", v / 1e3);
    else std::snprintf(buf, sizeof buf, "%lld", (long long)v);
    return buf;
}

// "Conv 53, Relu 9, Add 4" for the `limit` largest counts (ties by name), "+N more" after them.
std::string top_counts(const std::map<std::string, int64_t>& counts, size_t limit) {
    std::vector<std::pair<std::string, int64_t>> v(counts.begin(), counts.end());
    std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    std::string s;
    for (size_t i = 0; i < v.size() && i < limit; ++i) s += (i ? ", " : "") + v[i].first + " " + std::to_string(v[i].second);
    if (v.size() > limit) s += ", +" + std::to_string(v.size() - limit) + " more";
    return s;
}

// The model's header lines (inputs, outputs, ...); with `verbose` the op counts and the per-layer table; and
// always a two-line summary at the end.
void print_table(const json& j, bool verbose) {
    std::printf("model        %s\n", j["model"].get<std::string>().c_str());
    std::string ops;
    for (auto& [k, v] : j["opsets"].items()) ops += k + " " + std::to_string(v.get<int64_t>()) + "  ";
    std::printf("opsets       %s\n", ops.c_str());
    std::printf("producer     %s\n", j["producer"].get<std::string>().c_str());
    auto dims = [](const json& v) {
        if (v["shape"].is_null()) return std::string("?");
        std::string s = "[";
        bool first = true;
        for (const auto& d : v["shape"]) {
            if (!first) s += ",";
            first = false;
            s += d.is_null() ? "?" : d.is_string() ? d.get<std::string>() : std::to_string(d.get<int64_t>());
        }
        return s + "]";
    };
    for (const auto& i : j["inputs"])
        std::printf("input        %s %s %s\n", i["name"].get<std::string>().c_str(), i["dtype"].get<std::string>().c_str(), dims(i).c_str());
    for (const auto& o : j["outputs"])
        std::printf("output       %s %s %s\n", o["name"].get<std::string>().c_str(), o["dtype"].get<std::string>().c_str(), dims(o).c_str());
    std::string bytes;
    for (auto& [k, v] : j["bytes_by_dtype"].items())
        bytes += (bytes.empty() ? "" : ", ") + k + " " + human_count(v.get<int64_t>()) + " bytes";
    const std::string macs = j["macs_total"].is_null() ? "MACs unknown (dynamic shapes: give --shape NAME=DIMS)"
                                                       : human_count(j["macs_total"].get<int64_t>()) + " MACs";
    const json& q = j["quantization"];
    if (q["quantized"].get<bool>()) {
        std::string f, ns;
        for (const auto& x : q["formats"]) f += (f.empty() ? "" : " + ") + x.get<std::string>();
        std::map<std::string, int64_t> counts;
        for (auto& [k, v] : q["nodes"].items()) counts[k] = v.get<int64_t>();
        std::printf("quantized    already quantized, %s: %s (hyquant quantize refuses it without --requantize)\n",
                    f.c_str(), top_counts(counts, 4).c_str());
    }
    if (q["float16_weights"].get<int64_t>() > 0)
        std::printf("weights      %lld float16 weight tensors\n",
                    (long long)q["float16_weights"].get<int64_t>());
    if (verbose) {
        std::printf("\nop counts\n");
        for (auto& [k, v] : j["op_counts"].items()) std::printf("  %-28s %lld\n", k.c_str(), (long long)v.get<int64_t>());
        std::printf("\nquantizable layers (%zu)\n", j["quantizable_layers"].size());
        std::printf("  %-36s %-14s %-22s %s\n", "name", "op", "weight shape", "MACs");
        for (const auto& l : j["quantizable_layers"]) {
            std::string ws = "-";
            if (!l["weight_shape"].is_null()) {
                ws = "[";
                for (size_t i = 0; i < l["weight_shape"].size(); ++i)
                    ws += (i ? "," : "") + std::to_string(l["weight_shape"][i].get<int64_t>());
                ws += "]";
            }
            std::string lm = l["macs"].is_null() ? "?" : human_count(l["macs"].get<int64_t>());
            std::printf("  %-36s %-14s %-22s %s\n", l["name"].get<std::string>().c_str(),
                        l["op_type"].get<std::string>().c_str(), ws.c_str(), lm.c_str());
        }
        std::printf("\n");
    }
    std::map<std::string, int64_t> layer_ops;
    for (const auto& l : j["quantizable_layers"]) layer_ops[l["op_type"].get<std::string>()]++;
    if (j["subgraphs"].get<int64_t>() > 0)
        std::printf("subgraphs    %lld (If branches, Loop/Scan bodies) holding %lld of the nodes below\n",
                    (long long)j["subgraphs"].get<int64_t>(), (long long)j["subgraph_nodes"].get<int64_t>());
    std::printf("summary      %lld nodes (%s), %s parameters (%s)\n", (long long)j["nodes"].get<int64_t>(),
                top_counts(j["op_counts"].get<std::map<std::string, int64_t>>(), 4).c_str(),
                human_count(j["parameters"].get<int64_t>()).c_str(), bytes.empty() ? "none" : bytes.c_str());
    std::printf("             %zu quantizable layers%s%s%s, %s%s\n", j["quantizable_layers"].size(),
                layer_ops.empty() ? "" : " (", top_counts(layer_ops, 4).c_str(), layer_ops.empty() ? "" : ")",
                macs.c_str(), verbose ? "" : "; --verbose lists op counts and layers");
}

json ops_json() {
    json a = json::array();
    for (const auto* d : exec::cpu::registry().all()) {
        json e{{"op_type", d->op_type}, {"domain", d->domain.empty() ? "ai.onnx" : d->domain}, {"since", d->since}};
        e["until"] = d->until == INT_MAX ? json(nullptr) : json(d->until);
        a.push_back(e);
    }
    for (const auto& [op, since] : exec::control_flow_ops())  // run by the executor on any backend
        a.push_back(json{{"op_type", op}, {"domain", "ai.onnx"}, {"since", since}, {"until", nullptr}});
    return a;
}

}  // namespace

void add_inspect(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("inspect", "Show a model's inputs, outputs, opsets, ops, parameters, layers and MACs");
    struct Opts {
        std::string model;
        bool json = false, ops = false, verbose = false;
        std::vector<std::string> shapes;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("MODEL", o->model, "ONNX model file");
    cmd->add_flag("--json", o->json, "Print JSON");
    cmd->add_flag("--verbose", o->verbose, "Also list the op counts and every quantizable layer");
    cmd->add_flag("--ops", o->ops, "List the operators (and opset ranges) the CPU executor implements");
    cmd->add_option("--shape", o->shapes, "Fix an input's shape, NAME=1x3x224x224 (for MACs); repeatable");
    cmd->callback([&action, o] {
        action = [o] {
            if (o->ops) {
                json a = ops_json();
                if (o->json) {
                    std::cout << a.dump(2) << "\n";
                } else {
                    for (const auto& e : a)
                        std::printf("%-24s %-12s opset %lld%s\n", e["op_type"].get<std::string>().c_str(),
                                    e["domain"].get<std::string>().c_str(), (long long)e["since"].get<int64_t>(),
                                    e["until"].is_null() ? "+" : ("-" + std::to_string(e["until"].get<int64_t>())).c_str());
                    std::printf("%zu operator versions\n", a.size());
                }
                return 0;
            }
            HQ_CHECK(!o->model.empty(), "inspect: MODEL is required (or --ops)");
            std::map<std::string, Shape> shapes;
            for (const auto& s : o->shapes) shapes.insert(parse_shape_arg(s));
            graph::Model m = load_and_prepare(o->model, shapes, false);
            json j = inspect_json(m, o->model);
            if (o->json) std::cout << j.dump(2) << "\n";
            else print_table(j, o->verbose);
            return 0;
        };
    });
}

}  // namespace hq::app

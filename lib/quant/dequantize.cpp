#include "quant/dequantize.h"

#include <algorithm>
#include <optional>

#include "core/error.h"
#include "graph/passes.h"
#include "quant/qdq_ops.h"

namespace hq::quant {
namespace {

bool onnx_domain(const graph::Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

bool is_int_dtype(DType t) {
    return t == DType::I8 || t == DType::U8 || t == DType::I16 || t == DType::U16 || t == DType::I32;
}

// (q - zp) * scale as float32; scale/zp have one element (per tensor) or q.dim(axis) elements (per axis).
Tensor dequant(const Tensor& q, const Tensor& scale, const Tensor* zp, int64_t axis, const std::string& what) {
    HQ_CHECK(is_int_dtype(q.dtype()), what, ": ", dtype_name(q.dtype()), " is not an integer type it can dequantize");
    HQ_CHECK(scale.numel() >= 1, what, ": empty scale");
    const int64_t channels = scale.numel();
    int64_t inner = 1, dim = 1;
    if (channels > 1) {
        HQ_CHECK(q.rank() > 0, what, ": per-axis scale for a scalar");
        axis = axis < 0 ? axis + q.rank() : axis;
        HQ_CHECK(axis >= 0 && axis < q.rank() && q.dim(axis) == channels, what, ": ", channels,
                 " scales do not match axis ", axis, " of shape ", shape_str(q.shape()));
        dim = channels;
        for (int64_t d = axis + 1; d < q.rank(); ++d) inner *= q.dim(d);
    }
    HQ_CHECK(!zp || zp->numel() == 1 || zp->numel() == channels, what, ": ", zp ? zp->numel() : 0,
             " zero points for ", channels, " scales");
    const std::vector<float> s = scale.to_f32();
    std::vector<int64_t> z(channels, 0);
    if (zp)
        for (int64_t c = 0; c < channels; ++c) z[c] = zp->at_i64(zp->numel() == 1 ? 0 : c);
    Tensor r(DType::F32, q.shape());
    float* out = r.data<float>();
    for (int64_t i = 0; i < q.numel(); ++i) {
        const int64_t c = channels > 1 ? (i / inner) % dim : 0;
        out[i] = (float)(q.at_i64(i) - z[c]) * s[c];
    }
    return r;
}

class Rewriter {
public:
    explicit Rewriter(graph::Model& m) : m_(m), g_(m.graph) {}

    Dequantized run() {
        expand_qlinear();
        sink_quantize();
        dynamic_patterns();
        fused_dynamic();
        gathers();
        fold_constant_dq();
        remove_qdq_pairs();
        graph::eliminate_dead_code(m_);
        graph::topo_sort(g_);
        return d_;
    }

private:
    graph::Model& m_;
    graph::Graph& g_;
    Dequantized d_;

    const Tensor* init(const std::string& v) const {
        auto it = g_.initializers.find(v);
        return v.empty() || it == g_.initializers.end() ? nullptr : &it->second;
    }
    std::string add_init(const std::string& base, Tensor t) {
        const std::string n = g_.unique_name(base);
        g_.initializers[n] = std::move(t);
        ++d_.weights;
        return n;
    }
    graph::Node make(const std::string& op, const std::string& name, std::vector<std::string> in,
                     std::vector<std::string> out) {
        graph::Node n;
        n.op_type = op;
        n.name = name.empty() ? "" : g_.unique_name(name);
        n.inputs = std::move(in);
        n.outputs = std::move(out);
        return n;
    }
    // Every read of `from` (here and inside subgraphs: outer-scope reads) reads `to`; a graph output keeps its name
    // through an Identity.
    void replace_uses(const std::string& from, const std::string& to) {
        graph::for_each_graph(g_, [&](graph::Graph& g, int depth) {
            if (depth > 0 && graph::defined_names(g).count(from)) return;  // shadowed there
            for (auto& n : g.nodes)
                for (auto& in : n.inputs)
                    if (in == from) in = to;
        });
        if (g_.is_graph_output(from)) g_.nodes.push_back(make("Identity", from + "_identity", {to}, {from}));
    }

    // One operator-form quantized op: which float op it computes, where its (value, scale, zero point) triples
    // and its output scale/zero point are, and which operand is a weight (per-axis along `weight_axis`).
    struct QForm {
        const char* op;
        bool ms;               // com.microsoft
        const char* float_op;
        std::vector<int> triples;  // input indices of (x, x_scale, x_zero_point); -2: from 2 in steps of 3
        int y = -1;                // input index of y_scale (y_zero_point follows); -1: float output
        int bias = -1;             // int32 bias input, scaled by triples[0]'s scale times triples[1]'s
        std::vector<std::string> drop_attrs;
    };
    static const std::vector<QForm>& qforms() {
        static const std::vector<QForm> f = {
            {"QLinearConv", false, "Conv", {0, 3}, 6, 8, {}},
            {"QLinearMatMul", false, "MatMul", {0, 3}, 6, -1, {}},
            {"QLinearAdd", true, "Add", {0, 3}, 6, -1, {}},
            {"QLinearMul", true, "Mul", {0, 3}, 6, -1, {}},
            {"QLinearSigmoid", true, "Sigmoid", {0}, 3, -1, {}},
            {"QLinearLeakyRelu", true, "LeakyRelu", {0}, 3, -1, {}},
            {"QLinearGlobalAveragePool", true, "GlobalAveragePool", {0}, 3, -1, {"channels_last"}},
            {"QLinearAveragePool", true, "AveragePool", {0}, 3, -1, {"channels_last"}},
            {"QLinearSoftmax", true, "Softmax", {0}, 3, -1, {"opset"}},
            {"QLinearConcat", true, "Concat", {-2}, 0, -1, {}},
            {"QGemm", true, "Gemm", {0, 3}, 7, 6, {}},
        };
        return f;
    }
    static const QForm* qform(const graph::Node& n) {
        const bool ms = n.domain == "com.microsoft";
        if (!ms && !onnx_domain(n)) return nullptr;
        for (const auto& f : qforms())
            if (f.op == n.op_type && f.ms == ms) return &f;
        return nullptr;
    }
    // The axis a per-channel weight operand's scales run along.
    static int64_t weight_axis(const graph::Node& n, size_t input, const Tensor* w) {
        if (n.op_type == "QLinearConv") return input == 3 ? 0 : 1;
        if (n.op_type == "QLinearMatMul") return w ? w->rank() - 1 : -1;
        if (n.op_type == "QGemm") return n.attr_int("transB", 0) ? 0 : 1;
        return 1;
    }

    // Operator-form ops (QLinearConv, QLinearMatMul, ORT's QLinear*/QGemm) -> DequantizeLinear of each quantized
    // input (constants dequantized here), the float op, QuantizeLinear of its output.
    void expand_qlinear() {
        std::vector<graph::Node> out;
        for (auto& n : g_.nodes) {
            const QForm* form = qform(n);
            if (!form) {
                out.push_back(std::move(n));
                continue;
            }
            HQ_CHECK(n.outputs.size() == 1, n.label(), ": expected one output");
            if (n.op_type == "QLinearGlobalAveragePool" || n.op_type == "QLinearAveragePool")
                HQ_CHECK(n.attr_int("channels_last", 0) == 0, n.label(), ": --requantize: channels_last layout");
            const std::string base = n.name.empty() ? n.outputs[0] : n.name;
            auto dq_input = [&](size_t i) -> std::string {  // a constant is dequantized here
                HQ_CHECK(!n.input(i).empty() && !n.input(i + 1).empty(), n.label(), ": input ", i, " or its scale is missing");
                const Tensor *q = init(n.input(i)), *s = init(n.input(i + 1)), *z = init(n.input(i + 2));
                const int64_t axis = weight_axis(n, i, q);
                if (q && s && (z || n.input(i + 2).empty()))
                    return add_init(n.input(i) + "_dequantized",
                                    dequant(*q, *s, z, axis, n.label() + " input " + n.input(i)));
                const std::string f = g_.unique_name(n.input(i) + "_dequantized");
                std::vector<std::string> in = {n.input(i), n.input(i + 1)};
                if (!n.input(i + 2).empty()) in.push_back(n.input(i + 2));
                graph::Node d = make("DequantizeLinear", base + "_dq" + std::to_string(i), in, {f});
                if (s && s->numel() > 1) d.attrs["axis"].i = axis;
                out.push_back(std::move(d));
                return f;
            };
            std::vector<size_t> firsts;
            for (int t : form->triples)
                if (t >= 0) firsts.push_back((size_t)t);
                else
                    for (size_t i = 2; i < n.inputs.size(); i += 3) firsts.push_back(i);
            std::vector<std::string> in;
            for (size_t i : firsts) in.push_back(dq_input(i));
            if (form->bias >= 0 && !n.input(form->bias).empty()) {
                const Tensor *b = init(n.input(form->bias)), *xs = init(n.input(firsts[0] + 1)),
                             *ws = init(n.input(firsts[1] + 1));
                HQ_CHECK(b && xs && ws && xs->numel() == 1, n.label(),
                         ": the int32 bias needs constant input and weight scales to be dequantized");
                Tensor bs(DType::F32, {ws->numel()});
                const std::vector<float> wv = ws->to_f32();
                const float x_scale = xs->to_f32()[0];
                for (int64_t c = 0; c < ws->numel(); ++c) bs.data<float>()[c] = x_scale * wv[c];
                in.push_back(add_init(n.input(form->bias) + "_dequantized",
                                      dequant(*b, bs, nullptr, b->rank() - 1, n.label() + " bias")));
            }
            const bool float_out = form->y < 0 || n.input(form->y).empty();
            const std::string y = float_out ? n.outputs[0] : g_.unique_name(n.outputs[0] + "_float");
            if (n.op_type == "QLinearSoftmax" && n.attr_int("opset", 13) < 13) {
                // Softmax before opset 13 normalizes over everything from `axis` on: Flatten(axis), Softmax over
                // the last axis, Reshape back.
                const std::string shp = g_.unique_name(y + "_shape"), fl = g_.unique_name(y + "_flat"),
                                  sm = g_.unique_name(y + "_softmax");
                out.push_back(make("Shape", base + "_shape", {in[0]}, {shp}));
                graph::Node flat = make("Flatten", base + "_flatten", {in[0]}, {fl});
                flat.attrs["axis"].i = n.attr_int("axis", 1);
                out.push_back(std::move(flat));
                graph::Node soft = make("Softmax", base, {fl}, {sm});
                soft.attrs["axis"].i = -1;
                out.push_back(std::move(soft));
                out.push_back(make("Reshape", base + "_reshape", {sm, shp}, {y}));
            } else {
                graph::Node f = make(form->float_op, base, in, {y});
                f.attrs = n.attrs;
                for (const auto& a : form->drop_attrs) f.attrs.erase(a);
                out.push_back(std::move(f));
            }
            if (!float_out) {
                std::vector<std::string> qin = {y, n.input(form->y)};
                if (!n.input(form->y + 1).empty()) qin.push_back(n.input(form->y + 1));
                out.push_back(make("QuantizeLinear", base + "_q", qin, {n.outputs[0]}));
            }
            ++d_.qlinear;
        }
        g_.nodes = std::move(out);
    }

    // Data-movement ops on quantized values (Q -> Reshape/MaxPool/... -> DQ, as ORT's QOperator format leaves
    // them): Q commutes with them (it is elementwise and monotonic), so each becomes op(x) -> Q, bringing the Q
    // next to its DQ readers.
    void sink_quantize() {
        static const std::set<std::string> moves = {"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze",
                                                    "MaxPool", "Identity", "Slice", "Gather", "DepthToSpace",
                                                    "SpaceToDepth", "Expand", "Tile"};
        for (bool again = true; again;) {
            again = false;
            auto prod = g_.producers();
            for (size_t i = 0; i < g_.nodes.size(); ++i) {
                graph::Node& n = g_.nodes[i];
                if (!onnx_domain(n) || !moves.count(n.op_type) || n.outputs.size() != 1) continue;
                if (n.op_type == "Resize" && n.attr_string("mode", "nearest") != "nearest") continue;
                auto p = prod.find(n.input(0));
                if (p == prod.end()) continue;
                const graph::Node q = g_.nodes[p->second];
                if (!onnx_domain(q) || q.op_type != "QuantizeLinear") continue;
                const std::string f = g_.unique_name(n.outputs[0] + "_float");
                const std::string y = n.outputs[0];
                n.inputs[0] = q.inputs.at(0);
                n.outputs[0] = f;
                graph::Node nq = q;
                nq.name = g_.unique_name((q.name.empty() ? y : q.name) + "_moved");
                nq.inputs[0] = f;
                nq.outputs = {y};
                g_.nodes.push_back(std::move(nq));
                again = true;
                break;
            }
            if (again) graph::topo_sort(g_);
        }
    }

    // DynamicQuantizeLinear(x) -> MatMulInteger/ConvInteger(xq, Wq, xzp, wzp) -> Cast(float) -> Mul(., xs * ws)
    // becomes MatMul/Conv(x, dequantized W) writing the Mul's output.
    void dynamic_patterns() {
        auto prod = g_.producers();
        auto cons = g_.consumers();
        std::set<size_t> drop;
        std::vector<graph::Node> added;
        for (size_t i = 0; i < g_.nodes.size(); ++i) {
            const graph::Node& n = g_.nodes[i];
            const bool mm = onnx_domain(n) && n.op_type == "MatMulInteger";
            const bool conv = onnx_domain(n) && n.op_type == "ConvInteger";
            if (!mm && !conv) continue;
            auto p = prod.find(n.input(0));
            if (p == prod.end()) continue;
            const graph::Node& dql = g_.nodes[p->second];
            if (dql.op_type != "DynamicQuantizeLinear" || dql.outputs.size() < 3 || n.input(2) != dql.outputs[2])
                continue;
            const Tensor* wq = init(n.input(1));
            const Tensor* wz = n.input(3).empty() ? nullptr : init(n.input(3));
            if (!wq || (!n.input(3).empty() && !wz)) continue;
            const auto& c1 = cons[n.outputs[0]];
            if (c1.size() != 1 || g_.is_graph_output(n.outputs[0])) continue;
            const graph::Node& cast = g_.nodes[c1[0]];
            if (cast.op_type != "Cast" || cast.attr_int("to", 0) != (int64_t)DType::F32) continue;
            const auto& c2 = cons[cast.outputs[0]];
            if (c2.size() != 1 || g_.is_graph_output(cast.outputs[0])) continue;
            const graph::Node& mul = g_.nodes[c2[0]];
            if (mul.op_type != "Mul" || mul.num_inputs() != 2) continue;
            const std::string sname = mul.input(0) == cast.outputs[0] ? mul.input(1) : mul.input(0);
            auto ps = prod.find(sname);
            const Tensor* ws = nullptr;
            if (ps != prod.end()) {  // Mul(scale_x, scale_w)
                const graph::Node& sm = g_.nodes[ps->second];
                if (sm.op_type == "Mul" && sm.num_inputs() == 2) {
                    if (sm.input(0) == dql.outputs[1]) ws = init(sm.input(1));
                    else if (sm.input(1) == dql.outputs[1]) ws = init(sm.input(0));
                }
            }
            if (!ws) continue;
            // MatMul: weight [K, N], per-column scale (axis 1 = last); Conv: weight [M, ...], per-output-channel.
            const int64_t axis = mm ? wq->rank() - 1 : 0;
            HQ_CHECK(ws->numel() == 1 || ws->numel() == wq->dim(axis), n.label(), ": weight scale of ", ws->numel(),
                     " elements for a weight of shape ", shape_str(wq->shape()));
            const std::string w =
                add_init(n.input(1) + "_dequantized",
                         dequant(*wq, ws->reshaped({ws->numel()}), wz, axis, n.label() + " weight"));
            graph::Node f = make(mm ? "MatMul" : "Conv", n.name.empty() ? mul.outputs[0] : n.name,
                                 {dql.inputs.at(0), w}, {mul.outputs[0]});
            if (conv) f.attrs = n.attrs;
            added.push_back(std::move(f));
            drop.insert({i, c1[0], c2[0]});
            ++d_.dynamic;
        }
        erase(drop, std::move(added));
    }

    // ONNX Runtime's fused dynamic ops: DynamicQuantizeMatMul(A, B, b_scale, b_zp, bias) and
    // MatMulIntegerToFloat(DynamicQuantizeLinear(x), B, x_scale, b_scale, x_zp, b_zp, bias) -> MatMul (+ Add).
    void fused_dynamic() {
        std::map<std::string, std::vector<std::string>> dqls;  // output 0 -> input, scale, zero point
        for (const auto& n : g_.nodes)
            if (onnx_domain(n) && n.op_type == "DynamicQuantizeLinear" && n.outputs.size() >= 3)
                dqls[n.outputs[0]] = {n.input(0), n.outputs[1], n.outputs[2]};
        std::vector<graph::Node> out;
        for (auto& n : g_.nodes) {
            const bool dqmm = n.domain == "com.microsoft" && n.op_type == "DynamicQuantizeMatMul";
            const bool mitf = n.domain == "com.microsoft" && n.op_type == "MatMulIntegerToFloat";
            std::string x;
            size_t ws = 2, wz = 3, bias = 4;
            if (mitf) {
                ws = 3, wz = 5, bias = 6;
                auto p = dqls.find(n.input(0));
                if (p != dqls.end() && n.input(2) == p->second[1] && n.input(4) == p->second[2]) x = p->second[0];
            } else if (dqmm) {
                x = n.input(0);
            }
            const Tensor *b = init(n.input(1)), *s = init(n.input(ws)), *z = init(n.input(wz));
            if (x.empty() || !b || !s || (!n.input(wz).empty() && !z)) {
                out.push_back(std::move(n));
                continue;
            }
            const std::string base = n.name.empty() ? n.outputs[0] : n.name;
            const std::string w = add_init(n.input(1) + "_dequantized",
                                           dequant(*b, s->reshaped({s->numel()}), z, b->rank() - 1, n.label() + " weight"));
            const bool has_bias = !n.input(bias).empty();
            const std::string y = has_bias ? g_.unique_name(n.outputs[0] + "_matmul") : n.outputs[0];
            out.push_back(make("MatMul", base, {x, w}, {y}));
            if (has_bias) out.push_back(make("Add", base + "_bias", {y, n.input(bias)}, {n.outputs[0]}));
            ++d_.dynamic;
        }
        g_.nodes = std::move(out);
    }

    // Gather(constant integer table, ids) -> DequantizeLinear (per tensor) becomes Gather(float table, ids).
    void gathers() {
        auto prod = g_.producers();
        auto cons = g_.consumers();
        std::set<size_t> drop;
        std::vector<graph::Node> added;
        for (size_t i = 0; i < g_.nodes.size(); ++i) {
            const graph::Node& dq = g_.nodes[i];
            if (!onnx_domain(dq) || dq.op_type != "DequantizeLinear") continue;
            auto p = prod.find(dq.input(0));
            if (p == prod.end()) continue;
            const graph::Node& ga = g_.nodes[p->second];
            const Tensor *table = init(ga.input(0)), *s = init(dq.input(1)), *z = init(dq.input(2));
            if (ga.op_type != "Gather" || !table || !s || s->numel() != 1 || (!dq.input(2).empty() && !z)) continue;
            if (cons[ga.outputs[0]].size() != 1 || g_.is_graph_output(ga.outputs[0])) continue;
            graph::Node f = ga;
            f.inputs[0] = add_init(ga.input(0) + "_dequantized", dequant(*table, *s, z, 0, ga.label() + " table"));
            f.outputs = {dq.outputs[0]};
            added.push_back(std::move(f));
            drop.insert({i, p->second});
            ++d_.gathers;
        }
        erase(drop, std::move(added));
    }

    // DequantizeLinear of constants -> a float initializer under the DQ's output name.
    void fold_constant_dq() {
        std::vector<graph::Node> kept;
        for (auto& n : g_.nodes) {
            const Tensor *q = init(n.input(0)), *s = init(n.input(1)), *z = init(n.input(2));
            if (onnx_domain(n) && n.op_type == "DequantizeLinear" && q && s && (z || n.input(2).empty()) &&
                !n.has_attr("block_size") && !g_.is_graph_output(n.outputs[0])) {
                g_.initializers[n.outputs[0]] = dequant(*q, *s, z, n.attr_int("axis", 1), n.label());
                ++d_.weights;
                continue;
            }
            kept.push_back(std::move(n));
        }
        g_.nodes = std::move(kept);
    }

    // QuantizeLinear(x) read only by DequantizeLinear nodes: their readers read x. Where the quantized range starts
    // at exactly 0 (zero point = the type's minimum) the Q was also a Relu/Clip: ONNX Runtime's quantizers drop a
    // Relu/Clip after a quantized op and let the output range clamp instead, so such a pair becomes
    // Clip(x, 0, the range's top), the float op that model computes there.
    void remove_qdq_pairs() {
        auto cons = g_.consumers();
        std::set<size_t> drop;
        std::vector<graph::Node> added;
        std::vector<std::pair<std::string, std::string>> renames;  // DQ output -> what its readers read
        for (size_t i = 0; i < g_.nodes.size(); ++i) {
            const graph::Node& q = g_.nodes[i];
            if (!onnx_domain(q) || q.op_type != "QuantizeLinear" || g_.is_graph_output(q.outputs[0])) continue;
            const auto& cs = cons[q.outputs[0]];
            const bool all_dq = !cs.empty() && std::all_of(cs.begin(), cs.end(), [&](size_t c) {
                return onnx_domain(g_.nodes[c]) && g_.nodes[c].op_type == "DequantizeLinear" &&
                       g_.nodes[c].input(0) == q.outputs[0];
            });
            if (!all_dq) continue;
            std::string to = q.input(0);
            if (auto top = relu_top(q)) {
                to = g_.unique_name(q.input(0) + "_clip");
                std::vector<std::string> in = {q.input(0)};
                graph::Node c = make("Clip", (q.name.empty() ? to : q.name) + "_clip", {}, {to});
                if (m_.opset("") >= 11) {
                    c.inputs = {q.input(0), g_.unique_name(to + "_min")};
                    c.inputs.push_back(g_.unique_name(to + "_max"));
                    g_.initializers[c.inputs[1]] = Tensor::scalar_f32(0.f);
                    g_.initializers[c.inputs[2]] = Tensor::scalar_f32(*top);
                } else {
                    c.inputs = {q.input(0)};
                    c.attrs["min"].kind = graph::Attribute::Kind::Float;
                    c.attrs["min"].f = 0.f;
                    c.attrs["max"].kind = graph::Attribute::Kind::Float;
                    c.attrs["max"].f = *top;
                }
                added.push_back(std::move(c));
                ++d_.clips;
            }
            drop.insert(i);
            for (size_t c : cs) {
                drop.insert(c);
                renames.emplace_back(g_.nodes[c].outputs[0], to);
                ++d_.qdq_pairs;
            }
        }
        for (const auto& [from, to] : renames) replace_uses(from, to);
        erase(drop, std::move(added));
    }
    // The top of a QuantizeLinear's range when it starts at 0 (constant per-tensor scale, zero point at the type's
    // minimum); nullopt otherwise.
    std::optional<float> relu_top(const graph::Node& q) const {
        const Tensor *s = init(q.input(1)), *z = init(q.input(2));
        if (!s || s->numel() != 1 || (!q.input(2).empty() && (!z || z->numel() != 1))) return std::nullopt;
        const DType t = z ? z->dtype() : DType::U8;
        const int64_t zp = z ? z->at_i64(0) : 0;
        int64_t lo = 0, hi = 0;
        switch (t) {
            case DType::U8: lo = 0, hi = 255; break;
            case DType::I8: lo = -128, hi = 127; break;
            case DType::U16: lo = 0, hi = 65535; break;
            case DType::I16: lo = -32768, hi = 32767; break;
            default: return std::nullopt;
        }
        if (zp != lo) return std::nullopt;
        return (float)(hi - zp) * s->to_f32()[0];
    }

    void erase(const std::set<size_t>& drop, std::vector<graph::Node> added) {
        std::vector<graph::Node> kept;
        for (size_t i = 0; i < g_.nodes.size(); ++i)
            if (!drop.count(i)) kept.push_back(std::move(g_.nodes[i]));
        for (auto& n : added) kept.push_back(std::move(n));
        g_.nodes = std::move(kept);
        graph::topo_sort(g_);
    }
};

}  // namespace

std::string Dequantized::summary() const {
    return std::to_string(weights) + " weights dequantized, " + std::to_string(qdq_pairs) +
           " Q/DQ pairs removed (" + std::to_string(clips) + " as Clip), " + std::to_string(qlinear) + " QLinear ops and " + std::to_string(dynamic) +
           " dynamic integer ops made float, " + std::to_string(gathers) + " quantized lookup tables";
}

Dequantized requantize_to_float(graph::Model& m) {
    Dequantized d = Rewriter(m).run();
    if (const graph::Node* n = first_quantized_node(m))
        HQ_FAIL("--requantize: ", n->label(), " has no float form hyquant can recover (it recovers QDQ, QLinearConv/",
                "QLinearMatMul and ONNX Runtime's dynamic MatMulInteger/ConvInteger patterns)");
    return d;
}

}  // namespace hq::quant

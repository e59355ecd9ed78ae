// Small helpers to build graph IR models in tests.
#pragma once
#include <random>

#include "exec/cpu/cpu_backend.h"
#include "exec/executor.h"
#include "graph/graph.h"

namespace hq::test {

inline graph::Attribute attr_i(int64_t v) { graph::Attribute a; a.kind = graph::Attribute::Kind::Int; a.i = v; return a; }
inline graph::Attribute attr_f(float v) { graph::Attribute a; a.kind = graph::Attribute::Kind::Float; a.f = v; return a; }
inline graph::Attribute attr_ints(std::vector<int64_t> v) { graph::Attribute a; a.kind = graph::Attribute::Kind::Ints; a.ints = std::move(v); return a; }
inline graph::Attribute attr_t(Tensor t) { graph::Attribute a; a.kind = graph::Attribute::Kind::Tensor; a.t = std::move(t); return a; }

inline graph::Attribute attr_s(std::string v) { graph::Attribute a; a.kind = graph::Attribute::Kind::String; a.s = std::move(v); return a; }

inline Tensor f32(Shape s, std::vector<float> v) { return Tensor::from_f32(std::move(s), v); }
inline Tensor i64(Shape s, std::vector<int64_t> v) { return Tensor::from_i64(std::move(s), v); }
template <typename T>
Tensor typed(Shape s, std::vector<T> v) {
    Tensor t(dtype_of<T>(), std::move(s));
    for (size_t i = 0; i < v.size(); ++i) t.data<T>()[i] = v[i];
    return t;
}
// 0, 1, 2, ... as float32
inline Tensor iota(Shape s) {
    Tensor t(DType::F32, std::move(s));
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = (float)i;
    return t;
}
// Runs one node on the CPU backend.
inline std::vector<Tensor> eval(const graph::Node& n, std::vector<Tensor> in, int64_t opset) {
    return exec::cpu::evaluate_node(n, in, opset);
}

inline graph::Node node(std::string op, std::vector<std::string> in, std::vector<std::string> out, std::string name = "",
                        std::map<std::string, graph::Attribute> attrs = {}) {
    graph::Node n;
    n.op_type = std::move(op);
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    n.name = name.empty() ? n.op_type + "_" + n.outputs[0] : name;
    n.attrs = std::move(attrs);
    return n;
}

inline graph::ValueInfo value(std::string name, Shape s, DType dt = DType::F32) {
    graph::ValueInfo v;
    v.name = std::move(name);
    v.dtype = dt;
    v.has_shape = true;
    for (int64_t d : s) v.dims.push_back(graph::Dim{d, ""});
    return v;
}

inline Tensor random_tensor(Shape s, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    Tensor t(DType::F32, std::move(s));
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
    return t;
}

inline graph::Model model(int64_t opset = 13) {
    graph::Model m;
    m.ir_version = 8;
    m.opsets[""] = opset;
    m.producer_name = "hyquant-test";
    m.graph.name = "test";
    return m;
}

// Runs a whole model on the CPU backend.
inline std::map<std::string, Tensor> run_model(const graph::Model& m, const std::map<std::string, Tensor>& inputs) {
    auto be = exec::cpu::make_backend();
    exec::Executor ex(m, *be);
    return ex.run(inputs);
}

// A copy of float tensor `t` with the entries `idx` along `axis` set to 0.
inline Tensor zero_along(const Tensor& t0, int64_t axis, const std::vector<int64_t>& idx) {
    Tensor t = t0.clone();
    int64_t outer = 1, inner = 1;
    const int64_t c = t.dim(axis);
    for (int64_t i = 0; i < axis; ++i) outer *= t.dim(i);
    for (int64_t i = axis + 1; i < t.rank(); ++i) inner *= t.dim(i);
    float* d = t.data<float>();
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t ch : idx)
            for (int64_t j = 0; j < inner; ++j) d[(o * c + ch) * inner + j] = 0.0f;
    return t;
}

// Builds a model (input "x") node by node with random weights and value_info for every intermediate value.
struct GraphBuilder {
    graph::Model m = model(13);
    uint32_t seed = 100;

    explicit GraphBuilder(Shape x) { m.graph.inputs.push_back(value("x", std::move(x))); }
    void output(const std::string& name, Shape s) { m.graph.outputs.push_back(value(name, std::move(s))); }
    void shape(const std::string& v, Shape s) {
        bool out = false;
        for (const auto& o : m.graph.outputs) out |= o.name == v;
        if (!out) m.graph.value_info[v] = value(v, std::move(s));
    }
    // Conv `name` (weight name.w [cout, cin/group, k, k], bias name.b), "same" padding, stride 1.
    void conv(const std::string& name, const std::string& in, const std::string& out, int64_t cin, int64_t cout,
              int64_t k, Shape out_shape, int64_t group = 1, bool bias = true) {
        m.graph.initializers[name + ".w"] = random_tensor({cout, cin / group, k, k}, seed++);
        std::vector<std::string> ins{in, name + ".w"};
        if (bias) {
            m.graph.initializers[name + ".b"] = random_tensor({cout}, seed++);
            ins.push_back(name + ".b");
        }
        std::map<std::string, graph::Attribute> at{{"kernel_shape", attr_ints({k, k})},
                                                   {"pads", attr_ints({k / 2, k / 2, k / 2, k / 2})}};
        if (group != 1) at["group"] = attr_i(group);
        m.graph.nodes.push_back(node("Conv", ins, {out}, name, at));
        shape(out, std::move(out_shape));
    }
    // BatchNormalization `name` over c channels (scale, bias, mean, var: name.scale, ...).
    void bn(const std::string& name, const std::string& in, const std::string& out, int64_t c, Shape out_shape) {
        m.graph.initializers[name + ".scale"] = random_tensor({c}, seed++, 0.5f, 1.5f);
        m.graph.initializers[name + ".bias"] = random_tensor({c}, seed++);
        m.graph.initializers[name + ".mean"] = random_tensor({c}, seed++);
        m.graph.initializers[name + ".var"] = random_tensor({c}, seed++, 0.5f, 1.5f);
        std::vector<std::string> ins{in, name + ".scale", name + ".bias", name + ".mean", name + ".var"};
        m.graph.nodes.push_back(node("BatchNormalization", ins, {out}, name));
        shape(out, std::move(out_shape));
    }
    // Gemm `name` with weight name.w ([n, k] with transB, else [k, n]) and bias name.b [n].
    void gemm(const std::string& name, const std::string& in, const std::string& out, int64_t k, int64_t n,
              Shape out_shape, bool trans_b) {
        m.graph.initializers[name + ".w"] = random_tensor(trans_b ? Shape{n, k} : Shape{k, n}, seed++);
        m.graph.initializers[name + ".b"] = random_tensor({n}, seed++);
        m.graph.nodes.push_back(
            node("Gemm", {in, name + ".w", name + ".b"}, {out}, name, {{"transB", attr_i(trans_b ? 1 : 0)}}));
        shape(out, std::move(out_shape));
    }
    // Any other node, named "<op>_<out>".
    void op(const std::string& type, std::vector<std::string> ins, const std::string& out, Shape out_shape,
            std::map<std::string, graph::Attribute> at = {}) {
        m.graph.nodes.push_back(node(type, std::move(ins), {out}, type + "_" + out, std::move(at)));
        shape(out, std::move(out_shape));
    }
};

}  // namespace hq::test

// Small helpers to build graph IR models in tests.
#pragma once
#include <random>

#include "exec/cpu/cpu_backend.h"
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

}  // namespace hq::test

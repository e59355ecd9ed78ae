// Small helpers to build graph IR models in tests.
#pragma once
#include <random>

#include "graph/graph.h"

namespace hq::test {

inline graph::Attribute attr_i(int64_t v) { graph::Attribute a; a.kind = graph::Attribute::Kind::Int; a.i = v; return a; }
inline graph::Attribute attr_f(float v) { graph::Attribute a; a.kind = graph::Attribute::Kind::Float; a.f = v; return a; }
inline graph::Attribute attr_ints(std::vector<int64_t> v) { graph::Attribute a; a.kind = graph::Attribute::Kind::Ints; a.ints = std::move(v); return a; }
inline graph::Attribute attr_t(Tensor t) { graph::Attribute a; a.kind = graph::Attribute::Kind::Tensor; a.t = std::move(t); return a; }

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

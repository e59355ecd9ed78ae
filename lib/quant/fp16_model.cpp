#include "quant/fp16_model.h"

#include <algorithm>

#include "core/error.h"
#include "core/half.h"

namespace hq::quant {
namespace {

Tensor upcast(const Tensor& t) {
    Tensor r(DType::F32, t.shape());
    const uint16_t* p = static_cast<const uint16_t*>(t.raw());
    float* q = r.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) q[i] = half_to_float(p[i]);
    return r;
}

graph::Node cast(const std::string& name, const std::string& in, const std::string& out, DType to) {
    graph::Node n;
    n.op_type = "Cast";
    n.name = name;
    n.inputs = {in};
    n.outputs = {out};
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::Int;
    a.i = (int64_t)to;
    n.attrs["to"] = a;
    return n;
}

}  // namespace

Fp16Model upcast_fp16(graph::Model& m) {
    Fp16Model f;
    graph::Graph& g = m.graph;
    for (auto& [name, t] : g.initializers)
        if (t.dtype() == DType::F16) {
            t = upcast(t);
            ++f.weights;
        }
    for (auto& n : g.nodes) {
        for (auto& [an, a] : n.attrs) {
            if (a.kind == graph::Attribute::Kind::Tensor && a.t.dtype() == DType::F16) {
                a.t = upcast(a.t);
                ++f.weights;
            }
            const bool type_attr = ((n.op_type == "Cast" || n.op_type == "CastLike") && an == "to") ||
                                   (an == "dtype" && (n.op_type == "EyeLike" || n.op_type.rfind("Random", 0) == 0));
            if (n.domain.empty() && type_attr && a.kind == graph::Attribute::Kind::Int && a.i == (int64_t)DType::F16) {
                a.i = (int64_t)DType::F32;
                ++f.casts;
            }
        }
    }
    for (auto& v : g.inputs)
        if (v.dtype == DType::F16) {
            v.dtype = DType::F32;
            f.inputs.push_back(v.name);
        }
    for (auto& v : g.outputs)
        if (v.dtype == DType::F16) {
            v.dtype = DType::F32;
            f.outputs.push_back(v.name);
        }
    for (auto& [k, v] : g.value_info)
        if (v.dtype == DType::F16) v.dtype = DType::F32;
    return f;
}

void restore_fp16_io(graph::Model& m, const Fp16Model& f) {
    graph::Graph& g = m.graph;
    std::vector<graph::Node> head;
    for (const auto& x : f.inputs) {
        auto it = std::find_if(g.inputs.begin(), g.inputs.end(), [&](const graph::ValueInfo& v) { return v.name == x; });
        HQ_ASSERT(it != g.inputs.end(), x);
        const std::string x32 = g.unique_name(x + "_fp32");
        for (auto& n : g.nodes)
            for (auto& in : n.inputs)
                if (in == x) in = x32;
        for (auto& o : g.outputs)
            HQ_CHECK(o.name != x, "quantize: graph input '", x, "' is also a graph output; not supported for FP16 I/O");
        it->dtype = DType::F16;
        graph::ValueInfo vi = *it;
        vi.name = x32;
        vi.dtype = DType::F32;
        g.value_info[x32] = vi;
        head.push_back(cast(g.unique_name(x + "_to_fp32"), x, x32, DType::F32));
    }
    std::vector<graph::Node> tail;
    for (const auto& y : f.outputs) {
        auto it = std::find_if(g.outputs.begin(), g.outputs.end(), [&](const graph::ValueInfo& v) { return v.name == y; });
        HQ_ASSERT(it != g.outputs.end(), y);
        const std::string y32 = g.unique_name(y + "_fp32");
        for (auto& n : g.nodes) {
            for (auto& out : n.outputs)
                if (out == y) out = y32;
            for (auto& in : n.inputs)
                if (in == y) in = y32;
        }
        if (g.initializers.count(y)) {  // an output that is a weight: the Cast reads the renamed initializer
            g.initializers[y32] = g.initializers[y];
            g.initializers.erase(y);
        }
        it->dtype = DType::F16;
        graph::ValueInfo vi = *it;
        vi.name = y32;
        vi.dtype = DType::F32;
        g.value_info.erase(y);
        g.value_info[y32] = vi;
        tail.push_back(cast(g.unique_name(y + "_to_fp16"), y32, y, DType::F16));
    }
    g.nodes.insert(g.nodes.begin(), head.begin(), head.end());
    g.nodes.insert(g.nodes.end(), tail.begin(), tail.end());
}

}  // namespace hq::quant

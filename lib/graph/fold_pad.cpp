// Pad (constant mode, zero value, spatial dims only) in front of Conv becomes the Conv's own padding, as ONNX
// Runtime's PadFusion does: TensorFlow exports write "same" convolutions as an explicit Pad and a "valid" Conv,
// and the separate Pad costs a full copy of its (often large) input per run and an extra Q/DQ pair once quantized.
#include <algorithm>
#include <set>

#include "graph/passes.h"

namespace hq::graph {

namespace {

bool is_onnx(const Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

// The Pad's per-dimension pads [begin..., end...] when it can fold (else empty).
std::vector<int64_t> foldable_pads(const Graph& g, const Node& pad, int64_t opset) {
    if (!is_onnx(pad) || pad.op_type != "Pad" || pad.inputs.empty() || pad.outputs.size() != 1) return {};
    if (pad.attr_string("mode", "constant") != "constant") return {};
    std::vector<int64_t> pads;
    if (opset < 11) {
        if (pad.attr_float("value", 0.f) != 0.f) return {};
        pads = pad.attr_ints("pads");
    } else {
        if (pad.inputs.size() > 3 && !pad.inputs[3].empty()) return {};  // axes (opset 18): left alone
        if (pad.inputs.size() < 2 || pad.inputs[1].empty()) return {};
        auto it = g.initializers.find(pad.inputs[1]);
        if (it == g.initializers.end() || it->second.dtype() != DType::I64) return {};
        for (int64_t i = 0; i < it->second.numel(); ++i) pads.push_back(it->second.data<int64_t>()[i]);
        if (pad.inputs.size() > 2 && !pad.inputs[2].empty()) {
            auto vt = g.initializers.find(pad.inputs[2]);
            if (vt == g.initializers.end() || vt->second.numel() != 1 || vt->second.at_f64(0) != 0.0) return {};
        }
    }
    const size_t r = pads.size() / 2;
    if (pads.size() % 2 != 0 || r < 3 || r > 5) return {};
    // No padding of batch or channels; none negative (a crop is not a Conv pad).
    if (pads[0] != 0 || pads[1] != 0 || pads[r] != 0 || pads[r + 1] != 0) return {};
    for (int64_t p : pads)
        if (p < 0) return {};
    return pads;
}

bool fold_pad_in(Graph& g, int64_t opset) {
    const auto cons = g.consumers();
    std::set<size_t> removed;
    for (size_t pi = 0; pi < g.nodes.size(); ++pi) {
        const Node& pad = g.nodes[pi];
        const std::vector<int64_t> pads = foldable_pads(g, pad, opset);
        if (pads.empty()) continue;
        const std::string& y = pad.outputs[0];
        if (y.empty() || g.is_graph_output(y)) continue;
        auto it = cons.find(y);
        if (it == cons.end() || it->second.empty()) continue;
        const size_t r = pads.size() / 2, nsp = r - 2;
        // Every reader is a float Conv reading y as its input only, with explicit pads.
        bool ok = true;
        for (size_t ci : it->second) {
            const Node& c = g.nodes[ci];
            ok = ok && is_onnx(c) && c.op_type == "Conv" && !c.inputs.empty() && c.inputs[0] == y &&
                 std::count(c.inputs.begin(), c.inputs.end(), y) == 1 &&
                 c.attr_string("auto_pad", "NOTSET") == "NOTSET";
            const auto cp = c.attr_ints("pads");
            ok = ok && (cp.empty() || cp.size() == 2 * nsp);
        }
        if (!ok) continue;
        for (size_t ci : std::set<size_t>(it->second.begin(), it->second.end())) {
            Node& c = g.nodes[ci];
            std::vector<int64_t> cp = c.attr_ints("pads", std::vector<int64_t>(2 * nsp, 0));
            for (size_t d = 0; d < nsp; ++d) {
                cp[d] += pads[2 + d];
                cp[nsp + d] += pads[r + 2 + d];
            }
            Attribute a;
            a.kind = Attribute::Kind::Ints;
            a.ints = cp;
            c.attrs["pads"] = a;
            c.inputs[0] = pad.inputs[0];
        }
        g.value_info.erase(y);
        removed.insert(pi);
    }
    if (removed.empty()) return false;
    std::vector<Node> kept;
    for (size_t i = 0; i < g.nodes.size(); ++i)
        if (!removed.count(i)) kept.push_back(std::move(g.nodes[i]));
    g.nodes = std::move(kept);
    return true;
}

}  // namespace

bool fold_pad_into_conv(Model& m) {
    bool changed = false;
    const int64_t opset = m.opset("");
    for_each_graph(m.graph, [&](Graph& g, int) { changed |= fold_pad_in(g, opset); });
    if (changed) eliminate_dead_code(m);
    return changed;
}

}  // namespace hq::graph

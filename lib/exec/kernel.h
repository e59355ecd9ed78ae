// What a kernel sees (KernelContext), what it is registered as (KernelDef), and the registry that
// maps (domain, op type, opset) to it. Registration is explicit: see cpu/cpu_backend.cpp.
#pragma once
#include <climits>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "graph/fusion.h"
#include "graph/graph.h"

namespace hq::exec {

struct KernelContext {
    const graph::Node& node;
    int64_t opset = 0;
    std::vector<const Tensor*> inputs;  // nullptr where an optional input is omitted
    std::vector<Tensor> outputs;        // one per node output; the kernel fills the ones it is asked for
    uint64_t const_inputs = 0;          // bit i: input i is an initializer (its storage is never written)

    // A fused epilogue (graph/fusion.h), set by the executor on a Conv that heads a fusion group. A kernel that
    // applies it sets `fused`; one that does not leaves it false and the executor runs the absorbed nodes.
    const std::vector<graph::PostOp>* post_ops = nullptr;
    const Tensor* sum_operand = nullptr;  // the Add post-op's other input
    bool sum_reusable = false;            // its storage may become the output (no one reads it afterwards)
    bool fused = false;
    // Channel-blocked layout (nChw16c on AVX-512, nChw8c otherwise: cpu::dnnl_block(); only where C fills whole
    // blocks): the executor keeps a Conv's output blocked when only oneDNN convs read it. in_blocked / sum_blocked:
    // input 0 / the sum operand is stored so; out_blocked_ok: the kernel may store output 0 so, and then sets
    // out_blocked.
    bool in_blocked = false, sum_blocked = false, out_blocked_ok = false, out_blocked = false;
    // A Conv whose zero Pad the executor skipped (graph::PadFold): input 0 is the Pad's input; these are added to the
    // Conv's pads ([begin per spatial dim..., end per spatial dim...]).
    const std::vector<int64_t>* extra_pads = nullptr;
    // Input 0 dies at this element-wise node and nothing else holds its storage (set by the executor for layout-free
    // element-wise ops only): alloc(0, ...) of its dtype and shape returns it, so the op runs in place.
    Tensor* reuse_in0 = nullptr;
    // The graph quantizes (QuantizeLinear, QLinear*, ...): a last-bit float difference before a Q can flip a step,
    // so kernels keep the paths measured closest to ONNX Runtime's there (small convs on the reference kernels).
    bool quantized_graph = false;

    KernelContext(const graph::Node& n, int64_t op) : node(n), opset(op), outputs(n.outputs.size()) {}

    size_t num_inputs() const { return inputs.size(); }
    bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
    // Input i; throws naming the node when a required input is missing.
    const Tensor& in(size_t i) const {
        HQ_CHECK(has_input(i), node.label(), ": missing input ", i);
        return *inputs[i];
    }
    bool is_const(size_t i) const { return i < 64 && ((const_inputs >> i) & 1); }
    bool wants_output(size_t i) const { return i < node.outputs.size() && !node.outputs[i].empty(); }
    // Allocates (zeroed) output i.
    Tensor& alloc(size_t i, DType dt, Shape s) {
        HQ_ASSERT(i < outputs.size(), node.label());
        if (i == 0 && reuse_in0 && reuse_in0->dtype() == dt && reuse_in0->shape() == s) {
            outputs[0] = *reuse_in0;  // element-wise: y[i] is written after x[i] is read
            return outputs[0];
        }
        outputs[i] = Tensor(dt, std::move(s));
        return outputs[i];
    }
    void set(size_t i, Tensor t) {
        HQ_ASSERT(i < outputs.size(), node.label());
        outputs[i] = std::move(t);
    }
};

using KernelFn = void (*)(KernelContext&);
// Returns "" when the node is supported as written (attributes, opset), else the reason.
using KernelCheck = std::string (*)(const graph::Node&, int64_t opset);

struct KernelDef {
    std::string op_type;
    std::string domain;  // "" = ai.onnx
    int64_t since = 1;   // first opset this kernel implements
    int64_t until = INT_MAX;
    KernelFn fn = nullptr;
    KernelCheck check = nullptr;
};

class KernelRegistry {
public:
    void add(KernelDef def);
    // Shorthand for ai.onnx ops valid from opset 1.
    void add(const std::string& op, KernelFn fn, KernelCheck check = nullptr) { add(KernelDef{op, "", 1, INT_MAX, fn, check}); }
    const KernelDef* find(const std::string& domain, const std::string& op, int64_t opset) const;
    // Every definition, sorted by domain, op type and opset.
    std::vector<const KernelDef*> all() const;

private:
    std::map<std::pair<std::string, std::string>, std::vector<KernelDef>> defs_;
};

}  // namespace hq::exec

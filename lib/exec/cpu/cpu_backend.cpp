#include "exec/cpu/cpu_backend.h"

#include <cstdlib>
#include <cstring>

#include "exec/cpu/dnnl_conv.h"
#include "exec/cpu/kernels.h"

namespace hq::exec::cpu {

const KernelRegistry& registry() {
    static const KernelRegistry reg = [] {
        KernelRegistry r;
        register_elementwise(r);
        register_unary(r);
        register_reduce(r);
        register_norm(r);
        register_quant(r);
        register_qlinear(r);
        register_conv(r);
        register_gemm(r);
        register_pool(r);
        register_resize(r);
        register_shape_ops(r);
        register_gather_scatter(r);
        register_recurrent(r);
        register_detection(r);
        register_sampling(r);
        register_qlinear_ms(r);
        register_select(r);
        register_contrib(r);
        return r;
    }();
    return reg;
}

namespace {

class CpuBackend : public Backend {
public:
    std::string name() const override { return "cpu"; }
    std::string supports(const graph::Node& n, int64_t opset) const override {
        const KernelDef* d = registry().find(n.domain, n.op_type, opset);
        if (!d) {
            std::string dom = n.domain.empty() ? "ai.onnx" : n.domain;
            return "operator " + n.op_type + " (" + dom + " opset " + std::to_string(opset) +
                   ") is not supported by the CPU executor";
        }
        return d->check ? d->check(n, opset) : std::string();
    }
    KernelFn kernel_for(const graph::Node& n, int64_t opset) const override {
        const KernelDef* d = registry().find(n.domain, n.op_type, opset);
        return d ? d->fn : nullptr;
    }
    // HQ_CPU_REFERENCE=1 (OpenBLAS only) and HQ_EXEC_NO_FUSION=1 turn fusion off.
    bool fuses() const override {
        static const bool no_fusion = [] {
            const char* v = std::getenv("HQ_EXEC_NO_FUSION");
            return v && *v && std::strcmp(v, "0") != 0;
        }();
        return dnnl_enabled() && !no_fusion;
    }
    Tensor unblocked(const Tensor& t) const override { return blocked_to_plain(t); }
    void run(KernelContext& ctx) const override {
        const KernelDef* d = registry().find(ctx.node.domain, ctx.node.op_type, ctx.opset);
        HQ_ASSERT(d, ctx.node.label());
        d->fn(ctx);
    }
};

}  // namespace

std::unique_ptr<Backend> make_backend() { return std::make_unique<CpuBackend>(); }

std::vector<Tensor> evaluate_node(const graph::Node& n, const std::vector<Tensor>& inputs, int64_t opset) {
    static const auto cpu = make_backend();
    std::string why = cpu->supports(n, opset);
    HQ_CHECK(why.empty(), n.label(), ": ", why);
    KernelContext ctx(n, opset);
    for (const auto& t : inputs) ctx.inputs.push_back(t.empty() ? nullptr : &t);
    cpu->run(ctx);
    return ctx.outputs;
}

}  // namespace hq::exec::cpu

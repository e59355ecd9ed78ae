#include "exec/executor.h"

#include "core/error.h"
#include "exec/subgraph.h"

namespace hq::exec {

Executor::Executor(const graph::Model& model, const Backend& backend) : model_(model), backend_(backend) {
    const auto& g = model_.graph;
    for (const auto& n : g.nodes) {
        std::string why = check_node(n, model_, backend_);
        HQ_CHECK(why.empty(), model_.source_path.empty() ? "" : model_.source_path + ": ", n.label(), ": ", why);
    }
    // Values whose last reader is node i are released right after it runs.
    std::map<std::string, size_t> last;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        for (const auto& in : g.nodes[i].inputs)
            if (!in.empty()) last[in] = i;
        if (graph::has_subgraphs(g.nodes[i]))  // outer-scope values its subgraphs read
            for (const auto& v : graph::implicit_inputs(g.nodes[i])) last[v] = i;
    }
    release_after_.assign(g.nodes.size(), {});
    for (const auto& [v, i] : last)
        if (!g.is_graph_output(v) && !g.is_initializer(v)) release_after_[i].push_back(v);
}

void Executor::check_input(const std::string& name, const Tensor& t, const std::string& source) const {
    const graph::ValueInfo* vi = nullptr;
    for (const auto& i : model_.graph.inputs)
        if (i.name == name) vi = &i;
    HQ_CHECK(vi, source, ": the model has no input named '", name, "'");
    HQ_CHECK(vi->dtype == t.dtype(), source, ": input '", name, "' expects ", dtype_name(vi->dtype), ", got ",
             dtype_name(t.dtype()));
    if (!vi->has_shape) return;
    HQ_CHECK((int64_t)vi->dims.size() == t.rank(), source, ": input '", name, "' expects shape ", vi->shape_str(),
             ", got ", shape_str(t.shape()));
    for (size_t d = 0; d < vi->dims.size(); ++d)
        HQ_CHECK(!vi->dims[d].known() || vi->dims[d].value == t.shape()[d], source, ": input '", name,
                 "' expects shape ", vi->shape_str(), ", got ", shape_str(t.shape()));
}

std::map<std::string, Tensor> Executor::run(const std::map<std::string, Tensor>& inputs, const Observer& observer,
                                            const std::set<std::string>& keep) const {
    const auto& g = model_.graph;
    std::map<std::string, Tensor> env;
    for (const auto& i : g.inputs) {
        auto it = inputs.find(i.name);
        HQ_CHECK(it != inputs.end(), "no data for model input '", i.name, "'");
        check_input(i.name, it->second, "sample");
        env[i.name] = it->second;
    }
    for (const auto& [name, t] : inputs)
        HQ_CHECK(env.count(name), "sample has a tensor '", name, "' but the model has no such input");
    auto lookup = [&](const std::string& v) -> const Tensor* {
        auto it = env.find(v);
        if (it != env.end()) return &it->second;
        auto jt = g.initializers.find(v);
        if (jt != g.initializers.end()) return &jt->second;
        return nullptr;
    };
    for (size_t ni = 0; ni < g.nodes.size(); ++ni) {
        const auto& n = g.nodes[ni];
        KernelContext ctx(n, model_.opset(n.domain));
        ctx.inputs.reserve(n.inputs.size());
        for (const auto& in : n.inputs) {
            if (in.empty()) {
                ctx.inputs.push_back(nullptr);
                continue;
            }
            const Tensor* t = lookup(in);
            HQ_ASSERT(t, n.label(), ": input '", in, "' not computed");
            ctx.inputs.push_back(t);
        }
        if (is_control_flow(n)) run_control_flow(ctx, model_, backend_, lookup, observer);
        else backend_.run(ctx);
        for (size_t k = 0; k < n.outputs.size(); ++k) {
            if (n.outputs[k].empty()) continue;
            HQ_ASSERT(!ctx.outputs[k].empty(), n.label(), ": output ", k, " not produced");
            if (observer) observer(n.outputs[k], ctx.outputs[k], n);
            env[n.outputs[k]] = std::move(ctx.outputs[k]);
        }
        for (const auto& v : release_after_[ni])
            if (!keep.count(v)) env.erase(v);
    }
    std::map<std::string, Tensor> out;
    for (const auto& o : g.outputs) {
        const Tensor* t = lookup(o.name);
        HQ_ASSERT(t, "output '", o.name, "' not computed");
        out[o.name] = *t;
    }
    for (const auto& k : keep) {
        const Tensor* t = lookup(k);
        if (t) out[k] = *t;
    }
    return out;
}

}  // namespace hq::exec

#include "exec/subgraph.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "core/error.h"

namespace hq::exec {

bool is_control_flow(const graph::Node& n) {
    return n.domain.empty() && (n.op_type == "If" || n.op_type == "Loop" || n.op_type == "Scan");
}

std::vector<std::pair<std::string, int64_t>> control_flow_ops() { return {{"If", 1}, {"Loop", 1}, {"Scan", 9}}; }

namespace {

const graph::Graph* graph_attr(const graph::Node& n, const std::string& a) {
    auto it = n.attrs.find(a);
    if (it == n.attrs.end() || it->second.kind != graph::Attribute::Kind::Graph) return nullptr;
    return it->second.g.get();
}

std::string check_graph(const graph::Graph& g, const graph::Model& m, const Backend& b, const std::string& where) {
    for (const auto& n : g.nodes) {
        std::string why = check_node(n, m, b);
        if (!why.empty()) return where + " > " + n.label() + ": " + why;
    }
    return "";
}

}  // namespace

std::string check_node(const graph::Node& n, const graph::Model& m, const Backend& backend) {
    if (is_control_flow(n)) return check_control_flow(n, m, backend);
    std::string why = backend.supports(n, m.opset(n.domain));
    if (!why.empty()) return why;
    for (const auto& [a, sg] : graph::subgraphs(n)) {
        // A kernel op with a graph attribute (none in ai.onnx besides control flow): its nodes must run too.
        std::string w = check_graph(*sg, m, backend, a);
        if (!w.empty()) return w;
    }
    return "";
}

std::string check_control_flow(const graph::Node& n, const graph::Model& m, const Backend& backend) {
    const int64_t opset = m.opset("");
    const size_t nin = n.inputs.size(), nout = n.outputs.size();
    std::vector<std::pair<std::string, const graph::Graph*>> gs;
    if (n.op_type == "If") {
        const graph::Graph* t = graph_attr(n, "then_branch");
        const graph::Graph* e = graph_attr(n, "else_branch");
        if (!t || !e) return "If needs graph attributes then_branch and else_branch";
        if (n.input(0).empty()) return "If needs its condition input";
        for (const auto* br : {t, e}) {
            if (!br->inputs.empty()) return "an If branch takes no inputs";
            if (br->outputs.size() != nout)
                return "a branch has " + std::to_string(br->outputs.size()) + " outputs, the node " +
                       std::to_string(nout);
        }
        gs = {{"then_branch", t}, {"else_branch", e}};
    } else if (n.op_type == "Loop") {
        const graph::Graph* body = graph_attr(n, "body");
        if (!body) return "Loop needs a graph attribute body";
        if (nin < 2) return "Loop needs inputs M and cond (either may be empty)";
        const size_t carried = nin - 2;
        if (body->inputs.size() != carried + 2)
            return "the body has " + std::to_string(body->inputs.size()) + " inputs, expected 2 + " +
                   std::to_string(carried) + " loop-carried values";
        if (body->outputs.size() < carried + 1 || nout != body->outputs.size() - 1)
            return "the body has " + std::to_string(body->outputs.size()) + " outputs and the node " +
                   std::to_string(nout) + " (expected: body = 1 + node outputs, at least 1 + " +
                   std::to_string(carried) + ")";
        gs = {{"body", body}};
    } else {  // Scan
        if (opset < 9) return "Scan before opset 9 (batched, with sequence_lens) is not supported";
        const graph::Graph* body = graph_attr(n, "body");
        if (!body) return "Scan needs a graph attribute body";
        if (!n.has_attr("num_scan_inputs")) return "Scan needs the attribute num_scan_inputs";
        const int64_t ms = n.attr_int("num_scan_inputs", 0);
        if (ms < 1 || (size_t)ms > nin) return "num_scan_inputs " + std::to_string(ms) + " is not in [1, inputs]";
        const size_t states = nin - (size_t)ms;
        if (body->inputs.size() != nin) return "the body's input count differs from the node's";
        if (body->outputs.size() != nout || nout < states) return "the body's output count differs from the node's";
        auto check_len = [&](const char* a, size_t want) -> std::string {
            if (n.has_attr(a) && n.attr_ints(a).size() != want)
                return std::string(a) + " has " + std::to_string(n.attr_ints(a).size()) + " entries, expected " +
                       std::to_string(want);
            return "";
        };
        const size_t ks = nout - states;
        for (auto [a, w] : {std::pair<const char*, size_t>{"scan_input_axes", (size_t)ms},
                            {"scan_input_directions", (size_t)ms}, {"scan_output_axes", ks},
                            {"scan_output_directions", ks}}) {
            std::string e = check_len(a, w);
            if (!e.empty()) return e;
        }
        for (auto a : {"scan_input_directions", "scan_output_directions"})
            for (int64_t d : n.attr_ints(a))
                if (d != 0 && d != 1) return std::string(a) + " must hold 0 or 1";
        gs = {{"body", body}};
    }
    for (const auto& [a, g] : gs) {
        std::string w = check_graph(*g, m, backend, a);
        if (!w.empty()) return w;
    }
    return "";
}

namespace {

struct Runner {
    const graph::Model& m;
    const Backend& backend;
    const Observer& observer;

    // One run of a subgraph: args bind to its inputs in order; returns its outputs in order.
    std::vector<Tensor> run_graph(const graph::Graph& g, std::vector<Tensor> args, const ScopeLookup& outer,
                                  const std::vector<std::vector<std::string>>& release, const std::string& where) {
        std::map<std::string, Tensor> env;
        HQ_ASSERT(args.size() == g.inputs.size(), where);
        for (size_t i = 0; i < args.size(); ++i) {
            const auto& vi = g.inputs[i];
            HQ_CHECK(vi.dtype == DType::Undefined || vi.dtype == args[i].dtype(), where, ": input '", vi.name,
                     "' expects ", dtype_name(vi.dtype), ", got ", dtype_name(args[i].dtype()));
            env[vi.name] = std::move(args[i]);
        }
        ScopeLookup lookup = [&](const std::string& v) -> const Tensor* {
            auto it = env.find(v);
            if (it != env.end()) return &it->second;
            auto jt = g.initializers.find(v);
            if (jt != g.initializers.end()) return &jt->second;
            return outer(v);
        };
        for (size_t ni = 0; ni < g.nodes.size(); ++ni) {
            const auto& n = g.nodes[ni];
            KernelContext ctx(n, m.opset(n.domain));
            ctx.inputs.reserve(n.inputs.size());
            for (const auto& in : n.inputs) {
                if (in.empty()) {
                    ctx.inputs.push_back(nullptr);
                    continue;
                }
                const Tensor* t = lookup(in);
                HQ_CHECK(t, where, " > ", n.label(), ": input '", in, "' is not defined in this scope or above");
                ctx.inputs.push_back(t);
            }
            if (is_control_flow(n)) run_control_flow(ctx, m, backend, lookup, observer);
            else backend.run(ctx);
            for (size_t k = 0; k < n.outputs.size(); ++k) {
                if (n.outputs[k].empty()) continue;
                HQ_ASSERT(!ctx.outputs[k].empty(), n.label(), ": output ", k, " not produced");
                if (observer) observer(n.outputs[k], ctx.outputs[k], n);
                env[n.outputs[k]] = std::move(ctx.outputs[k]);
            }
            for (const auto& v : release[ni]) env.erase(v);
        }
        std::vector<Tensor> out;
        out.reserve(g.outputs.size());
        for (const auto& o : g.outputs) {
            const Tensor* t = lookup(o.name);
            HQ_CHECK(t, where, ": output '", o.name, "' is not computed");
            out.push_back(*t);
        }
        return out;
    }
};

// Per node of g, the values g defines that are read for the last time there (subgraph outputs stay).
std::vector<std::vector<std::string>> release_plan(const graph::Graph& g) {
    std::map<std::string, size_t> last;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        for (const auto& in : g.nodes[i].inputs)
            if (!in.empty()) last[in] = i;
        if (graph::has_subgraphs(g.nodes[i]))
            for (const auto& v : graph::implicit_inputs(g.nodes[i])) last[v] = i;
    }
    std::vector<std::vector<std::string>> r(g.nodes.size());
    for (const auto& [v, i] : last)
        if (!g.is_graph_output(v) && !g.is_initializer(v)) r[i].push_back(v);
    return r;
}

bool truth(const Tensor& t, const std::string& what) {
    HQ_CHECK(t.numel() == 1, what, " must have one element, has shape ", shape_str(t.shape()));
    return t.at_f64(0) != 0.0;
}

Tensor bool_scalar(bool v) {
    Tensor t(DType::Bool, {});
    t.data<bool>()[0] = v;
    return t;
}

// The slice of x at `index` along `axis` (rank - 1 result).
Tensor take(const Tensor& x, int64_t axis, int64_t index) {
    Shape s = x.shape();
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= s[d];
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= s[d];
    const int64_t len = s[axis];
    s.erase(s.begin() + axis);
    Tensor r(x.dtype(), s);
    if (x.dtype() == DType::String) {
        for (int64_t o = 0; o < outer; ++o)
            for (int64_t i = 0; i < inner; ++i) r.strings()[o * inner + i] = x.strings()[(o * len + index) * inner + i];
        return r;
    }
    const size_t es = dtype_size(x.dtype());
    const auto* src = static_cast<const char*>(x.raw());
    auto* dst = static_cast<char*>(r.raw());
    for (int64_t o = 0; o < outer; ++o)
        std::memcpy(dst + o * inner * es, src + ((o * len + index) * inner) * es, inner * es);
    return r;
}

// Stacks equal-shaped parts along a new axis `axis`; `like` gives dtype and element shape when parts is empty.
Tensor stack(const std::vector<Tensor>& parts, int64_t axis, DType dtype, const Shape& elem,
             const std::string& what) {
    const Shape& es_shape = parts.empty() ? elem : parts[0].shape();
    const DType dt = parts.empty() ? dtype : parts[0].dtype();
    for (const auto& p : parts) {
        HQ_CHECK(p.dtype() == dt && p.shape() == es_shape, what, ": iterations produced ", shape_str(es_shape),
                 " and ", shape_str(p.shape()), " (", dtype_name(dt), ", ", dtype_name(p.dtype()),
                 "): scan outputs must keep their shape and type");
    }
    const int64_t r = (int64_t)es_shape.size();
    HQ_CHECK(axis >= -(r + 1) && axis <= r, what, ": axis ", axis, " out of range for rank ", r + 1);
    if (axis < 0) axis += r + 1;
    Shape s = es_shape;
    const int64_t T = (int64_t)parts.size();
    s.insert(s.begin() + axis, T);
    Tensor out(dt, s);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= es_shape[d];
    for (int64_t d = axis; d < r; ++d) inner *= es_shape[d];
    for (int64_t t = 0; t < T; ++t) {
        if (dt == DType::String) {
            for (int64_t o = 0; o < outer; ++o)
                for (int64_t i = 0; i < inner; ++i)
                    out.strings()[(o * T + t) * inner + i] = parts[t].strings()[o * inner + i];
            continue;
        }
        const size_t es = dtype_size(dt);
        const auto* src = static_cast<const char*>(parts[t].raw());
        auto* dst = static_cast<char*>(out.raw());
        for (int64_t o = 0; o < outer; ++o)
            std::memcpy(dst + ((o * T + t) * inner) * es, src + o * inner * es, inner * es);
    }
    return out;
}

// Element type and shape of a body output as declared (for a scan output of zero iterations).
void declared(const graph::ValueInfo& vi, DType& dt, Shape& s) {
    dt = vi.dtype == DType::Undefined ? DType::F32 : vi.dtype;
    s.clear();
    if (!vi.has_shape) return;
    for (const auto& d : vi.dims) s.push_back(d.known() ? d.value : 0);
}

void run_if(Runner& r, KernelContext& ctx, const ScopeLookup& outer) {
    const auto& n = ctx.node;
    const bool c = truth(ctx.in(0), n.label() + ": the condition");
    const char* which = c ? "then_branch" : "else_branch";
    const graph::Graph& g = *graph_attr(n, which);
    auto outs = r.run_graph(g, {}, outer, release_plan(g), n.label() + " " + which);
    for (size_t k = 0; k < outs.size(); ++k)
        if (ctx.wants_output(k)) ctx.set(k, std::move(outs[k]));
}

void run_loop(Runner& r, KernelContext& ctx, const ScopeLookup& outer) {
    const auto& n = ctx.node;
    const graph::Graph& body = *graph_attr(n, "body");
    const std::string where = n.label() + " body";
    const bool has_m = ctx.has_input(0), has_cond = ctx.has_input(1);
    int64_t trips = 0;
    if (has_m) {
        HQ_CHECK(ctx.in(0).numel() == 1, n.label(), ": M must have one element");
        trips = ctx.in(0).at_i64(0);
    }
    bool cond = has_cond ? truth(ctx.in(1), n.label() + ": cond") : true;
    const size_t carried = n.inputs.size() - 2;
    std::vector<Tensor> state(carried);
    for (size_t k = 0; k < carried; ++k) state[k] = ctx.in(2 + k);
    const size_t scans = body.outputs.size() - 1 - carried;
    std::vector<std::vector<Tensor>> parts(scans);
    const auto release = release_plan(body);
    // Without M and cond the loop runs until the body's condition turns false (an infinite loop otherwise,
    // as ONNX specifies); the iteration counter is int64.
    for (int64_t i = 0; (!has_m || i < trips) && cond; ++i) {
        std::vector<Tensor> args;
        args.reserve(2 + carried);
        args.push_back(Tensor::from_i64({}, {i}));
        args.push_back(bool_scalar(cond));
        for (auto& s : state) args.push_back(s);
        auto outs = r.run_graph(body, std::move(args), outer, release, where);
        // The body's condition is what a while-loop (cond given) tests; with only M it is ignored.
        if (has_cond || !has_m) cond = truth(outs[0], where + ": the condition output");
        for (size_t k = 0; k < carried; ++k) state[k] = std::move(outs[1 + k]);
        for (size_t k = 0; k < scans; ++k) parts[k].push_back(std::move(outs[1 + carried + k]));
    }
    for (size_t k = 0; k < carried; ++k)
        if (ctx.wants_output(k)) ctx.set(k, std::move(state[k]));
    for (size_t k = 0; k < scans; ++k) {
        if (!ctx.wants_output(carried + k)) continue;
        DType dt;
        Shape es;
        declared(body.outputs[1 + carried + k], dt, es);
        ctx.set(carried + k, stack(parts[k], 0, dt, es, where + ": scan output '" + body.outputs[1 + carried + k].name + "'"));
    }
}

void run_scan(Runner& r, KernelContext& ctx, const ScopeLookup& outer) {
    const auto& n = ctx.node;
    const graph::Graph& body = *graph_attr(n, "body");
    const std::string where = n.label() + " body";
    const size_t nin = n.inputs.size();
    const size_t ms = (size_t)n.attr_int("num_scan_inputs", 0);
    const size_t states = nin - ms, ks = n.outputs.size() - states;
    auto in_axes = n.attr_ints("scan_input_axes", std::vector<int64_t>(ms, 0));
    auto in_dirs = n.attr_ints("scan_input_directions", std::vector<int64_t>(ms, 0));
    auto out_axes = n.attr_ints("scan_output_axes", std::vector<int64_t>(ks, 0));
    auto out_dirs = n.attr_ints("scan_output_directions", std::vector<int64_t>(ks, 0));
    int64_t len = -1;
    for (size_t j = 0; j < ms; ++j) {
        const Tensor& x = ctx.in(states + j);
        const int64_t rk = x.rank();
        HQ_CHECK(in_axes[j] >= -rk && in_axes[j] < rk, n.label(), ": scan_input_axes[", j, "] = ", in_axes[j],
                 " is out of range for input '", n.inputs[states + j], "' of shape ", shape_str(x.shape()));
        if (in_axes[j] < 0) in_axes[j] += rk;
        const int64_t l = x.shape()[in_axes[j]];
        HQ_CHECK(len < 0 || l == len, n.label(), ": scan inputs have different lengths (", len, " and ", l, ")");
        len = l;
    }
    std::vector<Tensor> state(states);
    for (size_t k = 0; k < states; ++k) state[k] = ctx.in(k);
    std::vector<std::vector<Tensor>> parts(ks);
    const auto release = release_plan(body);
    for (int64_t t = 0; t < len; ++t) {
        std::vector<Tensor> args;
        args.reserve(nin);
        for (auto& s : state) args.push_back(s);
        for (size_t j = 0; j < ms; ++j)
            args.push_back(take(ctx.in(states + j), in_axes[j], in_dirs[j] ? len - 1 - t : t));
        auto outs = r.run_graph(body, std::move(args), outer, release, where);
        for (size_t k = 0; k < states; ++k) state[k] = std::move(outs[k]);
        for (size_t k = 0; k < ks; ++k) parts[k].push_back(std::move(outs[states + k]));
    }
    for (size_t k = 0; k < states; ++k)
        if (ctx.wants_output(k)) ctx.set(k, std::move(state[k]));
    for (size_t k = 0; k < ks; ++k) {
        if (!ctx.wants_output(states + k)) continue;
        if (out_dirs[k]) std::reverse(parts[k].begin(), parts[k].end());
        DType dt;
        Shape es;
        declared(body.outputs[states + k], dt, es);
        ctx.set(states + k, stack(parts[k], out_axes[k], dt, es, where + ": scan output '" + body.outputs[states + k].name + "'"));
    }
}

}  // namespace

void run_control_flow(KernelContext& ctx, const graph::Model& m, const Backend& backend, const ScopeLookup& outer,
                      const Observer& observer) {
    Runner r{m, backend, observer};
    const auto& op = ctx.node.op_type;
    if (op == "If") run_if(r, ctx, outer);
    else if (op == "Loop") run_loop(r, ctx, outer);
    else if (op == "Scan") run_scan(r, ctx, outer);
    else HQ_FAIL(ctx.node.label(), ": not a control-flow operator");
}

}  // namespace hq::exec

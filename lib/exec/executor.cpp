#include "exec/executor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>

#include "core/error.h"
#include "exec/subgraph.h"

namespace hq::exec {

namespace {

// HQ_PROFILE=1: time per step kind (op types of a step, a fusion group's joined by '+'; HQ_PROFILE=2: per node) over the whole process,
// printed to stderr at exit, heaviest first. For finding where executor time goes; off costs one branch per step.
class Profile {
public:
    static Profile& get() {
        static Profile p;
        return p;
    }
    bool on() const { return on_; }
    bool per_node() const { return per_node_; }
    void add(const std::string& what, double sec) {
        std::lock_guard<std::mutex> lk(mu_);
        auto& e = rows_[what];
        e.first += 1;
        e.second += sec;
    }
    ~Profile() {
        if (!on_ || rows_.empty()) return;
        std::vector<std::pair<std::string, std::pair<int64_t, double>>> v(rows_.begin(), rows_.end());
        std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
        double total = 0;
        for (const auto& r : v) total += r.first[0] == '(' ? 0 : r.second.second;
        std::fprintf(stderr, "HQ_PROFILE: %-40s %10s %12s %7s\n", "step", "calls", "total ms", "%");
        for (const auto& r : v)
            std::fprintf(stderr, "HQ_PROFILE: %-40s %10lld %12.3f %7.1f\n", r.first.c_str(), (long long)r.second.first,
                         r.second.second * 1e3, r.first == "(run)" ? 100.0 : 100.0 * r.second.second / total);
    }

private:
    Profile() {
        const char* v = std::getenv("HQ_PROFILE");
        on_ = v && *v && std::string(v) != "0";
        per_node_ = on_ && std::string(v) == "2";
    }
    bool on_ = false, per_node_ = false;
    std::mutex mu_;
    std::map<std::string, std::pair<int64_t, double>> rows_;
};

// Element-wise ops that read and write any layout alike: unary activations, and binary / variadic ops whose
// constant operands are scalars (tensor operands are checked at run time to share the output's shape and layout).
bool layout_free_op(const graph::Node& n, const graph::Graph& g) {
    if (!(n.domain.empty() || n.domain == "ai.onnx") || n.outputs.size() != 1 || n.inputs.empty()) return false;
    static const std::set<std::string> unary = {"Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",
                                                "Elu", "Neg", "Abs", "Clip"};
    static const std::set<std::string> binary = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum"};
    const bool un = unary.count(n.op_type) != 0;
    if (!un && !binary.count(n.op_type)) return false;
    for (size_t k = 0; k < n.inputs.size(); ++k) {
        const std::string& v = n.inputs[k];
        if (v.empty()) continue;
        auto it = g.initializers.find(v);
        if (it == g.initializers.end()) {
            if (un && k > 0) return false;  // Clip bounds computed at run time
            continue;
        }
        if (it->second.numel() != 1 || it->second.rank() > 1) return false;
    }
    return true;
}

// A 2-D MaxPool without dilation and without the Indices output: the CPU kernel pools channel-blocked tensors as
// they are (cpu/pool.cpp), so a stem's Conv -> MaxPool -> Conv keeps the blocked layout.
bool blocked_pool(const graph::Node& n) {
    if (!(n.domain.empty() || n.domain == "ai.onnx") || n.op_type != "MaxPool") return false;
    if (n.outputs.size() > 1 && !n.outputs[1].empty()) return false;
    if (n.attr_ints("kernel_shape").size() != 2) return false;
    for (int64_t d : n.attr_ints("dilations"))
        if (d != 1) return false;
    return true;
}

// PRelu whose slope is a constant with one value per channel ([C], [C, 1, ...] or [1, C, 1, ...]; at least rank 3
// input, which the kernel checks): computed on channel-blocked tensors as they are stored.
bool blocked_prelu(const graph::Node& n, const graph::Graph& g) {
    if (!(n.domain.empty() || n.domain == "ai.onnx") || n.op_type != "PRelu" || n.inputs.size() != 2) return false;
    auto it = g.initializers.find(n.inputs[1]);
    if (it == g.initializers.end() || it->second.dtype() != DType::F32) return false;
    const Tensor& s = it->second;
    int64_t big = 0;
    for (int64_t d = 0; d < s.rank(); ++d) big += s.dim(d) != 1;
    return big <= 1 && s.rank() >= 1 && (s.rank() == 1 || s.dim(0) == s.numel() || s.dim(1) == s.numel());
}

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

Executor::Executor(const graph::Model& model, const Backend& backend) : model_(model), backend_(backend) {
    const auto& g = model_.graph;
    for (const auto& n : g.nodes) {
        std::string why = check_node(n, model_, backend_);
        HQ_CHECK(why.empty(), model_.source_path.empty() ? "" : model_.source_path + ": ", n.label(), ": ", why);
    }
    auto slot = [&](const std::string& v) {
        auto [it, added] = slot_of_.emplace(v, (int)slot_of_.size());
        return it->second;
    };
    for (const auto& i : g.inputs) input_slots_.push_back(slot(i.name));
    nodes_.resize(g.nodes.size());
    for (size_t ni = 0; ni < g.nodes.size(); ++ni) {
        const auto& n = g.nodes[ni];
        NodePlan& p = nodes_[ni];
        p.opset = model_.opset(n.domain);
        p.control_flow = is_control_flow(n);
        if (!p.control_flow) p.fn = backend_.kernel_for(n, p.opset);
        p.conv = !p.control_flow && n.op_type == "Conv" && (n.domain.empty() || n.domain == "ai.onnx");
        p.any_layout = !p.control_flow && layout_free_op(n, g);
        p.blocked_io = p.conv || (!p.control_flow && (blocked_pool(n) || blocked_prelu(n, g)));
        for (size_t k = 0; k < n.inputs.size(); ++k) {
            const auto& in = n.inputs[k];
            auto it = in.empty() ? g.initializers.end() : g.initializers.find(in);
            const bool init = it != g.initializers.end() && !slot_of_.count(in);
            p.init.push_back(init ? &it->second : nullptr);
            p.in.push_back(in.empty() || init ? -1 : slot(in));
            if (init && k < 64) p.const_mask |= uint64_t(1) << k;
        }
        for (const auto& o : n.outputs) p.out.push_back(o.empty() ? -1 : slot(o));
    }
    is_output_slot_.assign(slot_of_.size(), 0);
    for (const auto& o : g.outputs)
        if (slot_of_.count(o.name)) is_output_slot_[slot_of_.at(o.name)] = 1;
    fold_of_.assign(g.nodes.size(), -1);
    folded_pad_.assign(g.nodes.size(), 0);
    plan_steps(plain_steps_, false);
    for (const auto& n : g.nodes)
        quantized_ |= n.op_type == "QuantizeLinear" || n.op_type.rfind("QLinear", 0) == 0 ||
                      n.op_type == "DynamicQuantizeLinear";
    if (backend_.fuses()) {
        // Quantized graphs: only post-ops whose float result is bit-identical to the unfused kernels' (a last-bit
        // difference before a QuantizeLinear can flip a quantization step and move the output off ONNX Runtime's).
        groups_ = graph::plan_fusions(g, model_.opset(""), quantized_);
        pad_folds_ = graph::plan_pad_folds(g, model_.opset(""));
        for (const auto& f : pad_folds_) {
            pad_folds_slot_.push_back(slot_of_.at(f.input));
            folded_pad_out_.push_back(slot_of_.at(g.nodes[f.pad].outputs[0]));
            fold_of_[f.conv] = (int)(&f - pad_folds_.data());
            folded_pad_[f.pad] = 1;
            spdlog::trace("fusion: {} skipped, its pads go to {}", g.nodes[f.pad].label(), g.nodes[f.conv].label());
        }
        plan_steps(fused_steps_, true);
        size_t absorbed = 0;
        for (const auto& grp : groups_) {
            absorbed += grp.nodes.size() - 1;
            spdlog::trace("fusion: {}", graph::describe(grp, g));
        }
        plan_blocked(fused_steps_, true, may_block_);
        plan_blocked(plain_steps_, false, may_block_plain_);
        size_t nb = 0;
        for (char c : may_block_) nb += c;
        spdlog::debug("executor: {} fusion groups, {} nodes absorbed, {} values may stay channel-blocked",
                      groups_.size(), absorbed, nb);
    }
}

// Orders nodes into steps (a fusion group runs where its last node was) and computes release points.
void Executor::plan_steps(std::vector<Step>& steps, bool fused) {
    const auto& g = model_.graph;
    std::vector<int> group_at(g.nodes.size(), -1);  // group of a node; the group runs at its last node
    std::vector<size_t> last_of_group;
    if (fused)
        for (size_t gi = 0; gi < groups_.size(); ++gi) {
            for (size_t ni : groups_[gi].nodes) group_at[ni] = (int)gi;
            last_of_group.push_back(*std::max_element(groups_[gi].nodes.begin(), groups_[gi].nodes.end()));
        }
    for (size_t ni = 0; ni < g.nodes.size(); ++ni) {
        const int gi = group_at[ni];
        if (fused && folded_pad_[ni]) continue;  // its Conv reads the Pad's input
        if (gi < 0) {
            steps.push_back(Step{{ni}, -1, {}});
        } else if (ni == last_of_group[(size_t)gi]) {
            auto nodes = groups_[(size_t)gi].nodes;
            std::sort(nodes.begin() + 1, nodes.end());
            steps.push_back(Step{nodes, gi, {}});
        }
    }
    // Last step reading each slot (inputs and outer-scope reads of subgraphs); unread values die where made.
    std::vector<int> last(slot_of_.size(), -1);
    for (size_t si = 0; si < steps.size(); ++si)
        for (size_t ni : steps[si].nodes) {
            for (int s : nodes_[ni].out)
                if (s >= 0 && last[(size_t)s] < (int)si) last[(size_t)s] = (int)si;
            for (int s : nodes_[ni].in)
                if (s >= 0) last[(size_t)s] = (int)si;
            if (fused && fold_of_[ni] >= 0) last[(size_t)pad_folds_slot_[(size_t)fold_of_[ni]]] = (int)si;
            if (graph::has_subgraphs(g.nodes[ni]))
                for (const auto& v : graph::implicit_inputs(g.nodes[ni])) {
                    auto it = slot_of_.find(v);
                    if (it != slot_of_.end()) last[(size_t)it->second] = (int)si;
                }
        }
    for (size_t s = 0; s < last.size(); ++s)
        if (last[s] >= 0 && !is_output_slot_[s]) steps[(size_t)last[s]].release.push_back((int)s);
    // In place: a layout-free element-wise node (CPU backend) whose input 0 dies here and is read once by it.
    for (auto& st : steps) {
        if (st.nodes.size() != 1 || !backend_.fuses()) continue;
        const NodePlan& np = nodes_[st.nodes[0]];
        if (!np.any_layout || np.in.empty() || np.in[0] < 0 || np.out.empty() || np.out[0] < 0) continue;
        if (std::count(np.in.begin(), np.in.end(), np.in[0]) != 1) continue;
        st.in0_dies = std::find(st.release.begin(), st.release.end(), np.in[0]) != st.release.end();
    }
    if (!fused) return;
    auto& gp = group_plans_;
    gp.assign(groups_.size(), GroupPlan{});
    for (size_t si = 0; si < steps.size(); ++si) {
        if (steps[si].group < 0) continue;
        const auto& grp = groups_[(size_t)steps[si].group];
        GroupPlan& p = gp[(size_t)steps[si].group];
        p.out = slot_of_.at(grp.output);
        for (const auto& v : grp.fused_away) p.fused_away.push_back(slot_of_.at(v));
        for (const auto& op : grp.ops) {
            if (op.kind != graph::PostOp::Kind::Add) continue;
            auto it = slot_of_.find(op.operand);
            if (it == slot_of_.end()) {
                p.operand_init = &g.initializers.at(op.operand);
                continue;
            }
            p.operand = it->second;
            const bool graph_input =
                std::find(input_slots_.begin(), input_slots_.end(), p.operand) != input_slots_.end();
            p.operand_dies = last[(size_t)p.operand] == (int)si && !is_output_slot_[(size_t)p.operand] && !graph_input;
        }
    }
}

// Values whose every reader takes channel-blocked layout may stay blocked: readers are a Conv's input 0, a group's
// Add operand, or a layout-free element-wise op (whose output may then be blocked in turn). Where a value arrives
// blocked at a reader that cannot take it (or an element-wise op's operands differ in layout or shape), the
// executor converts it to plain first; what is returned is always plain.
void Executor::plan_blocked(const std::vector<Step>& steps, bool fused, std::vector<char>& may_block) const {
    const auto& g = model_.graph;
    may_block.assign(slot_of_.size(), 0);
    std::vector<char> bad(slot_of_.size(), 0);
    for (const auto& st : steps) {
        for (size_t j = 0; j < st.nodes.size(); ++j) {
            const size_t ni = st.nodes[j];
            const NodePlan& np = nodes_[ni];
            const bool head = j == 0 && np.blocked_io;
            const bool grouped = fused && st.group >= 0;
            if (!grouped && (head || np.any_layout) && np.out[0] >= 0) may_block[(size_t)np.out[0]] = 1;
            if (grouped && j == 0) may_block[(size_t)group_plans_[(size_t)st.group].out] = 1;
            std::vector<int> in = np.in;
            if (fused && fold_of_[ni] >= 0) in[0] = pad_folds_slot_[(size_t)fold_of_[ni]];
            for (size_t k = 0; k < in.size(); ++k) {
                if (in[k] < 0) continue;
                const bool ok = (head && k == 0) || (!grouped && np.any_layout) ||
                                (grouped && j > 0 && in[k] == group_plans_[(size_t)st.group].operand);
                if (!ok) bad[(size_t)in[k]] = 1;
            }
            if (graph::has_subgraphs(g.nodes[ni]))
                for (const auto& v : graph::implicit_inputs(g.nodes[ni]))
                    if (slot_of_.count(v)) bad[(size_t)slot_of_.at(v)] = 1;
        }
    }
    for (size_t s = 0; s < may_block.size(); ++s)
        if (bad[s] || is_output_slot_[s]) may_block[s] = 0;
}

bool Executor::run_blocked(const NodePlan& p, const RunState& rs) const {
    if (!p.any_layout || p.out.empty() || p.out[0] < 0 || !rs.may_block || !(*rs.may_block)[(size_t)p.out[0]] ||
        rs.kept[(size_t)p.out[0]])
        return false;
    const Shape* shape = nullptr;
    bool any = false;
    for (int s : p.in) {
        if (s < 0) continue;
        const Tensor& t = rs.env[(size_t)s];
        if (!rs.blocked[(size_t)s] || t.empty()) return false;
        if (shape && t.shape() != *shape) return false;
        shape = &t.shape();
        any = true;
    }
    return any;
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

// A value by name during a run: computed (and not released yet), else an initializer; nullptr otherwise.
const Tensor* Executor::value(const RunState& rs, const std::string& v) const {
    auto it = slot_of_.find(v);
    if (it != slot_of_.end() && !rs.env[(size_t)it->second].empty()) return &rs.env[(size_t)it->second];
    auto jt = model_.graph.initializers.find(v);
    return jt != model_.graph.initializers.end() ? &jt->second : nullptr;
}

void Executor::run_node(size_t ni, RunState& rs, const Observer& observer, bool in0_dies) const {
    const auto& n = model_.graph.nodes[ni];
    const NodePlan& p = nodes_[ni];
    auto& env = rs.env;
    KernelContext ctx(n, p.opset);
    ctx.const_inputs = p.const_mask;
    ctx.quantized_graph = quantized_;
    ctx.inputs.resize(n.inputs.size(), nullptr);
    const bool blocked_run = run_blocked(p, rs);
    for (size_t k = 0; k < n.inputs.size(); ++k) {
        if (p.init[k]) {
            ctx.inputs[k] = p.init[k];
        } else if (input_slot(ni, k, rs) >= 0) {
            const size_t sl = (size_t)input_slot(ni, k, rs);
            if (rs.blocked[sl] && !blocked_run) {
                if (p.blocked_io && k == 0) {
                    ctx.in_blocked = true;
                } else {  // a reader of plain layout
                    env[sl] = backend_.unblocked(env[sl]);
                    rs.blocked[sl] = 0;
                }
            }
            const Tensor& t = env[sl];
            HQ_ASSERT(!t.empty(), n.label(), ": input '", n.inputs[k], "' not computed");
            ctx.inputs[k] = &t;
        }
    }
    if (rs.fused && fold_of_[ni] >= 0) ctx.extra_pads = &pad_folds_[(size_t)fold_of_[ni]].pads;
    if (in0_dies) {  // nothing else may hold the storage (the caller's inputs, an observer's queue, `keep`)
        const size_t sl = (size_t)p.in[0];
        if (!rs.kept[sl] && !env[sl].empty() && env[sl].storage().use_count() == 1) ctx.reuse_in0 = &env[sl];
    }
    if (p.blocked_io && rs.may_block && p.out[0] >= 0)
        ctx.out_blocked_ok = (*rs.may_block)[(size_t)p.out[0]] && !rs.kept[(size_t)p.out[0]];
    if (p.control_flow) {
        ScopeLookup lookup = [&](const std::string& v) { return value(rs, v); };
        run_control_flow(ctx, model_, backend_, lookup, observer);
    } else if (p.fn) {
        p.fn(ctx);
    } else {
        backend_.run(ctx);
    }
    for (size_t k = 0; k < n.outputs.size(); ++k) {
        if (p.out[k] < 0) continue;
        HQ_ASSERT(!ctx.outputs[k].empty(), n.label(), ": output ", k, " not produced");
        if (observer) {
            Profile& prof = Profile::get();
            const auto t0 = prof.on() ? Clock::now() : Clock::time_point{};
            observer(n.outputs[k], ctx.outputs[k], n);
            if (prof.on()) prof.add("(observer, inside the steps)", seconds_since(t0));
        }
        env[(size_t)p.out[k]] = std::move(ctx.outputs[k]);
        rs.blocked[(size_t)p.out[k]] = k == 0 && (ctx.out_blocked || blocked_run);
    }
}

std::map<std::string, Tensor> Executor::run(const std::map<std::string, Tensor>& inputs, const Observer& observer,
                                            const std::set<std::string>& keep, bool observer_any_layout) const {
    const auto& g = model_.graph;
    RunState rs;
    auto& env = rs.env;
    env.resize(slot_of_.size());
    rs.blocked.assign(slot_of_.size(), 0);
    for (size_t k = 0; k < g.inputs.size(); ++k) {
        const auto& i = g.inputs[k];
        auto it = inputs.find(i.name);
        HQ_CHECK(it != inputs.end(), "no data for model input '", i.name, "'");
        check_input(i.name, it->second, "sample");
        env[(size_t)input_slots_[k]] = it->second;
    }
    for (const auto& [name, t] : inputs) {
        bool known = false;
        for (const auto& i : g.inputs) known |= i.name == name;
        HQ_CHECK(known, "sample has a tensor '", name, "' but the model has no such input");
    }
    auto& kept = rs.kept;
    kept.assign(slot_of_.size(), 0);
    for (const auto& k : keep) {
        auto it = slot_of_.find(k);
        if (it != slot_of_.end()) kept[(size_t)it->second] = 1;
    }
    // With an observer, the unfused plan: every tensor is produced and observed as without fusion (also where a
    // value to keep is a skipped Pad's result).
    rs.fused = !observer && !fused_steps_.empty();
    for (int sl : folded_pad_out_)
        if (kept[(size_t)sl]) rs.fused = false;
    const auto& steps = rs.fused ? fused_steps_ : plain_steps_;
    if (!fused_steps_.empty()) rs.may_block = rs.fused ? &may_block_ : observer_any_layout ? &may_block_plain_ : nullptr;
    Profile& prof = Profile::get();
    const auto run_t0 = Clock::now();
    for (const auto& st : steps) {
        const auto step_t0 = prof.on() ? Clock::now() : Clock::time_point{};
        bool done = false;
        if (st.group >= 0) {
            const auto& grp = groups_[(size_t)st.group];
            const GroupPlan& gp = group_plans_[(size_t)st.group];
            bool blocked = false;
            for (int s : gp.fused_away) blocked |= kept[(size_t)s] != 0;
            if (!blocked) {
                const size_t head = st.nodes[0];
                const auto& n = g.nodes[head];
                const NodePlan& p = nodes_[head];
                KernelContext ctx(n, p.opset);
                ctx.const_inputs = p.const_mask;
                ctx.quantized_graph = quantized_;
                for (size_t k = 0; k < n.inputs.size(); ++k) {
                    const int sl = input_slot(head, k, rs);
                    if (sl >= 0 && rs.blocked[(size_t)sl] && k > 0) {  // only input 0 may be blocked
                        env[(size_t)sl] = backend_.unblocked(env[(size_t)sl]);
                        rs.blocked[(size_t)sl] = 0;
                    }
                    ctx.inputs.push_back(p.init[k] ? p.init[k] : sl >= 0 ? &env[(size_t)sl] : nullptr);
                }
                const int in0 = input_slot(head, 0, rs);
                ctx.in_blocked = in0 >= 0 && rs.blocked[(size_t)in0];
                if (fold_of_[head] >= 0) ctx.extra_pads = &pad_folds_[(size_t)fold_of_[head]].pads;
                ctx.post_ops = &grp.ops;
                if (gp.operand_init) ctx.sum_operand = gp.operand_init;
                if (gp.operand >= 0) {
                    ctx.sum_operand = &env[(size_t)gp.operand];
                    ctx.sum_reusable = gp.operand_dies && !kept[(size_t)gp.operand];
                    ctx.sum_blocked = rs.blocked[(size_t)gp.operand] != 0;
                }
                ctx.out_blocked_ok = (*rs.may_block)[(size_t)gp.out] && !kept[(size_t)gp.out];
                if (p.fn) p.fn(ctx);
                else backend_.run(ctx);
                HQ_ASSERT(!ctx.outputs[0].empty(), n.label(), ": output 0 not produced");
                if (ctx.fused) {
                    env[(size_t)gp.out] = std::move(ctx.outputs[0]);
                    rs.blocked[(size_t)gp.out] = ctx.out_blocked;
                } else {  // the kernel ran the Conv alone (plain layout): the absorbed nodes run as they are
                    env[(size_t)p.out[0]] = std::move(ctx.outputs[0]);
                    rs.blocked[(size_t)p.out[0]] = 0;
                    for (size_t k = 1; k < st.nodes.size(); ++k) run_node(st.nodes[k], rs, nullptr);
                }
                done = true;
            }
        }
        if (!done)
            for (size_t ni : st.nodes) run_node(ni, rs, observer, st.in0_dies);
        for (int s : st.release)
            if (!kept[(size_t)s]) {
                env[(size_t)s] = Tensor();
                rs.blocked[(size_t)s] = 0;
            }
        if (prof.on()) {
            std::string what;
            for (size_t ni : st.nodes) what += (what.empty() ? "" : "+") + g.nodes[ni].op_type;
            if (prof.per_node()) what += " '" + g.nodes[st.nodes[0]].name + "'";
            prof.add(what, seconds_since(step_t0));
        }
    }
    for (size_t s = 0; s < env.size(); ++s)  // what is returned is plain
        if (rs.blocked[s] && !env[s].empty()) env[s] = backend_.unblocked(env[s]);
    std::map<std::string, Tensor> out;
    for (const auto& o : g.outputs) {
        const Tensor* t = value(rs, o.name);
        HQ_ASSERT(t, "output '", o.name, "' not computed");
        out[o.name] = *t;
    }
    for (const auto& k : keep) {
        const Tensor* t = value(rs, k);
        if (t) out[k] = *t;
    }
    if (prof.on()) prof.add("(run)", seconds_since(run_t0));
    return out;
}

}  // namespace hq::exec

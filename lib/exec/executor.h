// Executor: runs a model's graph on one sample (or batch) with shapes resolved at run time,
// releases each intermediate after its last consumer, and reports every produced tensor to an
// observer (calibration, sensitivity and layer-wise debugging attach here).
// Value slots, kernels and release points are resolved once at construction (no name lookups per node at run
// time). Where the backend fuses (Backend::fuses), Conv nodes absorb the element-wise ops after them
// (graph/fusion.h); a run with an observer uses the unfused plan, so the observer sees every tensor, in the same
// order, exactly as without fusion; values in `keep` are never fused away.
#pragma once
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "exec/backend.h"
#include "graph/fusion.h"
#include "graph/graph.h"

namespace hq::exec {

// Called for every value a node produces, in execution order.
using Observer = std::function<void(const std::string& value, const Tensor& t, const graph::Node& producer)>;

class Executor {
public:
    // Checks that every node is supported by `backend`; throws naming the op, its opset and the node.
    Executor(const graph::Model& model, const Backend& backend);

    // Runs the graph. `inputs` maps graph input names to tensors (checked: dtype, rank, fixed dims).
    // Returns the graph outputs, plus any value named in `keep`.
    // `observer_any_layout`: the observer only looks at the values of a tensor, not their order (min/max and
    // histograms); tensors may then reach it channel-blocked (same shape and the same elements, permuted), which lets
    // the unfused plan keep oneDNN's blocked layouts between convs and the element-wise ops between them.
    std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs, const Observer& observer = nullptr,
                                      const std::set<std::string>& keep = {}, bool observer_any_layout = false) const;

    const graph::Model& model() const { return model_; }
    // The backend nodes run on (calibration asks it for device-side tensor statistics).
    const Backend& backend() const { return backend_; }
    // Checks an input tensor against the graph input `name`; `source` names the file for messages.
    void check_input(const std::string& name, const Tensor& t, const std::string& source) const;
    // The fusion groups of the fused plan (empty where the backend does not fuse).
    const std::vector<graph::FusionGroup>& fusion_groups() const { return groups_; }
    // The Pads the fused plan skips (their Conv reads the Pad's input with widened pads).
    const std::vector<graph::PadFold>& pad_folds() const { return pad_folds_; }

private:
    struct NodePlan {
        std::vector<int> in;                // slot per input; -1: omitted or an initializer (see init)
        std::vector<const Tensor*> init;    // the initializer an input reads, else nullptr
        std::vector<int> out;               // slot per output; -1: omitted
        KernelFn fn = nullptr;              // resolved kernel (nullptr: control flow or backend.run)
        uint64_t const_mask = 0;
        int64_t opset = 0;
        bool control_flow = false;
        bool conv = false;                  // an ai.onnx Conv (may read/write channel-blocked tensors)
        bool blocked_io = false;            // a Conv, or a 2-D MaxPool without Indices: input 0 / output 0 may be
                                            // channel-blocked (the kernel converts where it cannot use them)
        bool any_layout = false;            // element-wise over same-shape tensors and scalar constants
    };
    struct Step {
        std::vector<size_t> nodes;  // one node, or a fusion group's nodes (head first)
        int group = -1;
        std::vector<int> release;   // slots whose last reader is this step
        bool in0_dies = false;      // a layout-free element-wise node whose input 0 this step releases
    };
    struct GroupPlan {
        int out = -1;               // slot of the group's result
        int operand = -1;           // slot of the Add operand (-1: none or an initializer)
        const Tensor* operand_init = nullptr;
        bool operand_dies = false;  // this step is the operand's last reader, and it is no graph input/output
        std::vector<int> fused_away;
    };
    void plan_steps(std::vector<Step>& steps, bool fused);
    // Per-run state: values, which are stored channel-blocked, which the caller keeps.
    struct RunState {
        std::vector<Tensor> env;
        std::vector<char> blocked, kept;
        bool fused = false;
        const std::vector<char>* may_block = nullptr;  // the plan's; nullptr: everything plain
    };
    // in0_dies: the step releases input 0 (the kernel may then reuse its storage, Step::in0_dies).
    void run_node(size_t ni, RunState& rs, const Observer& observer, bool in0_dies = false) const;
    // Slot input k of node ni reads in this run (a folded Pad's input for its Conv in the fused plan).
    int input_slot(size_t ni, size_t k, const RunState& rs) const {
        if (k == 0 && rs.fused && fold_of_[ni] >= 0) return pad_folds_slot_[(size_t)fold_of_[ni]];
        return nodes_[ni].in[k];
    }
    const Tensor* value(const RunState& rs, const std::string& v) const;
    void plan_blocked(const std::vector<Step>& steps, bool fused, std::vector<char>& may_block) const;
    // An element-wise step may run on blocked inputs: every tensor input blocked and of the output's shape.
    bool run_blocked(const NodePlan& p, const RunState& rs) const;

    const graph::Model& model_;
    const Backend& backend_;
    std::map<std::string, int> slot_of_;
    std::vector<int> input_slots_;
    std::vector<char> is_output_slot_;
    std::vector<NodePlan> nodes_;
    std::vector<graph::FusionGroup> groups_;
    std::vector<GroupPlan> group_plans_;
    std::vector<graph::PadFold> pad_folds_;  // fused plan only
    std::vector<int> pad_folds_slot_;        // per fold: slot of the Pad's input
    std::vector<int> folded_pad_out_;        // per fold: slot of the Pad's result (kept: the unfused plan runs)
    std::vector<int> fold_of_;               // per node: the fold whose Conv it is (-1: none)
    std::vector<char> folded_pad_;           // per node: a Pad the fused plan skips
    std::vector<Step> plain_steps_, fused_steps_;
    bool quantized_ = false;             // the graph holds quantization ops (KernelContext::quantized_graph)
    std::vector<char> may_block_;        // slot: may stay channel-blocked (fused plan): every reader takes it so
    std::vector<char> may_block_plain_;  // the same for the unfused plan (runs with a layout-free observer)
};

}  // namespace hq::exec

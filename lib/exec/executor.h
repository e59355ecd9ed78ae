// Executor: runs a model's graph on one sample (or batch) with shapes resolved at run time,
// releases each intermediate after its last consumer, and reports every produced tensor to an
// observer (calibration, sensitivity and layer-wise debugging attach here).
#pragma once
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "exec/backend.h"
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
    std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs, const Observer& observer = nullptr,
                                      const std::set<std::string>& keep = {}) const;

    const graph::Model& model() const { return model_; }
    // The backend nodes run on (calibration asks it for device-side tensor statistics).
    const Backend& backend() const { return backend_; }
    // Checks an input tensor against the graph input `name`; `source` names the file for messages.
    void check_input(const std::string& name, const Tensor& t, const std::string& source) const;

private:
    const graph::Model& model_;
    const Backend& backend_;
    std::vector<std::vector<std::string>> release_after_;
};

}  // namespace hq::exec

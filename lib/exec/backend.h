// Backend: one small interface a device implements (ggml-style); the CPU backend is the reference.
#pragma once
#include <memory>
#include <string>

#include "exec/kernel.h"

namespace hq::exec {

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string name() const = 0;
    // "" when the node can run here, else why not (unknown op, opset, attribute value).
    virtual std::string supports(const graph::Node& n, int64_t opset) const = 0;
    // Runs one node; inputs and outputs are host tensors.
    virtual void run(KernelContext& ctx) const = 0;
};

}  // namespace hq::exec

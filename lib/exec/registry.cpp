#include <algorithm>

#include "exec/kernel.h"

namespace hq::exec {

void KernelRegistry::add(KernelDef def) {
    HQ_ASSERT(def.fn != nullptr, def.op_type);
    auto& v = defs_[{def.domain, def.op_type}];
    v.push_back(std::move(def));
    std::sort(v.begin(), v.end(), [](const KernelDef& a, const KernelDef& b) { return a.since < b.since; });
}

const KernelDef* KernelRegistry::find(const std::string& domain, const std::string& op, int64_t opset) const {
    auto it = defs_.find({domain == "ai.onnx" ? "" : domain, op});
    if (it == defs_.end()) return nullptr;
    for (const auto& d : it->second)
        if (opset >= d.since && opset <= d.until) return &d;
    return nullptr;
}

std::vector<const KernelDef*> KernelRegistry::all() const {
    std::vector<const KernelDef*> r;
    for (const auto& [k, v] : defs_)
        for (const auto& d : v) r.push_back(&d);
    return r;
}

}  // namespace hq::exec

#include "prune/targets.h"

#include "core/error.h"

namespace hq::prune {

namespace {

const std::vector<PruneTarget>& table() {
    static const std::vector<PruneTarget> t = {
        {"dcu", "MIGraphX on Hygon DCU", 8, "MIOpen/rocBLAS tiles: channel counts in multiples of 8 (FP16/INT8)",
         false, "DCU matrix cores have no sparse (2:4) mode in MIGraphX: N:M zeros save compressed size only"},
        {"ort-cpu", "ONNX Runtime CPU (MLAS)", 16,
         "MLAS NCHWc convolutions block channels by 8 (AVX2) or 16 (AVX-512): multiples of 16 fill both", false,
         "ONNX Runtime CPU has no sparse GEMM for N:M weights: N:M zeros save compressed size only"},
        {"tensorrt", "TensorRT", 8, "tensor-core GEMM tiles want channel counts in multiples of 8", false,
         "2:4 sparse tensor cores (Ampere and later, TensorRT's sparsity flag) are not assumed: N:M zeros save "
         "compressed size only"},
        {"generic", "any ONNX engine", 1, "no engine-specific channel width assumed", false,
         "no sparse matrix units assumed: N:M zeros save compressed size only"},
    };
    return t;
}

}  // namespace

const PruneTarget& find_prune_target(const std::string& name) {
    for (const auto& t : table())
        if (t.name == name) return t;
    std::string known;
    for (const auto& t : table()) known += (known.empty() ? "" : ", ") + t.name;
    HQ_FAIL("--target '", name, "': unknown target (known: ", known, ")");
}

std::vector<std::string> prune_target_names() {
    std::vector<std::string> v;
    for (const auto& t : table()) v.push_back(t.name);
    return v;
}

}  // namespace hq::prune

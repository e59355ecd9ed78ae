// The precision plan: INT8, FP16 or FP32 for each quantizable node, with the evidence behind each
// choice (sensitivity in dB, the reason). Written next to every quantized model so a user can edit
// it and apply it again with --plan.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace hq::quant {

enum class Precision { Int8, Fp16, Fp32 };
std::string precision_name(Precision p);               // "int8" | "fp16" | "fp32"
Precision parse_precision(const std::string& s, const std::string& where);

struct LayerPlan {
    std::string node;     // node name
    std::string op_type;
    Precision precision = Precision::Int8;
    std::optional<double> sensitivity_db;  // output SQNR with only this layer quantized to INT8
    std::string reason;                    // why this precision ("default", "--exclude Conv", "sensitivity 21.3 dB < 30 dB")
};

struct Plan {
    static constexpr int kSchema = 1;
    std::string model_fingerprint;
    std::string target;                     // the engine it was made for (target.h); "" in plans before targets
    std::string activation_type = "uint8";  // uint8 (asymmetric) or int8 (symmetric)
    bool per_channel = true;
    bool reduce_range = false;  // 7-bit weights
    bool bias_correction = false, equalization = false;
    double min_sqnr_db = 30.0;
    std::vector<LayerPlan> layers;  // in graph order

    LayerPlan* find(const std::string& node);
    const LayerPlan* find(const std::string& node) const;
    std::string to_json() const;
    // Reads a plan; every node it names must exist in `m` (else hq::Error naming it).
    static Plan from_json(const std::string& text, const std::string& label);
};

// The plan's starting point: every weighted layer (Conv, ConvTranspose, Gemm, MatMul) with a constant
// weight at `precision`, and with activation_matmul the MatMuls of two activations (attention); FP32 for
// nodes matched by `exclude` (node names or op types).
Plan initial_plan(const graph::Model& m, Precision precision, const std::vector<std::string>& exclude,
                  bool activation_matmul = false);

}  // namespace hq::quant

// Targets: what each engine that runs a written model does with Q/DQ, held as data (one table in
// target.cpp) that the one placement pass (placement.h) reads. Adding an engine is one entry; no pass
// tests a target's name. Sources for every rule: ../shared/ENGINES.md and README.md ("Targets").
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "quant/plan.h"

namespace hq::quant {

struct Target {
    std::string name;    // dcu | ort-cpu | tensorrt | generic
    std::string engine;  // the engine, in words, for logs and reports
    // Defaults a user can override (--activation-type, --reduce-range; the override is logged).
    bool int8_activations = true;  // int8 symmetric (zero point 0) vs uint8 asymmetric
    bool reduce_range = false;     // 7-bit weights
    Precision fallback = Precision::Fp32;  // where a layer leaves INT8 (fp16 when the engine has fast FP16)
    bool fast_fp16 = false;

    // Placement. Weighted layers (Conv, ConvTranspose, Gemm, MatMul with a constant weight) always get Q/DQ
    // on their activation input and DQ on their weight.
    bool quantize_outputs = false;        // Q/DQ on the outputs of INT8 nodes (ORT fuses only DQ->op->Q)
    bool activation_matmul = false;       // MatMul of two activations (attention) gets Q/DQ on both inputs
    bool quantize_bias = true;            // int32 bias behind DequantizeLinear (else the bias stays float)
    bool residual_inputs = false;         // the skip input of an Add fed by an INT8 layer gets Q/DQ (TensorRT)
    // Ops with an int8 kernel that reads and writes quantized tensors (QLinearAdd, ...): quantized when
    // every activation input is already quantized, with Q/DQ on their output.
    std::set<std::string> int8_ops;
    // Ops that run on int8 unchanged when their input is quantized: the output gets the input's scale
    // and zero point so the engine drops the pair (MaxPool, Reshape, Transpose, ...).
    std::set<std::string> passthrough_ops;
    // Activations folded into the previous output's range with asymmetric activations: Q/DQ goes after
    // them (the engine removes Relu->Q and Clip(0, x)->Q), so the producer still fuses.
    std::set<std::string> folded_activations;
    // Weighted op types whose INT8 form the engine runs only with a quantized output (ORT: Conv and
    // ConvTranspose become QLinearConv only as DQ->Conv->Q). Without one it runs a float op plus a weight
    // DequantizeLinear on every run -- slower than FP32, so the speed rules keep such layers float.
    std::set<std::string> needs_output_q;
    // Weighted op types the engine has no int8 kernel for (the layer stays at the fallback precision).
    std::set<std::string> no_int8_kernel;
    // Speed rule: a Conv with fewer input or output channels than this stays at the fallback precision.
    int64_t min_channels = 0;
    // What the engine runs an INT8 node as, by op type: with a quantized output (or when the engine needs
    // none), and without one. Used by the report; an op missing here is reported as "<op> (QDQ)".
    std::map<std::string, std::string> kernel_fused, kernel_unfused;
    std::string float_kernel_suffix = " (float)";  // how a float layer is named: "Conv (float)"
};

// The target named `name`; an unknown name is an hq::Error listing the known ones.
const Target& find_target(const std::string& name);
std::vector<std::string> target_names();
const Target& default_target();  // dcu

}  // namespace hq::quant

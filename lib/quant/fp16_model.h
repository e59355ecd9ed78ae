// FP16 models as quantize's input: calibration, the plan and the QDQ rewrite work on float32, so an FP16 model is
// upcast on load (upcast_fp16) and its float16 graph inputs/outputs are restored on the written model
// (restore_fp16_io: a Cast after each such input and before each such output; names kept).
#pragma once
#include <string>
#include <vector>

#include "graph/graph.h"

namespace hq::quant {

struct Fp16Model {
    int64_t weights = 0;                         // float16 initializers / Constant tensors upcast to float32
    int64_t casts = 0;                           // Cast(to=FLOAT16) nodes (and dtype attributes) made float32
    std::vector<std::string> inputs, outputs;    // graph inputs / outputs that were float16
    bool any() const { return weights || casts || !inputs.empty() || !outputs.empty(); }
};

// Makes every float16 tensor of the main graph float32: initializers, Constant/ConstantOfShape tensor attributes,
// graph input/output/value_info types, Cast/CastLike to FLOAT16 and the dtype attribute of EyeLike/Random*. The
// float16 values are exactly representable in float32, so the weights the ranges come from are the FP16 ones.
Fp16Model upcast_fp16(graph::Model& m);

// Gives the graph inputs/outputs listed in `f` their float16 type back: input x keeps its name and feeds a
// Cast(to=FLOAT) whose output replaces x in the graph; output y is produced by a Cast(to=FLOAT16) of the float32
// value the graph computes.
void restore_fp16_io(graph::Model& m, const Fp16Model& f);

}  // namespace hq::quant

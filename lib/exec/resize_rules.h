// Resize (opset 10+) / Upsample (opset 7-9) rules shared by every backend: attribute parsing and checks,
// the parameters a node's inputs give (scales, sizes, roi, keep_aspect_ratio_policy, the legacy Upsample /
// Resize-10 behaviour), and per-axis tap tables (nearest rounding, linear/cubic weights, exclude_outside,
// antialias, tf_crop_and_resize). Backends only apply the tables.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "exec/kernel.h"

namespace hq::exec::resize {

enum class Mode { Nearest, Linear, Cubic };
enum class Coord {
    HalfPixel,
    HalfPixelSymmetric,
    PytorchHalfPixel,
    AlignCorners,
    Asymmetric,
    TfHalfPixelForNN,
    TfCropAndResize
};
enum class Round { PreferFloor, PreferCeil, Floor, Ceil, Simple };

struct Params {
    Mode mode = Mode::Nearest;
    Coord coord = Coord::HalfPixel;
    Round round = Round::PreferFloor;
    double cubic_a = -0.75;
    bool exclude_outside = false;
    bool antialias = false;
    float extrapolation = 0.f;
    std::vector<double> scales;   // per axis
    std::vector<double> resized;  // per axis: scale * input length (exactly the size when sizes are given)
    Shape out;
    std::vector<double> roi_start, roi_end;  // per axis, tf_crop_and_resize only
};

// Taps of one axis: output index j reads in[idx[j * taps + t]] with weight w[j * taps + t].
struct AxisMap {
    int64_t taps = 1;
    std::vector<int64_t> idx;
    std::vector<float> w;
    std::vector<uint8_t> outside;  // j maps outside the input (tf_crop_and_resize): extrapolation value
    bool identity = false;
    bool any_outside = false;
};

// "" when the node's attributes are supported, else why not (the KernelCheck of Resize/Upsample).
std::string check_resize(const graph::Node& n, int64_t opset);
// The parameters for the node's inputs and input shape `xs`; throws hq::Error naming the node when invalid.
Params read_params(const KernelContext& ctx, const Shape& xs);
// Tap table of one axis of input length lin resized to lout.
AxisMap axis_map(const Params& p, int64_t axis, int64_t lin, int64_t lout);

}  // namespace hq::exec::resize

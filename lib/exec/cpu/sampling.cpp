// Resampling kernels: GridSample (opset 16: 4-D input, modes bilinear/nearest/bicubic; opset 20: N-D input,
// modes linear/nearest/cubic) and Col2Im (opset 18).
// GridSample: grid [N, out..., r] holds normalized coordinates in [-1, 1], its last axis in (x, y, z, ...) order,
// i.e. the innermost spatial dim first. Denormalized per align_corners (1: -1 and 1 are the corner pixel centres;
// 0: they are the corner pixel edges). Out-of-range coordinates follow padding_mode: zeros (samples outside are 0),
// border (coordinates clamped to the edge pixels), reflection (coordinates reflected at the borders: pixel centres
// with align_corners, pixel edges without). Nearest rounds half to even; linear/bilinear weighs the 2^r
// neighbours; cubic/bicubic the 4^r neighbours with the cubic convolution coefficient -0.75 (as ONNX's reference
// and ONNX Runtime). Computed in float32 (float16/bfloat16/float64 staged).
// Col2Im: input [N, C * prod(block_shape), L]; every column of L is one block position (row-major over the block
// grid that strides, pads and dilations give), its C * prod(block_shape) values added into the image
// [N, C, image_shape...] (positions falling in the padding are dropped).
#include <algorithm>
#include <array>
#include <cmath>

#include "exec/cpu/common.h"
#include "exec/cpu/kernels.h"

namespace hq::exec::cpu {
namespace {

// ------------------------------------------------------------------------------------------------ GridSample

enum class Interp { Nearest, Linear, Cubic };
enum class Padding { Zeros, Border, Reflection };

std::string gridsample_check(const graph::Node& n, int64_t opset) {
    const std::string mode = n.attr_string("mode", opset >= 20 ? "linear" : "bilinear");
    const bool ok = opset >= 20 ? (mode == "linear" || mode == "nearest" || mode == "cubic")
                                : (mode == "bilinear" || mode == "nearest" || mode == "bicubic");
    if (!ok) return "GridSample mode '" + mode + "' is not one of opset " + std::to_string(opset) + "'s modes";
    const std::string pad = n.attr_string("padding_mode", "zeros");
    if (pad != "zeros" && pad != "border" && pad != "reflection")
        return "GridSample padding_mode '" + pad + "' is not zeros, border or reflection";
    return "";
}

float reflect(float x, float lo, float hi) {
    const float range = hi - lo;
    if (range <= 0) return lo;
    if (x < lo) {
        const float d = lo - x;
        const int64_t n = (int64_t)(d / range);
        const float r = d - (float)n * range;
        return n % 2 == 0 ? lo + r : hi - r;
    }
    if (x > hi) {
        const float d = x - hi;
        const int64_t n = (int64_t)(d / range);
        const float r = d - (float)n * range;
        return n % 2 == 0 ? hi - r : lo + r;
    }
    return x;
}

void cubic_coeffs(float t, float w[4]) {
    constexpr float A = -0.75f;
    const float x0 = t + 1, x1 = t, x2 = 1 - t, x3 = 2 - t;
    w[0] = ((A * x0 - 5 * A) * x0 + 8 * A) * x0 - 4 * A;
    w[1] = ((A + 2) * x1 - (A + 3)) * x1 * x1 + 1;
    w[2] = ((A + 2) * x2 - (A + 3)) * x2 * x2 + 1;
    w[3] = ((A * x3 - 5 * A) * x3 + 8 * A) * x3 - 4 * A;
}

void k_gridsample(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& x0 = c.in(0);
    HQ_CHECK(dtype_is_float(x0.dtype()), who, ": X must be a float tensor, got ", dtype_name(x0.dtype()));
    const Tensor x = to_f32(x0), grid = to_f32(c.in(1));
    const int64_t r = x.rank() - 2;
    HQ_CHECK(r >= 1, who, ": X ", shape_str(x.shape()), " must have rank 3 or more");
    HQ_CHECK(c.opset >= 20 || r == 2, who, ": opset ", c.opset, " GridSample takes a 4-D X, got ", shape_str(x.shape()));
    HQ_CHECK(grid.rank() == r + 2 && grid.dim(0) == x.dim(0) && grid.dim(-1) == r, who, ": grid ",
             shape_str(grid.shape()), " must be [", x.dim(0), ", out..., ", r, "] for X ", shape_str(x.shape()));
    const std::string mode = c.node.attr_string("mode", c.opset >= 20 ? "linear" : "bilinear");
    const Interp interp = mode == "nearest" ? Interp::Nearest
                          : (mode == "cubic" || mode == "bicubic") ? Interp::Cubic : Interp::Linear;
    HQ_CHECK(interp != Interp::Cubic || r == 2, who, ": ", mode, " mode takes a 4-D X, got ", shape_str(x.shape()));
    const std::string pm = c.node.attr_string("padding_mode", "zeros");
    const Padding pad = pm == "border" ? Padding::Border : pm == "reflection" ? Padding::Reflection : Padding::Zeros;
    const bool align = c.node.attr_int("align_corners", 0) != 0;

    const int64_t N = x.dim(0), C = x.dim(1);
    std::vector<int64_t> in_dims((size_t)r);  // in (x, y, z...) order: in_dims[0] is the innermost dim
    for (int64_t d = 0; d < r; ++d) in_dims[d] = x.dim(x.rank() - 1 - d);
    int64_t in_plane = 1;
    for (int64_t v : in_dims) in_plane *= v;
    Shape out_shape = {N, C};
    int64_t out_plane = 1;
    for (int64_t d = 1; d <= r; ++d) {
        out_shape.push_back(grid.dim(d));
        out_plane *= grid.dim(d);
    }
    Tensor y(DType::F32, out_shape);
    const float* px = x.data<float>();
    const float* pg = grid.data<float>();
    float* py = y.data<float>();
    // in-plane stride of coordinate axis d (x: 1, y: W, ...)
    std::vector<int64_t> stride((size_t)r, 1);
    for (int64_t d = 1; d < r; ++d) stride[d] = stride[d - 1] * in_dims[d - 1];
    const int64_t taps_per_dim = interp == Interp::Nearest ? 1 : interp == Interp::Linear ? 2 : 4;
    int64_t taps = 1;
    for (int64_t d = 0; d < r; ++d) taps *= taps_per_dim;

    parallel_for(N * out_plane, 256, [&](int64_t b, int64_t e) {
        std::vector<int64_t> base((size_t)r);
        std::vector<std::array<float, 4>> wts((size_t)r);
        std::vector<int64_t> offs((size_t)taps);
        std::vector<float> tw((size_t)taps);
        for (int64_t q = b; q < e; ++q) {
            const int64_t n = q / out_plane;
            const float* g = pg + q * r;
            for (int64_t d = 0; d < r; ++d) {
                const float size = (float)in_dims[d];
                float v = align ? (g[d] + 1) / 2 * (size - 1) : ((g[d] + 1) * size - 1) / 2;
                if (interp == Interp::Nearest) v = std::nearbyint(v);
                const float lo = align ? 0.0f : -0.5f, hi = align ? size - 1 : size - 0.5f;
                if (v < lo || v > hi) {
                    if (pad == Padding::Border) v = std::clamp(v, 0.0f, size - 1);
                    else if (pad == Padding::Reflection) v = reflect(v, lo, hi);
                }
                if (interp == Interp::Nearest) {
                    base[d] = (int64_t)v;
                    wts[d] = {1, 0, 0, 0};
                } else if (interp == Interp::Linear) {
                    const float f = std::floor(v);
                    base[d] = (int64_t)f;
                    wts[d] = {1 - (v - f), v - f, 0, 0};
                } else {
                    const float f = std::floor(v);
                    base[d] = (int64_t)f - 1;
                    float w[4];
                    cubic_coeffs(v - f, w);
                    wts[d] = {w[0], w[1], w[2], w[3]};
                }
            }
            // Per tap: the in-plane offset (-1 when the zeros padding drops it) and the product of the weights.
            for (int64_t t = 0; t < taps; ++t) {
                int64_t rem = t, off = 0;
                float w = 1;
                for (int64_t d = 0; d < r && off >= 0; ++d) {
                    const int64_t k = rem % taps_per_dim;
                    rem /= taps_per_dim;
                    int64_t i = base[d] + k;
                    const int64_t size = in_dims[d];
                    if (i < 0 || i >= size) {
                        if (pad == Padding::Zeros) {
                            off = -1;
                            break;
                        }
                        if (pad == Padding::Border) {
                            i = std::clamp<int64_t>(i, 0, size - 1);
                        } else {
                            const float lo = align ? 0.0f : -0.5f, hi = align ? (float)size - 1 : (float)size - 0.5f;
                            i = std::clamp<int64_t>((int64_t)reflect((float)i, lo, hi), 0, size - 1);
                        }
                    }
                    off += i * stride[d];
                    w *= wts[d][k];
                }
                offs[t] = off;
                tw[t] = off < 0 ? 0.0f : w;
            }
            for (int64_t ch = 0; ch < C; ++ch) {
                const float* plane = px + (n * C + ch) * in_plane;
                float acc = 0;
                for (int64_t t = 0; t < taps; ++t)
                    if (offs[t] >= 0) acc += tw[t] * plane[offs[t]];
                py[(n * C + ch) * out_plane + q % out_plane] = acc;
            }
        }
    });
    c.set(0, x0.dtype() == DType::F32 ? y : from_f32(y, x0.dtype()));
}

// ---------------------------------------------------------------------------------------------------- Col2Im

void k_col2im(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& x0 = c.in(0);
    const std::vector<int64_t> image = c.in(1).to_i64(), block = c.in(2).to_i64();
    const size_t r = image.size();
    HQ_CHECK(r >= 1 && block.size() == r, who, ": image_shape has ", r, " values and block_shape ", block.size(),
             "; they must match");
    HQ_CHECK(x0.rank() == 3, who, ": input ", shape_str(x0.shape()), " must be [N, C * prod(block_shape), L]");
    const auto dil = c.node.attr_ints("dilations", std::vector<int64_t>(r, 1));
    const auto str = c.node.attr_ints("strides", std::vector<int64_t>(r, 1));
    const auto pads = c.node.attr_ints("pads", std::vector<int64_t>(2 * r, 0));
    HQ_CHECK(dil.size() == r && str.size() == r && pads.size() == 2 * r, who,
             ": dilations, strides and pads must have ", r, ", ", r, " and ", 2 * r, " values");
    int64_t kprod = 1, L = 1, img = 1;
    std::vector<int64_t> grid(r);
    for (size_t d = 0; d < r; ++d) {
        HQ_CHECK(block[d] > 0 && image[d] > 0 && dil[d] > 0 && str[d] > 0, who,
                 ": image_shape, block_shape, dilations and strides must be positive");
        kprod *= block[d];
        img *= image[d];
        const int64_t span = image[d] + pads[d] + pads[d + r] - dil[d] * (block[d] - 1) - 1;
        HQ_CHECK(span >= 0, who, ": block ", block[d], " (dilation ", dil[d], ") does not fit image dim ", image[d]);
        grid[d] = span / str[d] + 1;
        L *= grid[d];
    }
    HQ_CHECK(x0.dim(1) % kprod == 0, who, ": input dim 1 (", x0.dim(1), ") is not a multiple of prod(block_shape) ",
             kprod);
    HQ_CHECK(x0.dim(2) == L, who, ": input has ", x0.dim(2), " blocks, the image and block shapes give ", L);
    const int64_t N = x0.dim(0), C = x0.dim(1) / kprod;
    Shape out_shape = {N, C};
    for (int64_t v : image) out_shape.push_back(v);
    auto run = [&](auto tag) {
        using T = decltype(tag);
        Tensor y(DType::F64, out_shape);  // accumulated in float64, converted at the end
        const Tensor xs = x0.dtype() == DType::F64 ? x0 : to_f32(x0);
        double* py = y.data<double>();
        const T* px = xs.data<T>();
        parallel_for(N * C, 1, [&](int64_t b, int64_t e) {
            std::vector<int64_t> kk(r), bb(r);
            for (int64_t nc = b; nc < e; ++nc) {
                double* out = py + nc * img;
                for (int64_t k = 0; k < kprod; ++k) {
                    int64_t rem = k;
                    for (size_t d = r; d-- > 0;) {
                        kk[d] = rem % block[d];
                        rem /= block[d];
                    }
                    const T* row = px + (nc * kprod + k) * L;
                    for (int64_t l = 0; l < L; ++l) {
                        int64_t rl = l, pos = 0;
                        bool inside = true;
                        for (size_t d = r; d-- > 0;) {
                            bb[d] = rl % grid[d];
                            rl /= grid[d];
                        }
                        for (size_t d = 0; d < r && inside; ++d) {
                            const int64_t i = bb[d] * str[d] + kk[d] * dil[d] - pads[d];
                            inside = i >= 0 && i < image[d];
                            pos = pos * image[d] + i;
                        }
                        if (inside) out[pos] += (double)row[l];
                    }
                }
            }
        });
        if (x0.dtype() == DType::F64) {
            c.set(0, y);
            return;
        }
        Tensor yf(DType::F32, out_shape);
        map1(py, yf.data<float>(), y.numel(), [](double v) { return (float)v; });
        c.set(0, x0.dtype() == DType::F32 ? yf : from_f32(yf, x0.dtype()));
    };
    HQ_CHECK(dtype_is_float(x0.dtype()), who, ": input must be a float tensor, got ", dtype_name(x0.dtype()));
    if (x0.dtype() == DType::F64)
        run(double{});
    else
        run(float{});
}

}  // namespace

void register_sampling(KernelRegistry& r) {
    r.add(KernelDef{"GridSample", "", 16, INT_MAX, k_gridsample, gridsample_check});
    r.add(KernelDef{"Col2Im", "", 18, INT_MAX, k_col2im});
}

}  // namespace hq::exec::cpu

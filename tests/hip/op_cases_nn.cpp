// Op cases of Conv, Gemm, MatMul, pooling, Softmax, Reduce*, LayerNorm / InstanceNorm and Resize: odd sizes
// (not multiples of the 64 x 64 tiles), groups, strides, pads, dilations, auto_pad, broadcasting and float16.
#include <cmath>

#include "tests/hip/harness.h"

namespace hq::hiptest {

namespace {

struct ConvSpec {
    std::string desc;
    Shape x, w;
    Attrs attrs;
    bool bias = true;
};

void conv_cases(std::vector<OpCase>& v) {
    const std::vector<ConvSpec> specs = {
        {"1x1 pointwise 16->24 [1,16,9,9]", {1, 16, 9, 9}, {24, 16, 1, 1}, {}},
        {"3x3 pad 1 [2,3,13,13] -> 17", {2, 3, 13, 13}, {17, 3, 3, 3}, {{"pads", ais({1, 1, 1, 1})}}},
        {"3x3 stride 2 asymmetric pads", {1, 8, 15, 12}, {10, 8, 3, 3}, {{"strides", ais({2, 2})}, {"pads", ais({0, 1, 1, 0})}}},
        {"3x3 dilation 2", {1, 4, 16, 16}, {6, 4, 3, 3}, {{"dilations", ais({2, 2})}, {"pads", ais({2, 2, 2, 2})}}, false},
        {"5x3 kernel, stride (1,3)", {1, 5, 11, 20}, {7, 5, 5, 3}, {{"strides", ais({1, 3})}}},
        {"group 2", {1, 8, 10, 10}, {12, 4, 3, 3}, {{"group", ai(2)}, {"pads", ais({1, 1, 1, 1})}}},
        {"group 4, no bias", {2, 16, 7, 9}, {8, 4, 3, 3}, {{"group", ai(4)}}, false},
        {"depthwise 3x3", {1, 32, 14, 14}, {32, 1, 3, 3}, {{"group", ai(32)}, {"pads", ais({1, 1, 1, 1})}}},
        {"depthwise x2 multiplier stride 2", {2, 6, 9, 9}, {12, 1, 5, 5}, {{"group", ai(6)}, {"strides", ais({2, 2})}, {"pads", ais({2, 2, 2, 2})}}},
        {"auto_pad SAME_UPPER stride 2", {1, 3, 10, 11}, {4, 3, 4, 4}, {{"auto_pad", as("SAME_UPPER")}, {"strides", ais({2, 2})}}},
        {"auto_pad SAME_LOWER", {1, 3, 8, 8}, {4, 3, 2, 2}, {{"auto_pad", as("SAME_LOWER")}}},
        {"auto_pad VALID", {1, 2, 9, 9}, {3, 2, 3, 3}, {{"auto_pad", as("VALID")}, {"pads", ais({1, 1, 1, 1})}}},
        {"1-D conv", {2, 4, 50}, {6, 4, 7}, {{"pads", ais({3, 3})}, {"strides", ais({2})}}},
        {"3-D conv", {1, 2, 5, 6, 7}, {3, 2, 3, 3, 3}, {{"pads", ais({1, 1, 1, 1, 1, 1})}}},
        {"K=576 M=70 (tails)", {1, 64, 11, 11}, {70, 64, 3, 3}, {{"pads", ais({1, 1, 1, 1})}}},
        {"stem 7x7 s2 [1,3,67,67]", {1, 3, 67, 67}, {16, 3, 7, 7}, {{"strides", ais({2, 2})}, {"pads", ais({3, 3, 3, 3})}}},
    };
    uint32_t seed = 500;
    for (const auto& s : specs) {
        std::vector<Tensor> in = {rnd(s.x, seed++), rnd(s.w, seed++)};
        if (s.bias) in.push_back(rnd({s.w[0]}, seed++));
        v.push_back(make_case("Conv", s.desc, "Conv", in, s.attrs, 13, kF32Sum));
        std::vector<Tensor> in16;
        for (const auto& t : in) in16.push_back(f16(t));
        v.push_back(make_case("Conv fp16", s.desc, "Conv", in16, s.attrs, 13, kF16));
    }
    OpCase ct = make_case("ConvTranspose", "(CPU)", "ConvTranspose", {rnd({1, 4, 5, 5}, 590), rnd({4, 3, 3, 3}, 591)}, {{"strides", ais({2, 2})}}, 13, kF32Sum);
    ct.expect_device = false;
    v.push_back(ct);
}

void gemm_cases(std::vector<OpCase>& v) {
    uint32_t seed = 600;
    const int64_t M = 65, N = 67, K = 129;
    for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb) {
            Tensor A = rnd(ta ? Shape{K, M} : Shape{M, K}, seed++), B = rnd(tb ? Shape{N, K} : Shape{K, N}, seed++);
            const std::string d = std::string("transA=") + std::to_string(ta) + " transB=" + std::to_string(tb);
            v.push_back(make_case("Gemm", d + " C[N]", "Gemm", {A, B, rnd({N}, seed++)}, {{"transA", ai(ta)}, {"transB", ai(tb)}}, 13, kF32Sum));
            v.push_back(make_case("Gemm fp16", d, "Gemm", {f16(A), f16(B), f16(rnd({1, N}, seed++))}, {{"transA", ai(ta)}, {"transB", ai(tb)}}, 13, kF16));
        }
    const Tensor A = rnd({5, 33}, seed++), B = rnd({33, 7}, seed++);
    v.push_back(make_case("Gemm", "alpha 0.5 beta 2 C[M,1]", "Gemm", {A, B, rnd({5, 1}, seed++)}, {{"alpha", af(0.5f)}, {"beta", af(2.f)}}, 13, kF32Sum));
    v.push_back(make_case("Gemm", "C[M,N]", "Gemm", {A, B, rnd({5, 7}, seed++)}, {}, 13, kF32Sum));
    v.push_back(make_case("Gemm", "scalar C", "Gemm", {A, B, f32v({}, {3.f})}, {}, 13, kF32Sum));
    v.push_back(make_case("Gemm", "no C", "Gemm", {A, B}, {}, 13, kF32Sum));
    v.push_back(make_case("Gemm", "beta 0 ignores C", "Gemm", {A, B, rnd({7}, seed++)}, {{"beta", af(0.f)}}, 13, kF32Sum));
    v.push_back(make_case("Gemm", "classifier 1x2048 -> 1000", "Gemm", {rnd({1, 2048}, seed++), rnd({1000, 2048}, seed++), rnd({1000}, seed++)}, {{"transB", ai(1)}}, 13, kF32Sum));
    v.push_back(make_case("MatMul", "2-D 70x40 * 40x90", "MatMul", {rnd({70, 40}, seed++), rnd({40, 90}, seed++)}, {}, 13, kF32Sum));
    v.push_back(make_case("MatMul", "batched [2,3,9,17]*[17,5]", "MatMul", {rnd({2, 3, 9, 17}, seed++), rnd({17, 5}, seed++)}, {}, 13, kF32Sum));
    v.push_back(make_case("MatMul", "broadcast [2,1,4,8]*[1,3,8,6]", "MatMul", {rnd({2, 1, 4, 8}, seed++), rnd({1, 3, 8, 6}, seed++)}, {}, 13, kF32Sum));
    v.push_back(make_case("MatMul", "attention [1,4,33,16]*[1,4,16,33]", "MatMul", {rnd({1, 4, 33, 16}, seed++), rnd({1, 4, 16, 33}, seed++)}, {}, 13, kF32Sum));
    v.push_back(make_case("MatMul", "1-D * 2-D", "MatMul", {rnd({12}, seed++), rnd({12, 5}, seed++)}, {}, 13, kF32Sum));
    v.push_back(make_case("MatMul", "2-D * 1-D", "MatMul", {rnd({6, 12}, seed++), rnd({12}, seed++)}, {}, 13, kF32Sum));
    v.push_back(make_case("MatMul", "1-D * 1-D", "MatMul", {rnd({100}, seed++), rnd({100}, seed++)}, {}, 13, kF32Sum));
    v.push_back(make_case("MatMul", "K = 0", "MatMul", {rnd({3, 0}, seed++), rnd({0, 4}, seed++)}, {}, 13, kF32Sum));
    v.push_back(make_case("MatMul fp16", "[3,40,64]*[64,72]", "MatMul", {f16(rnd({3, 40, 64}, seed++)), f16(rnd({64, 72}, seed++))}, {}, 13, kF16));
}

void pool_cases(std::vector<OpCase>& v) {
    Tensor x = rnd({2, 3, 13, 11}, 700);
    struct P {
        std::string desc;
        Attrs attrs;
    };
    const std::vector<P> ps = {
        {"2x2 stride 2", {{"kernel_shape", ais({2, 2})}, {"strides", ais({2, 2})}}},
        {"3x3 stride 2 pad 1", {{"kernel_shape", ais({3, 3})}, {"strides", ais({2, 2})}, {"pads", ais({1, 1, 1, 1})}}},
        {"3x3 stride 2 ceil_mode", {{"kernel_shape", ais({3, 3})}, {"strides", ais({2, 2})}, {"ceil_mode", ai(1)}}},
        {"3x2 pads 1,0,2,1", {{"kernel_shape", ais({3, 2})}, {"pads", ais({1, 0, 2, 1})}}},
        {"auto_pad SAME_UPPER", {{"kernel_shape", ais({3, 3})}, {"strides", ais({2, 2})}, {"auto_pad", as("SAME_UPPER")}}},
        {"auto_pad SAME_LOWER", {{"kernel_shape", ais({2, 2})}, {"auto_pad", as("SAME_LOWER")}}},
    };
    for (const auto& p : ps) {
        v.push_back(make_case("MaxPool", p.desc, "MaxPool", {x}, p.attrs, 13, kExact));
        v.push_back(make_case("AveragePool", p.desc, "AveragePool", {x}, p.attrs, 13, kF32));
        Attrs inc = p.attrs;
        inc["count_include_pad"] = ai(1);
        v.push_back(make_case("AveragePool", p.desc + " count_include_pad", "AveragePool", {x}, inc, 13, kF32));
    }
    v.push_back(make_case("MaxPool", "dilations 2", "MaxPool", {x}, {{"kernel_shape", ais({3, 3})}, {"dilations", ais({2, 2})}}, 13, kExact));
    v.push_back(make_case("AveragePool", "dilations 2 (opset 19)", "AveragePool", {x}, {{"kernel_shape", ais({3, 3})}, {"dilations", ais({2, 2})}, {"pads", ais({1, 1, 1, 1})}}, 19, kF32));
    v.push_back(make_case("MaxPool", "1-D", "MaxPool", {rnd({2, 3, 30}, 701)}, {{"kernel_shape", ais({4})}, {"strides", ais({3})}}, 13, kExact));
    v.push_back(make_case("MaxPool", "3-D", "MaxPool", {rnd({1, 2, 6, 7, 8}, 702)}, {{"kernel_shape", ais({2, 3, 2})}, {"strides", ais({2, 2, 2})}}, 13, kExact));
    v.push_back(make_case("MaxPool fp16", "3x3 s2 p1", "MaxPool", {f16(x)}, ps[1].attrs, 13, kExact));
    v.push_back(make_case("AveragePool fp16", "3x3 s2 p1", "AveragePool", {f16(x)}, ps[1].attrs, 13, kF16));
    v.push_back(make_case("MaxPool", "opset 1", "MaxPool", {x}, {{"kernel_shape", ais({2, 2})}}, 1, kExact));
    OpCase idx = make_case("MaxPool", "with Indices (CPU)", "MaxPool", {x}, {{"kernel_shape", ais({2, 2})}}, 13, kExact, 2);
    idx.expect_device = false;
    v.push_back(idx);
    v.push_back(make_case("GlobalAveragePool", "[2,3,7,7]", "GlobalAveragePool", {rnd({2, 3, 7, 7}, 710)}, {}, 13, kF32));
    v.push_back(make_case("GlobalAveragePool", "[1,5,3000] (block reduce)", "GlobalAveragePool", {rnd({1, 5, 3000}, 711)}, {}, 13, kF32Sum));
    v.push_back(make_case("GlobalMaxPool", "[2,3,7,7]", "GlobalMaxPool", {rnd({2, 3, 7, 7}, 712)}, {}, 13, kExact));
    v.push_back(make_case("GlobalMaxPool", "[1,4,5,5,5] 3-D", "GlobalMaxPool", {rnd({1, 4, 5, 5, 5}, 713)}, {}, 13, kExact));
    v.push_back(make_case("GlobalAveragePool fp16", "[1,16,14,14]", "GlobalAveragePool", {f16(rnd({1, 16, 14, 14}, 714))}, {}, 13, kF16));
}

void softmax_reduce_cases(std::vector<OpCase>& v) {
    uint32_t seed = 800;
    for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) {
        const Tol t = std::string(op) == "Hardmax" ? kExact : kF32;
        v.push_back(make_case(op, "opset 13 axis -1 [4,1000]", op, {rnd({4, 1000}, seed++, -5, 5)}, {}, 13, t));
        v.push_back(make_case(op, "opset 13 axis 1 [2,7,5] (columns)", op, {rnd({2, 7, 5}, seed++, -5, 5)}, {{"axis", ai(1)}}, 13, t));
        v.push_back(make_case(op, "opset 11 axis 1 coerced 2-D [2,3,4]", op, {rnd({2, 3, 4}, seed++, -5, 5)}, {{"axis", ai(1)}}, 11, t));
        v.push_back(make_case(op, "opset 11 default axis", op, {rnd({3, 2, 5}, seed++, -5, 5)}, {}, 11, t));
        v.push_back(make_case(op, "short rows [300,10]", op, {rnd({300, 10}, seed++, -5, 5)}, {}, 13, t));
        v.push_back(make_case(std::string(op) + " fp16", "[8,77]", op, {f16(rnd({8, 77}, seed++, -5, 5))}, {}, 13, std::string(op) == "Hardmax" ? kExact : kF16));
    }
    v.push_back(make_case("Hardmax", "ties pick the first", "Hardmax", {grid({6, 40}, seed++, 1.f, 2)}, {}, 13, kExact));
    v.push_back(make_case("Hardmax", "ties in columns", "Hardmax", {grid({3, 8, 4}, seed++, 1.f, 1)}, {{"axis", ai(1)}}, 13, kExact));
    const char* rops[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                          "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"};
    for (const char* op : rops) {
        const std::string o = op;
        const bool exact = o == "ReduceMax" || o == "ReduceMin";
        const Tol t = exact ? kExact : kF32Sum;
        const float lo = (o == "ReduceLogSum" || o == "ReduceProd") ? 0.5f : -2.f, hi = o == "ReduceProd" ? 1.5f : 2.f;
        Tensor x = rnd({3, 4, 5, 6}, seed++, lo, hi);
        // opset 13: axes attribute (ReduceSum: input); opset 18: input.
        const bool sum = o == "ReduceSum";
        auto axes_case = [&](const std::string& d, std::vector<int64_t> axes, int keep, int64_t opset, const Tensor& in) {
            Attrs at{{"keepdims", ai(keep)}};
            std::vector<Tensor> ins{in};
            const bool as_input = opset >= (sum ? 13 : 18);
            if (!axes.empty()) {
                if (as_input)
                    ins.push_back(i64v({(int64_t)axes.size()}, axes));
                else
                    at["axes"] = ais(axes);
            }
            v.push_back(make_case(o, d + " opset " + std::to_string(opset), op, ins, at, opset, t));
        };
        axes_case("axes [1,3] keepdims", {1, 3}, 1, 13, x);
        axes_case("axes [-1] no keepdims", {-1}, 0, 13, x);
        axes_case("all axes", {}, 1, 13, x);
        axes_case("axes [0,2]", {0, 2}, 0, 18, x);
        axes_case("axes [1,2] (merged)", {1, 2}, 1, 18, x);
        axes_case("long rows [4,4096] axis 1", {1}, 0, 18, rnd({4, 4096}, seed++, lo, hi));
        axes_case("long column [3000,2] axis 0", {0}, 0, 18, rnd({3000, 2}, seed++, lo, hi));
        if (!sum) continue;
        v.push_back(make_case("ReduceSum fp16", "axes [1]", op, {f16(rnd({4, 30, 3}, seed++)), i64v({1}, {1})}, {}, 13, kF16));
        OpCase noop = make_case("ReduceSum", "noop_with_empty_axes (a view on the CPU)", op, {x}, {{"noop_with_empty_axes", ai(1)}}, 13, kExact);
        noop.expect_device = false;
        v.push_back(noop);
    }
    v.push_back(make_case("ReduceMax", "NaN propagates", "ReduceMax", {f32v({2, 3}, {1.f, std::nanf(""), 3.f, 4.f, 5.f, 6.f})}, {{"axes", ais({1})}}, 13, kExact));
    v.push_back(make_case("ReduceLogSumExp", "large values", "ReduceLogSumExp", {rnd({3, 50}, seed++, 80, 100)}, {{"axes", ais({1})}}, 13, kF32));
}

void norm_resize_cases(std::vector<OpCase>& v) {
    uint32_t seed = 900;
    v.push_back(make_case("LayerNormalization", "axis -1 [2,5,64] with bias", "LayerNormalization", {rnd({2, 5, 64}, seed++, -3, 5), rnd({64}, seed++), rnd({64}, seed++)}, {}, 17, kF32Sum));
    v.push_back(make_case("LayerNormalization", "axis 1 [3,4,5] no bias, eps 1e-3", "LayerNormalization", {rnd({3, 4, 5}, seed++), rnd({4, 5}, seed++)}, {{"axis", ai(1)}, {"epsilon", af(1e-3f)}}, 17, kF32Sum));
    v.push_back(make_case("LayerNormalization", "scale broadcast [1]", "LayerNormalization", {rnd({4, 300}, seed++), f32v({1}, {1.5f}), rnd({300}, seed++)}, {}, 17, kF32Sum));
    v.push_back(make_case("LayerNormalization", "Mean and InvStdDev outputs", "LayerNormalization", {rnd({6, 33}, seed++, 2, 4), rnd({33}, seed++), rnd({33}, seed++)}, {}, 17, kF32Sum, 3));
    v.push_back(make_case("LayerNormalization fp16", "[4,128]", "LayerNormalization", {f16(rnd({4, 128}, seed++)), f16(rnd({128}, seed++)), f16(rnd({128}, seed++))}, {}, 17, kF16));
    v.push_back(make_case("InstanceNormalization", "[2,3,5,5]", "InstanceNormalization", {rnd({2, 3, 5, 5}, seed++, -2, 6), rnd({3}, seed++), rnd({3}, seed++)}, {{"epsilon", af(1e-4f)}}, 13, kF32Sum));
    v.push_back(make_case("InstanceNormalization", "[1,2,1000]", "InstanceNormalization", {rnd({1, 2, 1000}, seed++), rnd({2}, seed++), rnd({2}, seed++)}, {}, 13, kF32Sum));

    Tensor x = rnd({1, 2, 5, 7}, seed++);
    const Tensor none;
    auto scales = [](std::vector<float> s) { return f32v({(int64_t)s.size()}, s); };
    struct R {
        std::string desc;
        Attrs attrs;
        std::vector<float> sc;
        std::vector<int64_t> sizes;
        Tol tol;
    };
    const std::vector<R> rs = {
        {"nearest x2 asymmetric floor", {{"coordinate_transformation_mode", as("asymmetric")}, {"nearest_mode", as("floor")}}, {1, 1, 2, 2}, {}, kExact},
        {"nearest x1.7 half_pixel round_prefer_floor", {}, {1, 1, 1.7f, 1.7f}, {}, kExact},
        {"nearest round_prefer_ceil", {{"nearest_mode", as("round_prefer_ceil")}}, {1, 1, 1.5f, 2.5f}, {}, kExact},
        {"nearest ceil align_corners", {{"nearest_mode", as("ceil")}, {"coordinate_transformation_mode", as("align_corners")}}, {1, 1, 2, 3}, {}, kExact},
        {"nearest tf_half_pixel_for_nn down", {{"coordinate_transformation_mode", as("tf_half_pixel_for_nn")}}, {1, 1, 0.6f, 0.5f}, {}, kExact},
        {"linear x2 half_pixel", {{"mode", as("linear")}}, {1, 1, 2, 2}, {}, kF32},
        {"linear pytorch_half_pixel sizes", {{"mode", as("linear")}, {"coordinate_transformation_mode", as("pytorch_half_pixel")}}, {}, {1, 2, 9, 1}, kF32},
        {"linear align_corners down", {{"mode", as("linear")}, {"coordinate_transformation_mode", as("align_corners")}}, {1, 1, 0.6f, 0.7f}, {}, kF32},
        {"cubic x2", {{"mode", as("cubic")}}, {1, 1, 2, 2}, {}, kF32},
        {"cubic exclude_outside a=-0.5", {{"mode", as("cubic")}, {"exclude_outside", ai(1)}, {"cubic_coeff_a", af(-0.5f)}}, {1, 1, 1.3f, 0.8f}, {}, kF32},
        {"linear over channels too", {{"mode", as("linear")}}, {1, 2, 2, 1}, {}, kF32},
    };
    for (const auto& r : rs) {
        std::vector<Tensor> in{x, none, r.sc.empty() ? none : scales(r.sc)};
        if (!r.sizes.empty()) in.push_back(i64v({4}, r.sizes));
        v.push_back(make_case("Resize", r.desc, "Resize", in, r.attrs, 13, r.tol));
        std::vector<Tensor> in16 = in;
        in16[0] = f16(x);
        v.push_back(make_case("Resize fp16", r.desc, "Resize", in16, r.attrs, 13, r.tol.atol == 0 ? kExact : kF16));
    }
    v.push_back(make_case("Resize", "antialias linear down (opset 18)", "Resize", {x, none, scales({1, 1, 0.4f, 0.5f})}, {{"mode", as("linear")}, {"antialias", ai(1)}}, 18, kF32));
    v.push_back(make_case("Resize", "axes [2,3] sizes not_larger (opset 18)", "Resize", {x, none, none, i64v({2}, {8, 8})}, {{"axes", ais({2, 3})}, {"keep_aspect_ratio_policy", as("not_larger")}}, 18, kExact));
    v.push_back(make_case("Resize", "tf_crop_and_resize extrapolation", "Resize", {x, f32v({8}, {0, 0, -0.2f, 0.1f, 1, 1, 1.3f, 0.9f}), scales({1, 1, 1.4f, 1.2f})}, {{"mode", as("linear")}, {"coordinate_transformation_mode", as("tf_crop_and_resize")}, {"extrapolation_value", af(-7.f)}}, 13, kF32));
    v.push_back(make_case("Resize", "nearest int64", "Resize", {int_rnd(DType::I64, {1, 1, 3, 4}, seed++, -99, 99), none, scales({1, 1, 2, 1.5f})}, {}, 13, kExact));
    v.push_back(make_case("Resize", "opset 10 nearest", "Resize", {x, scales({1, 1, 2, 2})}, {}, 10, kExact));
    v.push_back(make_case("Upsample", "opset 9 linear", "Upsample", {x, scales({1, 1, 2, 1.5f})}, {{"mode", as("linear")}}, 9, kF32));
    v.push_back(make_case("Upsample", "opset 7 nearest attribute", "Upsample", {x}, {{"scales", afs({1, 1, 3, 2})}}, 7, kExact));

    // Views share storage on the CPU and are counted as such (no device work).
    OpCase rs_ = make_case("Reshape", "view (CPU, no copy)", "Reshape", {rnd({2, 6}, seed++), i64v({2}, {3, 4})}, {}, 13, kExact);
    rs_.expect_device = false;
    v.push_back(rs_);
}

}  // namespace

std::vector<OpCase> op_cases_nn() {
    std::vector<OpCase> v;
    conv_cases(v);
    gemm_cases(v);
    pool_cases(v);
    softmax_reduce_cases(v);
    norm_resize_cases(v);
    return v;
}

}  // namespace hq::hiptest

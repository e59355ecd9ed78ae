// Op cases of the elementwise, quantization and data-movement families (op_cases_nn.cpp has the rest).
#include <cfloat>
#include <cmath>

#include "tests/hip/harness.h"

namespace hq::hiptest {

namespace {

const float kNaN = std::nanf(""), kInf = INFINITY;

// Special values every exact unary op must handle like the CPU.
Tensor specials() {
    return f32v({16}, {0.f, -0.f, 1.f, -1.f, 0.5f, -0.5f, 1.5f, -2.5f, 2.5f, 1e-40f, -1e-40f, FLT_MAX, -FLT_MAX, kInf, -kInf, kNaN});
}

void binary_cases(std::vector<OpCase>& v) {
    struct Bc {
        Shape a, b;
    };
    const std::vector<Bc> shapes = {{{2, 3, 5, 7}, {2, 3, 5, 7}}, {{2, 3, 5, 7}, {7}},      {{2, 1, 5, 1}, {1, 3, 1, 7}},
                                    {{3, 1}, {1, 4}},             {{1, 37, 129}, {37, 1}}, {{4, 6}, {}},
                                    {{}, {5}},                    {{2, 0, 3}, {3}},        {{1, 1, 1, 1, 1, 1, 1, 2, 3}, {3}}};
    const char* ops[] = {"Add", "Sub", "Mul", "Div"};
    uint32_t seed = 1;
    for (const char* op : ops) {
        for (const auto& s : shapes) {
            const bool div = std::string(op) == "Div";
            Tensor b = div ? rnd(s.b, seed++, 0.5f, 2.f) : rnd(s.b, seed++);
            v.push_back(make_case(op, shape_str(s.a) + " " + shape_str(s.b), op, {rnd(s.a, seed++), b}));
        }
        v.push_back(make_case(std::string(op) + " fp16", "[2,3,5,7] [3,1,1]", op,
                              {f16(rnd({2, 3, 5, 7}, seed++)), f16(rnd({3, 1, 1}, seed++, 0.5f, 2.f))}, {}, 17, kF16));
    }
    v.push_back(make_case("Add", "opset 6 broadcast=1 axis=1 [2,3,4,5] [3]", "Add", {rnd({2, 3, 4, 5}, 90), rnd({3}, 91)},
                          {{"broadcast", ai(1)}, {"axis", ai(1)}}, 6));
    v.push_back(make_case("Div", "specials / specials", "Div", {specials(), specials()}, {}, 17, kExact));
    v.push_back(make_case("Pow", "[3,4] ^ [4]", "Pow", {rnd({3, 4}, 10, 0.1f, 3.f), rnd({4}, 11, -2.f, 2.f)}));
    v.push_back(make_case("Pow", "x ^ 2 (exact square)", "Pow", {rnd({100}, 12, -3.f, 3.f), f32v({}, {2.f})}, {}, 17, kExact));
    v.push_back(make_case("Pow fp16", "[50] ^ [50]", "Pow", {f16(rnd({50}, 13, 0.1f, 2.f)), f16(rnd({50}, 14, -2.f, 2.f))}, {}, 17, kF16));
    v.push_back(make_case("PRelu", "[2,4,5,5] slope [4,1,1]", "PRelu", {rnd({2, 4, 5, 5}, 20), rnd({4, 1, 1}, 21)}, {}, 17, kExact));
    v.push_back(make_case("PRelu", "opset 6 slope [4]", "PRelu", {rnd({2, 4, 5, 5}, 22), rnd({4}, 23)}, {}, 6, kExact));
    v.push_back(make_case("PRelu", "scalar slope", "PRelu", {rnd({3, 33}, 24), f32v({1}, {0.1f})}, {}, 17, kExact));
    const char* cmps[] = {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"};
    for (const char* op : cmps) {
        v.push_back(make_case(op, "[4,5,6] vs [5,1] (ties)", op, {grid({4, 5, 6}, 30, 0.25f, 4), grid({5, 1}, 31, 0.25f, 4)}, {}, 17, kExact));
        v.push_back(make_case(op, "specials", op, {specials(), specials()}, {}, 17, kExact));
    }
    v.push_back(make_case("Equal", "fp16 ties", "Equal", {f16(grid({64}, 32, 0.5f, 3)), f16(grid({64}, 33, 0.5f, 3))}, {}, 17, kExact));
    for (const char* op : {"Max", "Min", "Sum", "Mean"}) {
        v.push_back(make_case(op, "one input", op, {rnd({3, 4}, 40)}, {}, 17, kExact));
        v.push_back(make_case(op, "two inputs broadcast", op, {rnd({3, 4}, 41), rnd({4}, 42)}));
        v.push_back(make_case(op, "three inputs broadcast", op, {rnd({2, 1, 4}, 43), rnd({3, 1}, 44), rnd({1}, 45)}));
        v.push_back(make_case(std::string(op) + " fp16", "two inputs", op, {f16(rnd({2, 8}, 46)), f16(rnd({8}, 47))}, {}, 17, kF16));
    }
    v.push_back(make_case("Max", "NaN propagates", "Max", {specials(), f32v({}, {0.f})}, {}, 17, kExact));
    v.push_back(make_case("Min", "NaN propagates", "Min", {specials(), f32v({}, {0.f})}, {}, 17, kExact));
}

void unary_cases(std::vector<OpCase>& v) {
    struct Un {
        const char* op;
        float lo, hi;
        Attrs attrs;
        int64_t opset;
        bool exact;
    };
    const std::vector<Un> ops = {
        {"Relu", -3, 3, {}, 17, true},
        {"LeakyRelu", -3, 3, {{"alpha", af(0.1f)}}, 17, true},
        {"Elu", -3, 3, {{"alpha", af(0.7f)}}, 17, false},
        {"Celu", -3, 3, {{"alpha", af(1.3f)}}, 17, false},
        {"Selu", -3, 3, {}, 17, false},
        {"ThresholdedRelu", -3, 3, {{"alpha", af(0.5f)}}, 17, true},
        {"Sigmoid", -20, 20, {}, 17, false},
        {"HardSigmoid", -5, 5, {{"alpha", af(0.3f)}, {"beta", af(0.4f)}}, 17, false},
        {"HardSwish", -5, 5, {}, 17, false},
        {"Softplus", -20, 20, {}, 17, false},
        {"Softsign", -5, 5, {}, 17, false},
        {"Mish", -5, 5, {}, 18, false},
        {"Gelu", -5, 5, {}, 20, false},
        {"Gelu", -5, 5, {{"approximate", as("tanh")}}, 20, false},
        {"Tanh", -5, 5, {}, 17, false},
        {"Erf", -3, 3, {}, 17, false},
        {"Exp", -10, 10, {}, 17, false},
        {"Log", 0.01f, 100, {}, 17, false},
        {"Sqrt", 0, 100, {}, 17, false},
        {"Reciprocal", 0.5f, 4, {}, 17, false},
        {"Neg", -3, 3, {}, 17, true},
        {"Abs", -3, 3, {}, 17, true},
        {"Sign", -3, 3, {}, 17, true},
        {"Floor", -3, 3, {}, 17, true},
        {"Ceil", -3, 3, {}, 17, true},
        {"Round", -3, 3, {}, 17, true},
        {"Sin", -6, 6, {}, 17, false},
        {"Cos", -6, 6, {}, 17, false},
    };
    uint32_t seed = 100;
    for (const auto& u : ops) {
        const std::string g = u.op;
        const std::string a = u.attrs.count("approximate") ? " tanh" : "";
        v.push_back(make_case(g, "[3,7,11]" + a, u.op, {rnd({3, 7, 11}, seed++, u.lo, u.hi)}, u.attrs, u.opset,
                              u.exact ? kExact : kF32));
        if (u.exact) v.push_back(make_case(g, "specials", u.op, {specials()}, u.attrs, u.opset, kExact));
        v.push_back(make_case(g + " fp16", "[1000]" + a, u.op, {f16(rnd({1000}, seed++, u.lo, u.hi))}, u.attrs, u.opset,
                              u.exact ? kExact : kF16));
    }
    v.push_back(make_case("Round", "halves (to even)", "Round", {grid({64}, 150, 0.5f, 9)}, {}, 17, kExact));
    v.push_back(make_case("Relu", "large odd [1,3,1001,77]", "Relu", {rnd({1, 3, 1001, 77}, 151)}, {}, 17, kExact));
    v.push_back(make_case("Relu", "empty", "Relu", {rnd({0, 4}, 152)}, {}, 17, kExact));
    // Clip: attributes before opset 11, optional inputs from 11.
    v.push_back(make_case("Clip", "opset 6 min/max attrs", "Clip", {rnd({40}, 160, -3, 3)}, {{"min", af(-1.f)}, {"max", af(0.5f)}}, 6, kExact));
    v.push_back(make_case("Clip", "opset 6 no bounds", "Clip", {specials()}, {}, 6, kExact));
    v.push_back(make_case("Clip", "opset 13 min and max", "Clip", {rnd({40}, 161, -3, 3), f32v({}, {-0.5f}), f32v({}, {1.f})}, {}, 13, kExact));
    v.push_back(make_case("Clip", "opset 13 max only", "Clip", {specials(), Tensor(), f32v({}, {1.f})}, {}, 13, kExact));
    v.push_back(make_case("Clip", "opset 13 min only", "Clip", {specials(), f32v({}, {0.f})}, {}, 13, kExact));
    v.push_back(make_case("Clip fp16", "opset 13 (ReLU6)", "Clip", {f16(rnd({64}, 162, -8, 8)), f16(f32v({}, {0.f})), f16(f32v({}, {6.f}))}, {}, 13, kExact));
}

void cast_where_cases(std::vector<OpCase>& v) {
    // float32 -> float16: rounding ties, overflow, subnormals, NaN/Inf.
    Tensor edge = f32v({14}, {65504.f, 65519.f, 65520.f, 1e6f, -1e6f, 5.96e-8f, 2.98e-8f, 2.99e-8f, 1.0009765625f,
                              1.00048828125f, 1.00146484375f, kInf, -kInf, -0.f});
    v.push_back(make_case("Cast", "f32->f16 random", "Cast", {rnd({3, 333}, 200, -100, 100)}, {{"to", ai(10)}}, 17, kExact));
    v.push_back(make_case("Cast", "f32->f16 edges", "Cast", {edge}, {{"to", ai(10)}}, 17, kExact));
    v.push_back(make_case("Cast", "f16->f32", "Cast", {f16(rnd({3, 333}, 201, -100, 100))}, {{"to", ai(1)}}, 17, kExact));
    v.push_back(make_case("CastLike", "f32 like f16", "CastLike", {rnd({50}, 202), f16(f32v({1}, {0.f}))}, {}, 17, kExact));
    OpCase c = make_case("Cast", "f32->int32 (CPU)", "Cast", {rnd({8}, 203, -5, 5)}, {{"to", ai(6)}}, 17, kExact);
    c.expect_device = false;
    v.push_back(c);
    Tensor cond = int_rnd(DType::Bool, {2, 1, 4}, 210, 0, 1);
    v.push_back(make_case("Where", "f32 cond[2,1,4] x[3,1] y[]", "Where", {cond, rnd({3, 1}, 211), f32v({}, {7.f})}, {}, 17, kExact));
    v.push_back(make_case("Where", "int64 same shape", "Where", {int_rnd(DType::Bool, {5, 6}, 212, 0, 1), int_rnd(DType::I64, {5, 6}, 213, -9, 9), int_rnd(DType::I64, {5, 6}, 214, -9, 9)}, {}, 17, kExact));
    v.push_back(make_case("Where", "fp16 broadcast", "Where", {int_rnd(DType::Bool, {4, 1}, 215, 0, 1), f16(rnd({1, 9}, 216)), f16(rnd({4, 9}, 217))}, {}, 17, kExact));
    v.push_back(make_case("Where", "uint8 data", "Where", {int_rnd(DType::Bool, {7}, 218, 0, 1), int_rnd(DType::U8, {7}, 219, 0, 255), int_rnd(DType::U8, {1}, 220, 0, 255)}, {}, 17, kExact));
}

void norm_quant_cases(std::vector<OpCase>& v) {
    auto bn_inputs = [](Tensor x, int64_t C, uint32_t s) {
        return std::vector<Tensor>{x, rnd({C}, s, 0.5f, 2.f), rnd({C}, s + 1), rnd({C}, s + 2), rnd({C}, s + 3, 0.1f, 2.f)};
    };
    v.push_back(make_case("BatchNormalization", "[2,3,4,5] opset 15", "BatchNormalization", bn_inputs(rnd({2, 3, 4, 5}, 300), 3, 301), {{"epsilon", af(1e-3f)}}, 15));
    v.push_back(make_case("BatchNormalization", "[4,6] opset 9", "BatchNormalization", bn_inputs(rnd({4, 6}, 305), 6, 306), {}, 9));
    v.push_back(make_case("BatchNormalization fp16", "[1,8,7,7]", "BatchNormalization", [&] {
        auto in = bn_inputs(f16(rnd({1, 8, 7, 7}, 310)), 8, 311);
        for (size_t i = 1; i < in.size(); ++i) in[i] = f16(in[i]);
        return in;
    }(), {}, 15, kF16));
    OpCase tr = make_case("BatchNormalization", "training_mode=1 (CPU)", "BatchNormalization", bn_inputs(rnd({2, 3, 4}, 315), 3, 316), {{"training_mode", ai(1)}}, 15);
    tr.expect_device = false;
    v.push_back(tr);

    // QuantizeLinear: ties at .5 (round half to even), saturation, NaN/Inf, per tensor and per axis.
    Tensor ties = f32v({12}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 1000.f, -1000.f, kInf, -kInf, kNaN, 0.f});
    auto u8 = [](std::vector<int> z) {
        Tensor t(DType::U8, {(int64_t)z.size()});
        for (size_t i = 0; i < z.size(); ++i) t.data<uint8_t>()[i] = (uint8_t)z[i];
        return z.size() == 1 ? t.reshaped({}) : t;
    };
    auto i8 = [](std::vector<int> z) {
        Tensor t(DType::I8, {(int64_t)z.size()});
        for (size_t i = 0; i < z.size(); ++i) t.data<int8_t>()[i] = (int8_t)z[i];
        return z.size() == 1 ? t.reshaped({}) : t;
    };
    v.push_back(make_case("QuantizeLinear", "u8 per tensor ties/saturation", "QuantizeLinear", {ties, f32v({}, {1.f}), u8({128})}, {}, 13, kExact));
    v.push_back(make_case("QuantizeLinear", "i8 per tensor scale 0.02", "QuantizeLinear", {rnd({2, 3, 17}, 320, -3, 3), f32v({}, {0.02f}), i8({0})}, {}, 13, kExact));
    v.push_back(make_case("QuantizeLinear", "default u8, no zero point", "QuantizeLinear", {rnd({40}, 321, -1, 3), f32v({}, {0.01f})}, {}, 13, kExact));
    v.push_back(make_case("QuantizeLinear", "i8 per axis 1", "QuantizeLinear", {rnd({2, 4, 3, 3}, 322, -2, 2), rnd({4}, 323, 0.005f, 0.02f), i8({0, 1, -3, 5})}, {{"axis", ai(1)}}, 13, kExact));
    v.push_back(make_case("QuantizeLinear", "u8 per axis 0", "QuantizeLinear", {rnd({3, 10}, 324, -2, 2), rnd({3}, 325, 0.01f, 0.02f), u8({100, 128, 3})}, {{"axis", ai(0)}}, 13, kExact));
    v.push_back(make_case("QuantizeLinear", "fp16 input", "QuantizeLinear", {f16(rnd({64}, 326, -2, 2)), f32v({}, {0.015f}), i8({2})}, {}, 13, kExact));
    v.push_back(make_case("QuantizeLinear", "opset 10", "QuantizeLinear", {rnd({30}, 327, -2, 2), f32v({}, {0.05f}), u8({10})}, {}, 10, kExact));
    Tensor zp16(DType::I16, {});
    zp16.data<int16_t>()[0] = -7;
    v.push_back(make_case("QuantizeLinear", "int16 (opset 21)", "QuantizeLinear", {rnd({50}, 328, -500, 500), f32v({}, {0.01f}), zp16}, {}, 21, kExact));
    OpCase blk = make_case("QuantizeLinear", "blocked (CPU)", "QuantizeLinear", {rnd({4, 8}, 329), rnd({4, 2}, 330, 0.01f, 0.02f)}, {{"axis", ai(1)}, {"block_size", ai(4)}}, 21, kExact);
    blk.expect_device = false;
    v.push_back(blk);
    v.push_back(make_case("DequantizeLinear", "u8 per tensor", "DequantizeLinear", {int_rnd(DType::U8, {3, 40}, 331, 0, 255), f32v({}, {0.037f}), u8({131})}, {}, 13, kExact));
    v.push_back(make_case("DequantizeLinear", "i8 per axis 0 (weights)", "DequantizeLinear", {int_rnd(DType::I8, {8, 3, 3, 3}, 332, -128, 127), rnd({8}, 333, 0.001f, 0.01f), i8({0, 0, 0, 0, 0, 0, 0, 0})}, {{"axis", ai(0)}}, 13, kExact));
    v.push_back(make_case("DequantizeLinear", "int32 bias", "DequantizeLinear", {int_rnd(DType::I32, {16}, 334, -100000, 100000), rnd({16}, 335, 1e-5f, 1e-4f)}, {{"axis", ai(0)}}, 13, kExact));
    v.push_back(make_case("DequantizeLinear", "no zero point", "DequantizeLinear", {int_rnd(DType::I8, {100}, 336, -128, 127), f32v({}, {0.5f})}, {}, 13, kExact));
}

void data_cases(std::vector<OpCase>& v) {
    Tensor x4 = rnd({2, 3, 4, 5}, 400);
    v.push_back(make_case("Transpose", "default perm [2,3,4,5]", "Transpose", {x4}, {}, 17, kExact));
    v.push_back(make_case("Transpose", "perm 0,2,3,1", "Transpose", {x4}, {{"perm", ais({0, 2, 3, 1})}}, 17, kExact));
    v.push_back(make_case("Transpose", "2-D 65x129", "Transpose", {rnd({65, 129}, 401)}, {{"perm", ais({1, 0})}}, 17, kExact));
    v.push_back(make_case("Transpose", "int64 rank 5", "Transpose", {int_rnd(DType::I64, {2, 3, 2, 4, 3}, 402, -50, 50)}, {{"perm", ais({4, 0, 3, 1, 2})}}, 17, kExact));
    v.push_back(make_case("Transpose", "uint8", "Transpose", {int_rnd(DType::U8, {7, 9}, 403, 0, 255)}, {}, 17, kExact));
    v.push_back(make_case("Transpose", "fp16", "Transpose", {f16(rnd({4, 5, 6}, 404))}, {{"perm", ais({2, 0, 1})}}, 17, kExact));
    Tensor s = rnd({5, 6, 7}, 410);
    v.push_back(make_case("Slice", "starts/ends/axes", "Slice", {s, i64v({2}, {1, 2}), i64v({2}, {4, 6}), i64v({2}, {0, 2})}, {}, 13, kExact));
    v.push_back(make_case("Slice", "negative and clamped", "Slice", {s, i64v({3}, {-4, -100, 1}), i64v({3}, {-1, 100, 1000})}, {}, 13, kExact));
    v.push_back(make_case("Slice", "step -1 reverses", "Slice", {s, i64v({1}, {-1}), i64v({1}, {INT64_MIN}), i64v({1}, {2}), i64v({1}, {-1})}, {}, 13, kExact));
    v.push_back(make_case("Slice", "step 2 and -3", "Slice", {s, i64v({2}, {0, 6}), i64v({2}, {5, 0}), i64v({2}, {0, 1}), i64v({2}, {2, -3})}, {}, 13, kExact));
    v.push_back(make_case("Slice", "empty result", "Slice", {s, i64v({1}, {3}), i64v({1}, {3}), i64v({1}, {1})}, {}, 13, kExact));
    v.push_back(make_case("Slice", "opset 9 attributes", "Slice", {s}, {{"starts", ais({1})}, {"ends", ais({3})}, {"axes", ais({2})}}, 9, kExact));
    v.push_back(make_case("Slice", "int64 data", "Slice", {int_rnd(DType::I64, {10}, 411, 0, 99), i64v({1}, {2}), i64v({1}, {9}), i64v({1}, {0}), i64v({1}, {3})}, {}, 13, kExact));
    v.push_back(make_case("Expand", "[3,1] to [2,3,4]", "Expand", {rnd({3, 1}, 420), i64v({3}, {2, 3, 4})}, {}, 13, kExact));
    v.push_back(make_case("Expand", "fp16 [1,5] to [4,1]", "Expand", {f16(rnd({1, 5}, 421)), i64v({2}, {4, 1})}, {}, 13, kExact));
    v.push_back(make_case("Tile", "[2,3] x [2,3]", "Tile", {rnd({2, 3}, 430), i64v({2}, {2, 3})}, {}, 13, kExact));
    v.push_back(make_case("Tile", "int32 rank 4", "Tile", {int_rnd(DType::I32, {1, 2, 3, 2}, 431, -9, 9), i64v({4}, {2, 1, 2, 3})}, {}, 13, kExact));
    v.push_back(make_case("DepthToSpace", "DCR", "DepthToSpace", {rnd({2, 8, 3, 5}, 440)}, {{"blocksize", ai(2)}}, 13, kExact));
    v.push_back(make_case("DepthToSpace", "CRD", "DepthToSpace", {rnd({1, 18, 2, 3}, 441)}, {{"blocksize", ai(3)}, {"mode", as("CRD")}}, 13, kExact));
    v.push_back(make_case("SpaceToDepth", "blocksize 2", "SpaceToDepth", {rnd({2, 3, 4, 6}, 442)}, {{"blocksize", ai(2)}}, 13, kExact));
    v.push_back(make_case("Concat", "axis 1, three inputs", "Concat", {rnd({2, 3, 4}, 450), rnd({2, 1, 4}, 451), rnd({2, 5, 4}, 452)}, {{"axis", ai(1)}}, 13, kExact));
    v.push_back(make_case("Concat", "axis -1 with an empty input", "Concat", {rnd({3, 2}, 453), rnd({3, 0}, 454), rnd({3, 7}, 455)}, {{"axis", ai(-1)}}, 13, kExact));
    v.push_back(make_case("Concat", "axis 0 int64", "Concat", {int_rnd(DType::I64, {2}, 456, 0, 9), int_rnd(DType::I64, {3}, 457, 0, 9)}, {{"axis", ai(0)}}, 13, kExact));
    v.push_back(make_case("Concat", "fp16 axis 3", "Concat", {f16(rnd({1, 2, 3, 4}, 458)), f16(rnd({1, 2, 3, 5}, 459))}, {{"axis", ai(3)}}, 13, kExact));
    v.push_back(make_case("Split", "equal, 3 outputs", "Split", {rnd({2, 9, 4}, 460)}, {{"axis", ai(1)}}, 13, kExact, 3));
    v.push_back(make_case("Split", "split input", "Split", {rnd({7, 3}, 461), i64v({3}, {2, 0, 5})}, {}, 13, kExact, 3));
    v.push_back(make_case("Split", "opset 11 split attribute", "Split", {rnd({2, 10}, 462)}, {{"axis", ai(-1)}, {"split", ais({3, 7})}}, 11, kExact, 2));
    v.push_back(make_case("Split", "opset 18 num_outputs uneven", "Split", {rnd({11, 2}, 463)}, {{"num_outputs", ai(3)}}, 18, kExact, 3));
    v.push_back(make_case("Gather", "axis 0, 2-D indices", "Gather", {rnd({5, 4}, 470), i64v({2, 3}, {0, 4, -1, 2, 2, -5})}, {}, 13, kExact));
    v.push_back(make_case("Gather", "axis 1, scalar index", "Gather", {rnd({3, 6, 2}, 471), i64v({}, {-2})}, {{"axis", ai(1)}}, 13, kExact));
    v.push_back(make_case("Gather", "axis -1 int32 indices", "Gather", {rnd({2, 3, 8}, 472), i32v({4}, {7, 0, -8, 3})}, {{"axis", ai(-1)}}, 13, kExact));
    v.push_back(make_case("Gather", "int64 data (embedding)", "Gather", {int_rnd(DType::I64, {100, 3}, 473, -1000, 1000), int_rnd(DType::I64, {2, 5}, 474, 0, 99)}, {}, 13, kExact));
    OpCase sh = make_case("Shape", "Shape (CPU)", "Shape", {rnd({2, 3}, 480)}, {}, 13, kExact);
    sh.expect_device = false;
    v.push_back(sh);
}

}  // namespace

std::vector<OpCase> op_cases() {
    std::vector<OpCase> v;
    binary_cases(v);
    unary_cases(v);
    cast_where_cases(v);
    norm_quant_cases(v);
    data_cases(v);
    return v;
}

}  // namespace hq::hiptest

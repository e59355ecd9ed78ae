// CPU normalization kernels: LayerNormalization statistics outputs and broadcast scale, BatchNormalization with
// spatial=0 (opset < 9), float16 staging.
#include <catch2/catch.hpp>
#include <cmath>

#include "exec/cpu/cpu_backend.h"
#include "tests/unit/builder.h"

using namespace hq;
using namespace hq::test;
using test::attr_i;
using test::node;

TEST_CASE("LayerNormalization: axis 1, Mean and InvStdDev outputs, no bias", "[cpu][norm]") {
    Tensor x = test::random_tensor({2, 3, 4}, 7);
    Tensor scale = test::random_tensor({3, 4}, 8);
    auto r = eval(node("LayerNormalization", {"x", "s"}, {"y", "m", "inv"}, "", {{"axis", attr_i(1)}}), {x, scale}, 17);
    REQUIRE(r[1].shape() == Shape{2, 1, 1});
    for (int o = 0; o < 2; ++o) {
        double m = 0, v = 0;
        for (int i = 0; i < 12; ++i) m += x.data<float>()[o * 12 + i];
        m /= 12;
        for (int i = 0; i < 12; ++i) v += std::pow(x.data<float>()[o * 12 + i] - m, 2);
        const double inv = 1 / std::sqrt(v / 12 + 1e-5);
        CHECK(r[1].data<float>()[o] == Approx(m));
        CHECK(r[2].data<float>()[o] == Approx(inv));
        for (int i = 0; i < 12; ++i)
            CHECK(r[0].data<float>()[o * 12 + i] ==
                  Approx((x.data<float>()[o * 12 + i] - m) * inv * scale.data<float>()[i]).margin(1e-5));
    }
}

TEST_CASE("BatchNormalization: per-channel and spatial=0 (opset 7)", "[cpu][norm]") {
    Tensor x = f32({1, 2, 2}, {1, 2, 3, 4});
    Tensor one = f32({2}, {1, 1}), zero = f32({2}, {0, 0});
    auto a = eval(node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"}, "", {}),
                  {x, f32({2}, {2, 1}), f32({2}, {0, 1}), f32({2}, {1, 0}), one}, 15);
    CHECK(a[0].data<float>()[0] == Approx(0.0f).margin(1e-5));
    CHECK(a[0].data<float>()[3] == Approx(4 / std::sqrt(1 + 1e-5f) + 1));
    Tensor p4 = f32({2, 2}, {1, 1, 1, 1});
    auto b = eval(node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"}, "", {{"spatial", attr_i(0)}}),
                  {x, p4, f32({2, 2}, {0, 0, 0, 10}), f32({2, 2}, {1, 2, 3, 4}), p4}, 7);
    CHECK(b[0].to_f32()[3] == Approx(10.0f));
    CHECK(b[0].to_f32()[0] == Approx(0.0f).margin(1e-5));
}

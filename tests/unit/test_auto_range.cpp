// --method auto: fake quantization rounds and saturates as QuantizeLinear does; the per-tensor choice is made at
// the layer's output, so the same activations get a clipping range where the outlier channel does not reach the
// output and the full range where it does (a per-tensor criterion would choose the same for both).
#include <catch2/catch.hpp>
#include <filesystem>
#include <unistd.h>

#include "calib/auto_range.h"
#include "calib/histogram.h"
#include "core/fileio.h"
#include "core/npy.h"
#include "exec/cpu/cpu_backend.h"
#include "quant/plan.h"
#include "quant/target.h"
#include "tests/unit/builder.h"

using namespace hq;
using test::node;

TEST_CASE("auto range: fake_quantize rounds half to even and saturates", "[auto_range]") {
    Tensor x = test::f32({6}, {2.5f, 3.5f, -1.0f, 300.0f, 254.6f, 0.4f});
    auto u = calib::fake_quantize(x, 0.0f, 255.0f, false).to_f32();  // uint8, scale 1, zero point 0
    CHECK(u == std::vector<float>{2.0f, 4.0f, 0.0f, 255.0f, 255.0f, 0.0f});
    auto s = calib::fake_quantize(test::f32({3}, {-200.0f, 126.5f, -3.5f}), -127.0f, 127.0f, true).to_f32();
    CHECK(s == std::vector<float>{-127.0f, 126.0f, -4.0f});
}

namespace {

constexpr int kF = 256, kN = 8, kOutlier = 7;

// x [1, kF] -> MatMul W [kF, 4] -> y; the outlier feature's weight row is `outlier_weight`.
graph::Model model(float outlier_weight) {
    graph::Model m = test::model(13);
    auto& g = m.graph;
    g.inputs.push_back(test::value("x", {1, kF}));
    g.outputs.push_back(test::value("y", {1, 4}));
    Tensor w = test::random_tensor({kF, 4}, 5, -0.5f, 0.5f);
    for (int o = 0; o < 4; ++o) w.data<float>()[kOutlier * 4 + o] = outlier_weight;
    g.initializers["W"] = w;
    g.nodes.push_back(node("MatMul", {"x", "W"}, {"y"}, "mm"));
    return m;
}

}  // namespace

TEST_CASE("auto range: chosen at the layer's output", "[auto_range]") {
    const auto dir = std::filesystem::temp_directory_path() / ("hq_auto_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    calib::Histogram h;
    for (int i = 0; i < kN; ++i) {
        Tensor x = test::random_tensor({1, kF}, 100 + i, -1.0f, 1.0f);
        x.data<float>()[kOutlier] = 60.0f + i;  // one feature far outside the others
        h.add(x.data<float>(), x.numel());
        char name[32];
        std::snprintf(name, sizeof name, "%04d.npy", i);
        write_file_atomic((dir / name).string(), to_npy(x));
    }
    calib::CalibrationTable table;
    table.tensors["x"] = h;
    auto be = exec::cpu::make_backend();
    quant::QdqOptions qopt;
    qopt.target = quant::find_target("dcu");
    qopt.int8_activations = true;

    // Candidates: minmax, entropy and mse keep the outliers (~67); percentile 99 (the top 1% of 2048 values holds
    // the 8 outliers) clips at ~1.
    // The outlier feature does not reach the output: the clipping range quantizes the rest finely and wins.
    graph::Model quiet = model(0.0f);
    calib::DataSource d1(dir.string(), quiet.graph.inputs);
    auto plan1 = quant::initial_plan(quiet, quant::Precision::Int8, {}, true);
    auto a = calib::choose_ranges_auto(quiet, plan1, qopt, table, 99.0, d1, *be, kN);
    REQUIRE(a.method.count("x"));
    CHECK(a.method.at("x") == "percentile");
    CHECK(a.ranges.at("x").second < 30.0f);
    CHECK(a.samples == kN);

    // The same activations, but the outlier feature drives the output: clipping it costs far more than the
    // coarser step, and the full range wins.
    graph::Model loud = model(1.0f);
    calib::DataSource d2(dir.string(), loud.graph.inputs);
    auto plan2 = quant::initial_plan(loud, quant::Precision::Int8, {}, true);
    auto b = calib::choose_ranges_auto(loud, plan2, qopt, table, 99.0, d2, *be, kN);
    REQUIRE(b.method.count("x"));
    CHECK(b.ranges.at("x").second >= 60.0f);

    // Deterministic.
    auto a2 = calib::choose_ranges_auto(quiet, plan1, qopt, table, 99.0, d1, *be, kN);
    CHECK(a2.ranges == a.ranges);
    CHECK(a2.method == a.method);
    std::filesystem::remove_all(dir);
}

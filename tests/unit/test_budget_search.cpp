// The accuracy-budget search moves the damaging layer out of INT8 and meets the budget.
#include <catch2/catch.hpp>
#include <filesystem>

#include "calib/budget_search.h"
#include "calib/calibrator.h"
#include "core/fileio.h"
#include "core/npy.h"
#include "exec/cpu/cpu_backend.h"
#include "exec/executor.h"
#include "tests/unit/builder.h"

using namespace hq;
using test::node;

TEST_CASE("budget search: per-tensor INT8 breaks a layer, the search moves it to FP16", "[calib][budget]") {
    graph::Model m = test::model(13);
    auto& g = m.graph;
    g.inputs.push_back(test::value("x", {1, 16}));
    g.outputs.push_back(test::value("y", {1, 4}));
    Tensor w1 = test::random_tensor({16, 16}, 1, -0.1f, 0.1f);
    w1.data<float>()[5] = 60.0f;  // per-tensor scale 60/127 wipes out every other weight
    g.initializers["W1"] = w1;
    g.initializers["W2"] = test::random_tensor({16, 4}, 2);
    g.nodes.push_back(node("Gemm", {"x", "W1"}, {"h"}, "fc1"));
    g.nodes.push_back(node("Relu", {"h"}, {"r"}, "relu"));
    g.nodes.push_back(node("Gemm", {"r", "W2"}, {"y"}, "fc2"));

    auto dir = std::filesystem::temp_directory_path() / ("hq_budget_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto be = exec::cpu::make_backend();
    exec::Executor ex(m, *be);
    calib::EvaluateOptions eo;
    for (int i = 0; i < 40; ++i) {
        Tensor x = test::random_tensor({1, 16}, 100 + i);
        write_file_atomic((dir / (std::to_string(1000 + i) + ".npy")).string(), to_npy(x));
        auto y = ex.run({{"x", x}}).at("y").to_f32();
        eo.labels.push_back(std::max_element(y.begin(), y.end()) - y.begin());  // FP32 is 100% right
    }
    calib::DataSource data(dir.string(), g.inputs);
    calib::CalibrationTable table = calib::calibrate(ex, data, {});
    std::map<std::string, std::pair<float, float>> ranges;
    for (const auto& [name, h] : table.tensors) {
        auto r = calib::compute_range(h, calib::Method::MinMax);
        ranges[name] = {r.lo, r.hi};
    }
    quant::Plan plan = quant::initial_plan(m, quant::Precision::Int8, {});
    plan.find("fc1")->sensitivity_db = 3.0;  // the damaging layer ranks first
    plan.find("fc2")->sensitivity_db = 40.0;
    quant::QdqOptions qopt;
    qopt.per_channel = false;
    auto build = [&](const quant::Plan& p) {
        return calib::build_candidate(m, p, ranges, {}, qopt, false, {}, nullptr, nullptr);
    };
    // All INT8 loses accuracy...
    calib::AccuracySummary all8 = calib::evaluate_models(m, build(plan), data, *be, eo);
    REQUIRE(*all8.reference_accuracy == 100.0);
    REQUIRE(*all8.candidate_accuracy < 90.0);
    // ...the search gives it back by moving fc1 (the most sensitive) out of INT8.
    calib::BudgetResult r = calib::search_budget(m, plan, build, data, eo, 0.0, *be);
    CHECK(r.met);
    CHECK(r.summary.budget_ok);
    CHECK(r.plan.find("fc1")->precision != quant::Precision::Int8);
    // every moved layer was tried back toward INT8 (the second phase)
    bool tried_back = false;
    for (const auto& st : r.summary.steps) tried_back |= st.action.find("-> int8") != std::string::npos;
    CHECK(tried_back);
    REQUIRE(r.summary.steps.size() >= 2);
    CHECK(r.summary.steps[0].action.rfind("start", 0) == 0);
    CHECK_FALSE(r.summary.steps[0].within_budget);
    CHECK(*r.summary.candidate_accuracy == 100.0);
    std::filesystem::remove_all(dir);
}

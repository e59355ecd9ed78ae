// The quality guard: a layer whose INT8 form is garbage (a constant, huge input channel swamps the per-tensor
// scale) is found by the layer-wise error ranking and moved to the fallback; the others go back to INT8.
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <unistd.h>

#include "calib/budget_search.h"
#include "calib/guard.h"
#include "core/fileio.h"
#include "core/npy.h"
#include "exec/cpu/cpu_backend.h"
#include "exec/executor.h"
#include "quant/plan.h"
#include "quant/qdq_rewrite.h"
#include "quant/target.h"
#include "tests/unit/builder.h"

using namespace hq;
using test::node;

namespace {

// x (channel 0 constant 1000, channel 1 signal) -> conv1 (reads mostly channel 1) -> relu -> conv2 -> y
graph::Model model() {
    graph::Model m = test::model(13);
    auto& g = m.graph;
    g.inputs.push_back(test::value("x", {1, 2, 8, 8}));
    g.outputs.push_back(test::value("y", {1, 4, 8, 8}));
    g.initializers["W1"] = test::f32({4, 2, 1, 1}, {1e-4f, 1.0f, 1e-4f, -0.8f, 1e-4f, 0.5f, 1e-4f, 1.2f});
    g.initializers["W2"] = test::random_tensor({4, 4, 1, 1}, 3, -0.5f, 0.5f);
    g.nodes.push_back(node("Conv", {"x", "W1"}, {"c1"}, "conv1"));
    g.nodes.push_back(node("Relu", {"c1"}, {"r1"}, "relu1"));
    g.nodes.push_back(node("Conv", {"r1", "W2"}, {"y"}, "conv2"));
    return m;
}

void write_samples(const std::filesystem::path& dir, int n, uint32_t seed) {
    std::filesystem::create_directories(dir);
    for (int i = 0; i < n; ++i) {
        Tensor x = test::random_tensor({1, 2, 8, 8}, seed + i, -2.0f, 2.0f);
        for (int k = 0; k < 64; ++k) x.data<float>()[k] = 1000.0f;
        char name[32];
        std::snprintf(name, sizeof name, "%04d.npy", i);
        write_file_atomic((dir / name).string(), to_npy(x));
    }
}

std::map<std::string, std::pair<float, float>> observe(const graph::Model& m, const calib::DataSource& d) {
    auto be = exec::cpu::make_backend();
    exec::Executor ex(m, *be);
    std::map<std::string, std::pair<float, float>> r;
    for (size_t i = 0; i < d.size(); ++i) {
        auto s = d.load(i);
        auto add = [&](const std::string& name, const Tensor& t) {
            auto v = t.to_f32();
            auto [mn, mx] = std::minmax_element(v.begin(), v.end());
            auto it = r.find(name);
            std::pair<float, float> p{std::min(*mn, 0.0f), std::max(*mx, 0.0f)};
            if (it == r.end()) r[name] = p;
            else it->second = {std::min(it->second.first, p.first), std::max(it->second.second, p.second)};
        };
        add("x", s.inputs.at("x"));
        ex.run(s.inputs, [&](const std::string& name, const Tensor& t, const graph::Node&) {
            if (t.dtype() == DType::F32) add(name, t);
        });
    }
    return r;
}

// A model with its calibration and eval samples written, ranges observed, the candidate builder and the INT8 plan.
struct Setup {
    std::filesystem::path dir;
    graph::Model m;
    calib::DataSource eval;
    std::map<std::string, std::pair<float, float>> ranges;
    quant::QdqOptions q;
    quant::Plan plan;
    std::unique_ptr<exec::Backend> be = exec::cpu::make_backend();
    std::function<graph::Model(const quant::Plan&)> build = [this](const quant::Plan& p) {
        return calib::build_candidate(m, p, ranges, {}, q, false, {}, nullptr, nullptr);
    };

    Setup(graph::Model model, const std::string& tag, uint32_t calib_seed, uint32_t eval_seed)
        : dir(make_dir(tag, calib_seed, eval_seed)), m(std::move(model)),
          eval((dir / "eval").string(), m.graph.inputs) {
        ranges = observe(m, calib::DataSource((dir / "calib").string(), m.graph.inputs));
        q.target = quant::find_target("generic");
        q.int8_activations = true;
        plan = quant::initial_plan(m, quant::Precision::Int8, {});
    }
    ~Setup() { std::filesystem::remove_all(dir); }
    Setup(const Setup&) = delete;
    Setup& operator=(const Setup&) = delete;

    static std::filesystem::path make_dir(const std::string& tag, uint32_t calib_seed, uint32_t eval_seed) {
        const auto d = std::filesystem::temp_directory_path() / (tag + "_" + std::to_string(::getpid()));
        std::filesystem::remove_all(d);
        write_samples(d / "calib", 6, calib_seed);
        write_samples(d / "eval", 6, eval_seed);
        return d;
    }
};

}  // namespace

TEST_CASE("guard: repairs a garbage INT8 layer, keeps the rest INT8, records why", "[guard]") {
    Setup su(model(), "hq_guard", 10, 50);
    const auto& m = su.m;
    const auto& plan = su.plan;
    const auto& build = su.build;
    const auto& eval = su.eval;
    auto& be = su.be;
    REQUIRE(plan.layers.size() == 2);

    calib::GuardOptions off;
    off.min_sqnr_db = 0;
    calib::GuardResult unguarded = calib::run_guard(m, plan, build, eval, {}, off, *be);
    CHECK(unguarded.met);
    CHECK(unguarded.moved.empty());
    CHECK(unguarded.worst_sqnr_db < 5.0);  // the plain INT8 model is garbage

    calib::GuardOptions on;
    on.min_sqnr_db = 20;
    calib::GuardResult g = calib::run_guard(m, plan, build, eval, {}, on, *be);
    CHECK(g.met);
    CHECK(g.worst_sqnr_db >= 20.0);
    CHECK(g.initial_worst_sqnr_db == Approx(unguarded.worst_sqnr_db));
    REQUIRE(g.moved == std::vector<std::string>{"conv1"});
    CHECK(g.plan.find("conv1")->precision == quant::Precision::Fp32);
    CHECK(g.plan.find("conv1")->reason.find("guard: moved to fp32") != std::string::npos);
    CHECK(g.plan.find("conv2")->precision == quant::Precision::Int8);
    CHECK(g.worst_output == "y");

    // An unreachable guard: not met, and it says so.
    calib::GuardOptions impossible;
    impossible.min_sqnr_db = 201;  // above the 200 dB cap of exact outputs
    calib::GuardResult bad = calib::run_guard(m, plan, build, eval, {}, impossible, *be);
    CHECK_FALSE(bad.met);
}

TEST_CASE("guard: moves on to fp32 when even the fallback (fp16) cannot hold", "[guard]") {
    // x (channel 0 constant 1000, channel 1 signal) -> conv1 (1000 + 1e-3 * signal) -> Sub 1000 -> conv2 -> y:
    // conv1's output needs more than FP16's 11 bits (its ulp at 1000 is 0.5), so FP16 loses the signal like INT8.
    graph::Model m0 = test::model(13);
    auto& g = m0.graph;
    g.inputs.push_back(test::value("x", {1, 2, 8, 8}));
    g.outputs.push_back(test::value("y", {1, 4, 8, 8}));
    g.initializers["W1"] = test::f32({4, 2, 1, 1}, {1.0f, 1e-3f, 1.0f, -2e-3f, 1.0f, 3e-3f, 1.0f, 1.5e-3f});
    g.initializers["K"] = test::f32({1}, {1000.0f});
    g.initializers["W2"] = test::random_tensor({4, 4, 1, 1}, 5, -0.5f, 0.5f);
    g.nodes.push_back(node("Conv", {"x", "W1"}, {"c1"}, "conv1"));
    g.nodes.push_back(node("Sub", {"c1", "K"}, {"d"}, "sub"));
    g.nodes.push_back(node("Conv", {"d", "W2"}, {"y"}, "conv2"));
    Setup su(std::move(m0), "hq_guard16", 20, 60);
    const auto& m = su.m;
    const auto& plan = su.plan;
    const auto& build = su.build;
    const auto& eval = su.eval;
    auto& be = su.be;
    REQUIRE(plan.layers.size() == 2);

    quant::Plan all16 = plan;
    for (auto& l : all16.layers) l.precision = quant::Precision::Fp16;
    calib::GuardOptions off;
    off.min_sqnr_db = 0;
    CHECK(calib::run_guard(m, all16, build, eval, {}, off, *be).worst_sqnr_db < 10.0);  // FP16 alone loses it

    calib::GuardOptions on;
    on.min_sqnr_db = 20;
    on.fallback = quant::Precision::Fp16;
    calib::GuardResult r = calib::run_guard(m, plan, build, eval, {}, on, *be);
    CHECK(r.met);
    CHECK(r.worst_sqnr_db >= 20.0);
    CHECK(r.plan.find("conv1")->precision == quant::Precision::Fp32);
    CHECK(r.plan.find("conv1")->reason.find("and at fp16 too") != std::string::npos);
    CHECK(r.plan.find("conv2")->precision == quant::Precision::Int8);  // tried back and kept
    CHECK(r.moved == std::vector<std::string>{"conv1"});
}

// Magnitude pruning: exact sparsity per layer and globally (with the minimum kept fraction), N:M groups,
// first/last layers, exclusions and skipped layers; the pruned graph still runs.
#include <catch2/catch.hpp>
#include <cmath>

#include "core/error.h"
#include "exec/cpu/cpu_backend.h"
#include "exec/executor.h"
#include "prune/prune.h"
#include "tests/unit/builder.h"

using namespace hq;
using test::node;

namespace {

// x[1,8,6,6] -> Conv c0 (8->16, 3x3) -> Relu -> Conv c1 (16->16, 3x3) -> Conv dw (depthwise 16) -> Conv c2 (16->8, 1x1)
// -> Flatten -> Gemm fc (288->10). c1 uses a spread of magnitudes so that the global threshold hits its cap.
graph::Model small_cnn() {
    auto m = test::model(13);
    auto& g = m.graph;
    g.inputs.push_back(test::value("x", {1, 8, 6, 6}));
    g.outputs.push_back(test::value("y", {1, 10}));
    g.initializers["w0"] = test::random_tensor({16, 8, 3, 3}, 1);
    g.initializers["b0"] = test::random_tensor({16}, 2);
    g.initializers["w1"] = test::random_tensor({16, 16, 3, 3}, 3, -0.01f, 0.01f);  // tiny: global pruning targets it
    g.initializers["wd"] = test::random_tensor({16, 1, 3, 3}, 4);
    g.initializers["w2"] = test::random_tensor({8, 16, 1, 1}, 5);
    g.initializers["wf"] = test::random_tensor({288, 10}, 6);
    g.initializers["bf"] = test::random_tensor({10}, 7);
    auto pads = test::attr_ints({1, 1, 1, 1});
    g.nodes.push_back(node("Conv", {"x", "w0", "b0"}, {"a0"}, "c0", {{"pads", pads}}));
    g.nodes.push_back(node("Relu", {"a0"}, {"r0"}, "relu0"));
    g.nodes.push_back(node("Conv", {"r0", "w1"}, {"a1"}, "c1", {{"pads", pads}}));
    g.nodes.push_back(node("Conv", {"a1", "wd"}, {"ad"}, "dw", {{"pads", pads}, {"group", test::attr_i(16)}}));
    g.nodes.push_back(node("Conv", {"ad", "w2"}, {"a2"}, "c2"));
    g.nodes.push_back(node("Flatten", {"a2"}, {"f"}, "flat"));
    g.nodes.push_back(node("Gemm", {"f", "wf", "bf"}, {"y"}, "fc"));
    g.value_info["a0"] = test::value("a0", {1, 16, 6, 6});
    g.value_info["r0"] = test::value("r0", {1, 16, 6, 6});
    g.value_info["a1"] = test::value("a1", {1, 16, 6, 6});
    g.value_info["ad"] = test::value("ad", {1, 16, 6, 6});
    g.value_info["a2"] = test::value("a2", {1, 8, 6, 6});
    g.value_info["f"] = test::value("f", {1, 288});
    return m;
}

int64_t zeros(const Tensor& t) {
    int64_t z = 0;
    for (int64_t i = 0; i < t.numel(); ++i) z += t.data<float>()[i] == 0.0f;
    return z;
}

const prune::LayerResult& layer(const prune::PruneResult& r, const std::string& name) {
    for (const auto& l : r.layers)
        if (l.node == name) return l;
    FAIL("no layer " << name);
    return r.layers[0];
}

}  // namespace

TEST_CASE("unstructured per layer: exact sparsity, smallest magnitudes, ends kept", "[prune]") {
    for (double s : {0.3, 0.5, 0.9}) {
        auto m = small_cnn();
        auto orig = m.graph.initializers;
        prune::PruneOptions o;
        o.sparsity = s;
        auto r = prune::prune_model(m, o);
        REQUIRE(r.layers.size() == 5);
        CHECK(layer(r, "c0").skipped_reason.find("first layer") != std::string::npos);
        CHECK(layer(r, "fc").skipped_reason.find("last layer") != std::string::npos);
        CHECK(zeros(m.graph.initializers.at("w0")) == 0);
        CHECK(zeros(m.graph.initializers.at("wf")) == 0);
        for (const char* w : {"w1", "wd", "w2"}) {
            const Tensor& t = m.graph.initializers.at(w);
            int64_t want = std::llround(s * (double)t.numel());
            CHECK(zeros(t) == want);
            // every pruned magnitude <= every kept magnitude
            float max_pruned = 0, min_kept = 1e30f;
            for (int64_t i = 0; i < t.numel(); ++i) {
                float a = std::fabs(orig.at(w).data<float>()[i]);
                if (t.data<float>()[i] == 0.0f)
                    max_pruned = std::max(max_pruned, a);
                else {
                    min_kept = std::min(min_kept, a);
                    CHECK(t.data<float>()[i] == orig.at(w).data<float>()[i]);
                }
            }
            CHECK(max_pruned <= min_kept);
        }
        CHECK(layer(r, "c1").sparsity == Approx(std::llround(s * 2304) / 2304.0));
        CHECK(layer(r, "c1").skipped_reason.empty());
    }
    // include_ends prunes every layer
    auto m = small_cnn();
    prune::PruneOptions o;
    o.sparsity = 0.5;
    o.include_ends = true;
    auto r = prune::prune_model(m, o);
    for (const auto& l : r.layers) {
        CHECK(l.skipped_reason.empty());
        CHECK(l.zeros == std::llround(0.5 * (double)l.params));
    }
    // the pruned graph still runs
    auto be = exec::cpu::make_backend();
    exec::Executor ex(m, *be);
    auto out = ex.run({{"x", test::random_tensor({1, 8, 6, 6}, 9)}});
    CHECK(out.at("y").shape() == Shape{1, 10});
}

TEST_CASE("unstructured global: exact total, one threshold, minimum kept fraction per layer", "[prune]") {
    auto m = small_cnn();
    auto orig = m.graph.initializers;
    prune::PruneOptions o;
    o.sparsity = 0.5;
    o.scope = prune::Scope::Global;
    o.include_ends = true;
    o.min_keep = 0.1;
    auto r = prune::prune_model(m, o);
    int64_t total = 0, z = 0;
    for (const auto& l : r.layers) {
        total += l.params;
        z += l.zeros;
        CHECK(l.params - l.zeros >= (int64_t)std::ceil(0.1 * (double)l.params));
    }
    CHECK(z == std::llround(0.5 * (double)total));
    // c1's weights are all tiny: it is capped at 90%, not wiped out
    CHECK(layer(r, "c1").zeros == 2304 - 231);
    // one threshold: in uncapped layers, every pruned magnitude <= every kept magnitude across layers
    float max_pruned = 0, min_kept = 1e30f;
    for (const char* w : {"w0", "wd", "w2", "wf"}) {
        const Tensor& t = m.graph.initializers.at(w);
        for (int64_t i = 0; i < t.numel(); ++i) {
            float a = std::fabs(orig.at(w).data<float>()[i]);
            if (t.data<float>()[i] == 0.0f)
                max_pruned = std::max(max_pruned, a);
            else
                min_kept = std::min(min_kept, a);
        }
    }
    CHECK(max_pruned <= min_kept);
    // sparsity the caps cannot allow is refused
    auto m2 = small_cnn();
    o.sparsity = 0.95;
    CHECK_THROWS_AS(prune::prune_model(m2, o), hq::Error);
}

TEST_CASE("N:M: every group along the reduction axis has <= N nonzeros", "[prune]") {
    auto m = small_cnn();
    auto orig = m.graph.initializers;
    prune::PruneOptions o;
    prune::parse_pattern("2:4", o);
    REQUIRE(o.pattern == prune::Pattern::NM);
    o.include_ends = true;
    auto r = prune::prune_model(m, o);
    // depthwise: reduction dim 1, skipped with a reason
    CHECK(layer(r, "dw").skipped_reason.find("depthwise") != std::string::npos);
    CHECK(zeros(m.graph.initializers.at("wd")) == 0);
    // Conv [O, I, kh, kw]: groups of 4 input channels at each (o, kh, kw)
    for (const char* w : {"w0", "w1", "w2"}) {
        const Tensor& t = m.graph.initializers.at(w);
        const Shape& s = t.shape();
        int64_t inner = s[2] * s[3];
        for (int64_t oc = 0; oc < s[0]; ++oc)
            for (int64_t k = 0; k < inner; ++k)
                for (int64_t i0 = 0; i0 < s[1]; i0 += 4) {
                    int nz = 0;
                    float max_pruned = 0, min_kept = 1e30f;
                    for (int64_t j = 0; j < 4; ++j) {
                        int64_t idx = (oc * s[1] + i0 + j) * inner + k;
                        float a = std::fabs(orig.at(w).data<float>()[idx]);
                        if (t.data<float>()[idx] != 0.0f) {
                            ++nz;
                            min_kept = std::min(min_kept, a);
                        } else {
                            max_pruned = std::max(max_pruned, a);
                        }
                    }
                    CHECK(nz <= 2);
                    CHECK(max_pruned <= min_kept);
                }
        CHECK(layer(r, w == std::string("w0") ? "c0" : w == std::string("w1") ? "c1" : "c2").sparsity == Approx(0.5));
    }
    // Gemm [K=288, N=10] (transB=0): groups along K, i.e. down each column
    const Tensor& f = m.graph.initializers.at("wf");
    for (int64_t n = 0; n < 10; ++n)
        for (int64_t k0 = 0; k0 < 288; k0 += 4) {
            int nz = 0;
            for (int64_t j = 0; j < 4; ++j) nz += f.data<float>()[(k0 + j) * 10 + n] != 0.0f;
            CHECK(nz <= 2);
        }
    CHECK(layer(r, "fc").zeros == 1440);
    // 1:4 and a reduction dimension that is not a multiple of M
    auto m2 = small_cnn();
    prune::PruneOptions o2;
    prune::parse_pattern("1:3", o2);
    o2.include_ends = true;
    auto r2 = prune::prune_model(m2, o2);
    CHECK(layer(r2, "c1").skipped_reason.find("not a multiple of 3") != std::string::npos);
    CHECK(layer(r2, "fc").zeros == 288 * 10 * 2 / 3);
    CHECK_THROWS_AS(prune::parse_pattern("4:2", o2), hq::Error);
    CHECK_THROWS_AS(prune::parse_pattern("channelz", o2), hq::Error);
}

TEST_CASE("prune: exclusions, shared weights and MACs", "[prune]") {
    auto m = small_cnn();
    prune::PruneOptions o;
    o.sparsity = 0.5;
    o.include_ends = true;
    o.exclude = {"c1", "Gemm"};
    auto r = prune::prune_model(m, o);
    CHECK(layer(r, "c1").skipped_reason.find("excluded") != std::string::npos);
    CHECK(layer(r, "fc").skipped_reason.find("excluded") != std::string::npos);
    CHECK(layer(r, "c1").zeros == 0);
    REQUIRE(layer(r, "c0").macs);
    CHECK(*layer(r, "c0").macs == 16 * 36 * 8 * 9);
    CHECK(*layer(r, "c0").nonzero_macs == 16 * 36 * 8 * 9 / 2);
    CHECK(*layer(r, "fc").macs == 2880);
    // a weight read by two layers is left alone
    auto m2 = small_cnn();
    m2.graph.nodes[4].inputs[1] = "w2";
    m2.graph.nodes.insert(m2.graph.nodes.begin() + 5, node("Conv", {"a2", "w3"}, {"a3"}, "c3"));
    m2.graph.initializers["w3"] = test::random_tensor({8, 8, 1, 1}, 11);
    m2.graph.nodes[5].inputs[1] = "w2";  // c3 reads w2 too (shape mismatch does not matter: not run)
    auto r2 = prune::prune_model(m2, o);
    CHECK(layer(r2, "c2").skipped_reason.find("shared") != std::string::npos);
    CHECK(prune::total_parameters(small_cnn()) > prune::nonzero_parameters(m));
}

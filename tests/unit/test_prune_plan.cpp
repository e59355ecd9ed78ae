// Prune plans: the applied plan re-applies to the same model, entries override the command's pattern and
// sparsity per layer (skip, unstructured, N:M and channel mixed), and bad plans are exit-2 errors naming the
// file and the entry.
#include <catch2/catch.hpp>

#include "core/error.h"
#include "onnx_io/onnx_io.h"
#include "prune/plan.h"
#include "prune/prune.h"
#include "tests/unit/builder.h"

using namespace hq;

namespace {

// x -> c0 -> Relu -> c1 -> Relu -> c2, + Relu(c0) -> Add -> c3 -> y
graph::Model residual() {
    test::GraphBuilder b({1, 4, 6, 6});
    b.output("y", {1, 5, 6, 6});
    b.conv("c0", "x", "a0", 4, 8, 3, {1, 8, 6, 6});
    b.op("Relu", {"a0"}, "r0", {1, 8, 6, 6});
    b.conv("c1", "r0", "a1", 8, 8, 3, {1, 8, 6, 6});
    b.op("Relu", {"a1"}, "r1", {1, 8, 6, 6});
    b.conv("c2", "r1", "a2", 8, 8, 3, {1, 8, 6, 6});
    b.op("Add", {"a2", "r0"}, "s", {1, 8, 6, 6});
    b.conv("c3", "s", "y", 8, 5, 1, {1, 5, 6, 6});
    return b.m;
}

const prune::LayerResult& layer(const prune::PruneResult& r, const std::string& name) {
    for (const auto& l : r.layers)
        if (l.node == name) return l;
    FAIL("no layer " << name);
    throw 0;
}

std::string error_of(const std::function<void()>& f, ErrorKind* kind = nullptr) {
    try {
        f();
    } catch (const Error& e) {
        if (kind) *kind = e.kind();
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("prune plan: the applied plan re-applies to the same model", "[prune][plan]") {
    for (const char* pattern : {"channel", "unstructured", "2:4"}) {
        for (bool global : {false, true}) {
            if (global && std::string(pattern) == "2:4") continue;
            INFO(pattern << (global ? " global" : " layer"));
            graph::Model a = residual();
            prune::PruneOptions o;
            prune::parse_pattern(pattern, o);
            o.sparsity = 0.4;
            o.include_ends = true;
            o.min_keep = 0.2;
            o.criterion = prune::Criterion::L2;
            if (global) o.scope = prune::Scope::Global;
            auto r = prune::prune_model(a, o);
            std::string text = prune::applied_plan(o, r).to_json();
            auto plan = prune::PrunePlan::from_json(text, "plan.json");
            REQUIRE(plan.layers.size() == 4);
            if (std::string(pattern) == "channel")
                CHECK(plan.layers[3].pattern == "skip");  // c3: its output channels are the graph output's

            graph::Model b = residual();
            prune::PruneOptions p;  // other defaults: the plan says everything
            p.sparsity = 0.1;
            p.include_ends = false;
            prune::use_plan(plan, b, p, "plan.json");
            auto r2 = prune::prune_model(b, p);
            CHECK(onnx_io::serialize_model(a) == onnx_io::serialize_model(b));
            for (size_t i = 0; i < r.layers.size(); ++i) {
                CHECK(r2.layers[i].pattern == r.layers[i].pattern);
                CHECK(r2.layers[i].zeros == r.layers[i].zeros);
                CHECK(r2.layers[i].removed_channels == r.layers[i].removed_channels);
            }
        }
    }
}

TEST_CASE("prune plan: per-layer patterns and sparsities override the options", "[prune][plan]") {
    graph::Model m = residual();
    auto plan = prune::PrunePlan::from_json(R"({"schema": 1, "layers": [
        {"node": "c0", "pattern": "channel", "sparsity": 0.5},
        {"node": "c2", "pattern": "channel", "sparsity": 0.5},
        {"node": "c1", "pattern": "unstructured", "sparsity": 0.25},
        {"node": "c3", "pattern": "2:4"}]})",
                                            "p.json");
    prune::PruneOptions o;  // unstructured 0.5, first and last layers kept: all overridden by the plan
    prune::use_plan(plan, m, o, "p.json");
    auto r = prune::prune_model(m, o);
    CHECK(layer(r, "c0").channels == 4);
    CHECK(layer(r, "c2").channels == 4);
    CHECK(layer(r, "c1").pattern == "unstructured");
    CHECK(layer(r, "c1").params == 8 * 4 * 9);  // its input channels went with c0's
    CHECK(layer(r, "c1").zeros == 72);          // round(0.25 * 288)
    CHECK(layer(r, "c3").pattern == "2:4");
    CHECK(layer(r, "c3").zeros == 10);  // [5, 4, 1, 1]: half of every group of 4 input channels
    CHECK_NOTHROW(onnx_io::check_model(m, "mixed"));

    // "skip" keeps a layer (and its channel group) as it is; an entry with only a sparsity takes --pattern
    graph::Model m2 = residual();
    auto plan2 = prune::PrunePlan::from_json(R"({"schema": 1, "layers": [
        {"node": "c0", "pattern": "skip", "reason": "sensitive"},
        {"node": "c1", "sparsity": 0.25}]})",
                                             "p2.json");
    prune::PruneOptions o2;
    o2.pattern = prune::Pattern::Channel;
    o2.sparsity = 0.5;
    o2.include_ends = true;
    prune::use_plan(plan2, m2, o2, "p2.json");
    auto r2 = prune::prune_model(m2, o2);
    CHECK(layer(r2, "c0").skipped_reason == "skipped by the plan: sensitive");
    CHECK(layer(r2, "c2").skipped_reason.find("tied to 'c0'") != std::string::npos);
    CHECK(layer(r2, "c1").channels == 6);

    // layers of one channel group with different sparsities
    graph::Model m3 = residual();
    prune::PruneOptions o3;
    auto plan3 = prune::PrunePlan::from_json(R"({"schema": 1, "layers": [
        {"node": "c0", "pattern": "channel", "sparsity": 0.5},
        {"node": "c2", "pattern": "channel", "sparsity": 0.25}]})",
                                             "p3.json");
    prune::use_plan(plan3, m3, o3, "p3.json");
    CHECK(error_of([&] { prune::prune_model(m3, o3); }).find("share their output channels") != std::string::npos);
}

TEST_CASE("prune plan: bad plans name the file and the entry (exit 2)", "[prune][plan]") {
    graph::Model m = residual();
    auto bad = [&](const std::string& text) {
        ErrorKind kind = ErrorKind::Internal;
        std::string e = error_of(
            [&] {
                prune::PruneOptions o;
                prune::use_plan(prune::PrunePlan::from_json(text, "bad.json"), m, o, "bad.json");
            },
            &kind);
        CHECK(kind == ErrorKind::BadInput);
        CHECK(e.find("bad.json") != std::string::npos);
        return e;
    };
    CHECK(bad("{not json").find("malformed") != std::string::npos);
    CHECK(bad(R"({"schema": 2, "layers": []})").find("schema 1") != std::string::npos);
    CHECK(bad(R"({"schema": 1, "layers": [{"node": "nope", "sparsity": 0.5}]})")
              .find("node 'nope' is not in the model") != std::string::npos);
    CHECK(bad(R"({"schema": 1, "layers": [{"node": "Relu_r0", "sparsity": 0.5}]})").find("not a prunable layer") !=
          std::string::npos);
    CHECK(bad(R"({"schema": 1, "layers": [{"node": "c1"}, {"node": "c0", "sparsity": 1.5}]})").find("layers[0]") !=
          std::string::npos);
    CHECK(bad(R"({"schema": 1, "layers": [{"node": "c0", "sparsity": 1.5}]})")
              .find("layers[0] (node 'c0'): sparsity 1.5") != std::string::npos);
    CHECK(bad(R"({"schema": 1, "layers": [{"node": "c0", "pattern": "4:2"}]})").find("pattern '4:2'") !=
          std::string::npos);
    CHECK(bad(R"({"schema": 1, "layers": [{"node": "c0", "pattern": "skip"}, {"node": "c0", "pattern": "skip"}]})")
              .find("listed twice") != std::string::npos);
    CHECK(bad(R"({"schema": 1, "criterion": "l3", "layers": []})").find("criterion 'l3'") != std::string::npos);
    // a plan cannot be combined with the global scope
    prune::PruneOptions o;
    o.scope = prune::Scope::Global;
    o.plan["c0"] = {"channel", 0.5, ""};
    CHECK(error_of([&] { prune::prune_model(m, o); }).find("--scope global") != std::string::npos);
}

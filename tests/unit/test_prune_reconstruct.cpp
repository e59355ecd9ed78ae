// Layer-wise reconstruction (prune/reconstruct.h): on generated Conv / Gemm layers with correlated inputs, the fitted
// weights reproduce the dense layer's output better than magnitude pruning alone (measured by running the layers on
// held-out inputs), unstructured zero counts and N:M groups are exact after the fit, channel readers re-fit their kept
// inputs, and the result is deterministic.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>

#include "core/error.h"
#include "prune/prune.h"
#include "prune/reconstruct.h"
#include "tests/unit/builder.h"

using namespace hq;
using test::node;

namespace {

// Inputs with strongly correlated channels (a few latent factors + noise): where reconstruction pays.
Tensor correlated_input(Shape s, uint32_t seed, int64_t latent = 3) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const int64_t N = s[0], C = s[1];
    int64_t inner = 1;
    for (size_t i = 2; i < s.size(); ++i) inner *= s[i];
    std::vector<float> mix((size_t)(C * latent));
    std::mt19937 mrng(1234);  // the same mixing for every sample
    for (auto& v : mix) v = std::normal_distribution<float>(0.0f, 1.0f)(mrng);
    Tensor t(DType::F32, s);
    float* d = t.data<float>();
    for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < inner; ++i) {
            std::vector<float> z((size_t)latent);
            for (auto& v : z) v = nd(rng);
            for (int64_t c = 0; c < C; ++c) {
                float v = 0.2f * nd(rng) + 0.5f;
                for (int64_t l = 0; l < latent; ++l) v += mix[(size_t)(c * latent + l)] * z[(size_t)l];
                d[(n * C + c) * inner + i] = v;
            }
        }
    return t;
}

Tensor perturbed(const Tensor& x, uint32_t seed, float scale) {
    Tensor t = x.clone();
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, scale);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] += nd(rng);
    return t;
}

double sq_err(const Tensor& a, const Tensor& b) {
    REQUIRE(a.numel() == b.numel());
    double e = 0;
    for (int64_t i = 0; i < a.numel(); ++i) e += std::pow((double)a.data<float>()[i] - b.data<float>()[i], 2);
    return e;
}

// One Conv layer (8 -> 16, 3x3, pads 1) as a model: weight "w", bias "b".
graph::Model conv_model(const Tensor& w, const Tensor& b, int64_t group = 1) {
    auto m = test::model(13);
    m.graph.inputs.push_back(test::value("x", {1, w.dim(1) * group, 6, 6}));
    m.graph.outputs.push_back(test::value("y", {1, w.dim(0), 6, 6}));
    m.graph.initializers["w"] = w;
    m.graph.initializers["b"] = b;
    m.graph.nodes.push_back(node("Conv", {"x", "w", "b"}, {"y"}, "conv",
                                 {{"pads", test::attr_ints({1, 1, 1, 1})}, {"group", test::attr_i(group)}}));
    return m;
}

Tensor run_conv(const graph::Model& m, const Tensor& x) {
    const auto& g = m.graph;
    auto b = g.initializers.find("b");
    return test::eval(g.nodes[0], {x, g.initializers.at("w"), b->second}, 13)[0];
}

std::vector<int64_t> identity(int64_t n) {
    std::vector<int64_t> v((size_t)n);
    for (int64_t i = 0; i < n; ++i) v[(size_t)i] = i;
    return v;
}

// Fits the Conv of `pruned` against `dense` on `train` samples (dense input x, pruned input x + noise when `noisy`),
// writes the result into a copy of `pruned` and returns it.
graph::Model fit_conv(const graph::Model& dense, const graph::Model& pruned, const std::vector<Tensor>& xd,
                      const std::vector<Tensor>& xp, prune::FitOptions fo, prune::FitResult* res = nullptr) {
    const auto& dn = dense.graph.nodes[0];
    const auto& pn = pruned.graph.nodes[0];
    prune::LayerMatrix dm = prune::layer_matrix(dense, dn), now = prune::layer_matrix(pruned, pn);
    prune::LayerMatrix prior = now;
    if (dm.w.size() == now.w.size()) prior.w = dm.w;
    std::vector<int64_t> dg((size_t)now.groups);
    for (int64_t g = 0; g < now.groups; ++g) dg[(size_t)g] = g;
    prune::LayerFit fit(pn, dm, now, prior, identity(now.outputs), dg);
    for (size_t i = 0; i < xd.size(); ++i) fit.add(xd[i], xp[i]);
    prune::FitResult r = fit.solve(fo);
    graph::Model out = pruned;
    prune::write_weight(out, out.graph.nodes[0], r.fitted);
    Tensor b = out.graph.initializers.at("b").clone();
    for (int64_t o = 0; o < b.numel(); ++o) b.data<float>()[o] = (float)r.fitted.b[(size_t)o];
    out.graph.initializers["b"] = b;
    if (res) *res = r;
    return out;
}

int64_t zeros(const Tensor& t) {
    int64_t z = 0;
    for (int64_t i = 0; i < t.numel(); ++i) z += t.data<float>()[i] == 0.0f;
    return z;
}

}  // namespace

TEST_CASE("reconstruction: unstructured fit beats magnitude pruning on held-out inputs, exact zero count",
          "[prune][reconstruct]") {
    const Tensor w = test::random_tensor({16, 8, 3, 3}, 11), b = test::random_tensor({16}, 12);
    const graph::Model dense = conv_model(w, b);
    const bool noisy = GENERATE(false, true);  // pruned input = dense input, or perturbed (upstream pruning)
    graph::Model mag = dense;
    prune::PruneOptions po;
    po.sparsity = 0.5;
    po.include_ends = true;
    prune::prune_model(mag, po);
    const int64_t want = zeros(mag.graph.initializers.at("w"));
    REQUIRE(want == 576);  // round(0.5 · 1152)

    std::vector<Tensor> xd, xp;
    for (uint32_t s = 0; s < 12; ++s) {
        xd.push_back(correlated_input({1, 8, 6, 6}, 100 + s));
        xp.push_back(noisy ? perturbed(xd.back(), 500 + s, 0.3f) : xd.back());
    }
    prune::FitOptions fo;
    fo.mode = prune::FitMode::Unstructured;
    fo.zeros = want;
    prune::FitResult r;
    graph::Model fitted = fit_conv(dense, mag, xd, xp, fo, &r);
    CHECK(zeros(fitted.graph.initializers.at("w")) == want);
    CHECK(r.rel_error_after < r.rel_error_before);

    double e_mag = 0, e_fit = 0;
    for (uint32_t s = 0; s < 6; ++s) {  // held out
        Tensor x = correlated_input({1, 8, 6, 6}, 900 + s);
        Tensor x2 = noisy ? perturbed(x, 950 + s, 0.3f) : x;
        Tensor y = run_conv(dense, x);
        e_mag += sq_err(run_conv(mag, x2), y);
        e_fit += sq_err(run_conv(fitted, x2), y);
    }
    INFO("noisy " << noisy << ": magnitude " << e_mag << ", reconstructed " << e_fit);
    CHECK(e_fit < 0.5 * e_mag);
}

TEST_CASE("reconstruction: N:M pattern exact after the fit, error below magnitude N:M", "[prune][reconstruct]") {
    const Tensor w = test::random_tensor({16, 8, 3, 3}, 21), b = test::random_tensor({16}, 22);
    const graph::Model dense = conv_model(w, b);
    graph::Model mag = dense;
    prune::PruneOptions po;
    prune::parse_pattern("2:4", po);
    po.include_ends = true;
    prune::prune_model(mag, po);
    std::vector<Tensor> xd;
    for (uint32_t s = 0; s < 12; ++s) xd.push_back(correlated_input({1, 8, 6, 6}, 200 + s));
    prune::FitOptions fo;
    fo.mode = prune::FitMode::NM;
    fo.n = 2;
    fo.m = 4;
    fo.block = 5;  // not a multiple of 4: rounded up, groups never straddle a block
    graph::Model fitted = fit_conv(dense, mag, xd, xd, fo);
    const Tensor& fw = fitted.graph.initializers.at("w");
    const float* d = fw.data<float>();
    for (int64_t o = 0; o < 16; ++o)
        for (int64_t k = 0; k < 9; ++k)
            for (int64_t c0 = 0; c0 < 8; c0 += 4) {
                int64_t z = 0;
                for (int64_t c = c0; c < c0 + 4; ++c) z += d[(o * 8 + c) * 9 + k] == 0.0f;
                REQUIRE(z == 2);
            }
    double e_mag = 0, e_fit = 0;
    for (uint32_t s = 0; s < 6; ++s) {
        Tensor x = correlated_input({1, 8, 6, 6}, 800 + s);
        Tensor y = run_conv(dense, x);
        e_mag += sq_err(run_conv(mag, x), y);
        e_fit += sq_err(run_conv(fitted, x), y);
    }
    INFO("magnitude 2:4 " << e_mag << ", reconstructed " << e_fit);
    CHECK(e_fit < 0.5 * e_mag);
}

TEST_CASE("reconstruction: grouped (depthwise) Conv and Gemm", "[prune][reconstruct]") {
    SECTION("depthwise") {
        const Tensor w = test::random_tensor({8, 1, 3, 3}, 31), b = test::random_tensor({8}, 32);
        const graph::Model dense = conv_model(w, b, 8);
        graph::Model mag = dense;
        prune::PruneOptions po;
        po.sparsity = 0.5;
        po.include_ends = true;
        prune::prune_model(mag, po);
        const int64_t want = zeros(mag.graph.initializers.at("w"));
        std::vector<Tensor> xd, xp;
        for (uint32_t s = 0; s < 10; ++s) {
            xd.push_back(correlated_input({1, 8, 6, 6}, 300 + s));
            xp.push_back(perturbed(xd.back(), 700 + s, 0.2f));
        }
        prune::FitOptions fo;
        fo.mode = prune::FitMode::Unstructured;
        fo.zeros = want;
        prune::FitResult r;
        graph::Model fitted = fit_conv(dense, mag, xd, xp, fo, &r);
        CHECK(zeros(fitted.graph.initializers.at("w")) == want);
        CHECK(r.rel_error_after < r.rel_error_before);
    }
    SECTION("Gemm transB, alpha, beta: dense refit of a reader of a perturbed input") {
        auto m = test::model(13);
        m.graph.initializers["w"] = test::random_tensor({6, 10}, 41);  // transB: [out, in]
        m.graph.initializers["c"] = test::random_tensor({6}, 42);
        m.graph.nodes.push_back(node("Gemm", {"x", "w", "c"}, {"y"}, "fc",
                                     {{"transB", test::attr_i(1)}, {"alpha", test::attr_f(0.5f)},
                                      {"beta", test::attr_f(2.0f)}}));
        std::vector<Tensor> xd, xp;
        for (uint32_t s = 0; s < 8; ++s) {
            xd.push_back(correlated_input({16, 10}, 400 + s));
            xp.push_back(perturbed(xd.back(), 600 + s, 0.3f));
        }
        const auto& n = m.graph.nodes[0];
        prune::LayerMatrix dm = prune::layer_matrix(m, n);
        CHECK(dm.w[1] == Approx(0.5 * m.graph.initializers.at("w").data<float>()[1]));
        CHECK(dm.b[0] == Approx(2.0 * m.graph.initializers.at("c").data<float>()[0]));
        prune::LayerFit fit(n, dm, dm, dm, identity(6), {0});
        for (size_t i = 0; i < xd.size(); ++i) fit.add(xd[i], xp[i]);
        prune::FitResult r = fit.solve({});
        CHECK(r.rel_error_after < 0.8 * r.rel_error_before);
        graph::Model out = m;
        prune::write_weight(out, out.graph.nodes[0], r.fitted);
        prune::LayerMatrix back = prune::layer_matrix(out, out.graph.nodes[0]);
        for (size_t i = 0; i < back.w.size(); ++i) CHECK(back.w[i] == Approx(r.fitted.w[i]).margin(1e-6));
    }
}

TEST_CASE("reconstruction: channel reader re-fits its kept inputs", "[prune][reconstruct]") {
    // Dense layer reads 8 channels; the pruned one reads channels {0,2,3,5,6} (3 removed upstream) and keeps all
    // 16 outputs. Correlated channels let the kept ones stand in for the removed ones.
    const Tensor w = test::random_tensor({16, 8, 3, 3}, 51), b = test::random_tensor({16}, 52);
    const graph::Model dense = conv_model(w, b);
    const std::vector<int64_t> keep = {0, 2, 3, 5, 6};
    graph::Model sliced = conv_model(prune::slice_axis(w, 1, keep), b);
    auto pick = [&](const Tensor& x) { return prune::slice_axis(x, 1, keep); };
    std::vector<Tensor> xd, xp;
    for (uint32_t s = 0; s < 12; ++s) {
        xd.push_back(correlated_input({1, 8, 6, 6}, 1000 + s));
        xp.push_back(pick(xd.back()));
    }
    graph::Model fitted = fit_conv(dense, sliced, xd, xp, {});
    double e_slice = 0, e_fit = 0;
    for (uint32_t s = 0; s < 6; ++s) {
        Tensor x = correlated_input({1, 8, 6, 6}, 1100 + s);
        Tensor y = run_conv(dense, x);
        e_slice += sq_err(run_conv(sliced, pick(x)), y);
        e_fit += sq_err(run_conv(fitted, pick(x)), y);
    }
    INFO("sliced " << e_slice << ", reconstructed " << e_fit);
    CHECK(e_fit < 0.3 * e_slice);
}

TEST_CASE("reconstruction: deterministic, and an unpruned layer on unchanged inputs stays as it was",
          "[prune][reconstruct]") {
    const Tensor w = test::random_tensor({16, 8, 3, 3}, 61), b = test::random_tensor({16}, 62);
    const graph::Model dense = conv_model(w, b);
    graph::Model mag = dense;
    prune::PruneOptions po;
    po.sparsity = 0.6;
    po.include_ends = true;
    prune::prune_model(mag, po);
    std::vector<Tensor> xd;
    for (uint32_t s = 0; s < 8; ++s) xd.push_back(correlated_input({1, 8, 6, 6}, 1200 + s));
    prune::FitOptions fo;
    fo.mode = prune::FitMode::Unstructured;
    fo.zeros = zeros(mag.graph.initializers.at("w"));
    graph::Model a = fit_conv(dense, mag, xd, xd, fo), c = fit_conv(dense, mag, xd, xd, fo);
    const Tensor &wa = a.graph.initializers.at("w"), &wc = c.graph.initializers.at("w");
    CHECK(std::memcmp(wa.raw(), wc.raw(), wa.nbytes()) == 0);
    const Tensor &ba = a.graph.initializers.at("b"), &bc = c.graph.initializers.at("b");
    CHECK(std::memcmp(ba.raw(), bc.raw(), ba.nbytes()) == 0);
    // Dense refit with identical inputs: the ridge pulls to the weights themselves, so they come back unchanged.
    graph::Model same = fit_conv(dense, dense, xd, xd, {});
    const float* w0 = w.data<float>();
    const float* w1 = same.graph.initializers.at("w").data<float>();
    for (int64_t i = 0; i < w.numel(); ++i) REQUIRE(w1[i] == Approx(w0[i]).margin(1e-4));
}

TEST_CASE("reconstruction: layers it cannot fit say why; bad input shapes name the node", "[prune][reconstruct]") {
    auto m = test::model(13);
    m.graph.initializers["w"] = test::random_tensor({4, 2, 3, 3}, 71);
    m.graph.nodes.push_back(node("ConvTranspose", {"x", "w"}, {"y"}, "up"));
    CHECK_THAT(prune::reconstruct_blocker(m, m.graph.nodes[0]), Catch::Contains("kernel == strides"));
    m.graph.nodes[0].op_type = "Relu";
    CHECK_THAT(prune::reconstruct_blocker(m, m.graph.nodes[0]), Catch::Contains("not reconstructed"));
    m.graph.nodes[0].op_type = "Gemm";
    m.graph.initializers["w"] = test::random_tensor({4, 3}, 72);
    m.graph.nodes[0].attrs["transA"] = test::attr_i(1);
    CHECK_THAT(prune::reconstruct_blocker(m, m.graph.nodes[0]), Catch::Contains("transA"));
    m.graph.nodes[0].attrs.erase("transA");
    CHECK(prune::reconstruct_blocker(m, m.graph.nodes[0]).empty());
    prune::LayerMatrix lm = prune::layer_matrix(m, m.graph.nodes[0]);
    prune::LayerFit fit(m.graph.nodes[0], lm, lm, lm, identity(3), {0});
    CHECK_THROWS_WITH(fit.add(test::random_tensor({2, 5}, 1), test::random_tensor({2, 5}, 2)),
                      Catch::Contains("'up'"));
    CHECK_THROWS_WITH(fit.solve({}), Catch::Contains("no calibration rows"));
}

TEST_CASE("reconstruction: ConvTranspose with kernel == strides recovers the dense layer", "[prune][reconstruct]") {
    // The layer now has perturbed weights and bias; fitted on the same inputs it must come back to the dense layer's
    // outputs (checks the row/phase layout both ways and the per-channel bias).
    auto m = test::model(13);
    m.graph.initializers["w"] = test::random_tensor({6, 4, 2, 2}, 81);  // [C_in, C_out, kh, kw]
    m.graph.initializers["b"] = test::random_tensor({4}, 82);
    m.graph.nodes.push_back(node("ConvTranspose", {"x", "w", "b"}, {"y"}, "up",
                                 {{"strides", test::attr_ints({2, 2})}}));
    const auto& n = m.graph.nodes[0];
    REQUIRE(prune::reconstruct_blocker(m, n).empty());
    graph::Model noisy = m;
    noisy.graph.initializers["w"] = perturbed(m.graph.initializers.at("w"), 83, 0.3f);
    noisy.graph.initializers["b"] = perturbed(m.graph.initializers.at("b"), 84, 0.3f);
    prune::LayerMatrix dm = prune::layer_matrix(m, n), now = prune::layer_matrix(noisy, noisy.graph.nodes[0]);
    REQUIRE(dm.outputs == 16);
    REQUIRE(dm.row_block == 4);
    std::vector<Tensor> xd;
    for (uint32_t s = 0; s < 10; ++s) xd.push_back(perturbed(correlated_input({1, 6, 5, 5}, 1300 + s, 6), 1400 + s, 0.3f));
    prune::LayerFit fit(n, dm, now, now, identity(16), {0});
    for (const auto& x : xd) fit.add(x, x);
    prune::FitResult r = fit.solve({});
    graph::Model out = noisy;
    prune::write_weight(out, out.graph.nodes[0], r.fitted);
    Tensor b = out.graph.initializers.at("b").clone();
    for (int64_t o = 0; o < 4; ++o) {
        double s = 0;
        for (int64_t k = 0; k < 4; ++k) s += r.fitted.b[(size_t)(o * 4 + k)];
        b.data<float>()[o] = (float)(s / 4);
    }
    out.graph.initializers["b"] = b;
    auto run = [&](const graph::Model& mm, const Tensor& x) {
        return test::eval(mm.graph.nodes[0], {x, mm.graph.initializers.at("w"), mm.graph.initializers.at("b")}, 13)[0];
    };
    double e0 = 0, e1 = 0;
    for (uint32_t s = 0; s < 5; ++s) {
        Tensor x = perturbed(correlated_input({1, 6, 5, 5}, 1500 + s, 6), 1600 + s, 0.3f);
        Tensor y = run(m, x);
        e0 += sq_err(run(noisy, x), y);
        e1 += sq_err(run(out, x), y);
    }
    INFO("as is " << e0 << ", reconstructed " << e1 << "; fit " << r.rel_error_before << " -> " << r.rel_error_after);
    CHECK(e1 < 0.05 * e0);
}

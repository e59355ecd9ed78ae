// CPU Gemm / MatMul / Einsum kernels against plain loops: broadcasting, 1-D operands, integer types,
// and Einsum's GEMM path against its generic path.
#include <catch2/catch.hpp>
#include <cmath>

#include "exec/cpu/cpu_backend.h"
#include "tests/unit/builder.h"

using namespace hq;
using namespace hq::test;

namespace {

Tensor run1(const std::string& op, std::vector<Tensor> in, std::map<std::string, graph::Attribute> attrs = {}) {
    std::vector<std::string> ins;
    for (size_t i = 0; i < in.size(); ++i) ins.push_back("i" + std::to_string(i));
    return exec::cpu::evaluate_node(test::node(op, ins, {"y"}, "n", std::move(attrs)), in, 13)[0];
}

// Reference batched matmul over already-broadcast index functions.
Tensor ref_matmul(const Tensor& a, const Tensor& b) {
    Shape sa = a.shape(), sb = b.shape();
    if (sa.size() == 1) sa.insert(sa.begin(), 1);
    if (sb.size() == 1) sb.push_back(1);
    const int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
    Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2), by = broadcast_shapes(ba, bb);
    const int64_t nb = shape_numel(by);
    Shape ys = by;
    if (a.rank() > 1) ys.push_back(m);
    if (b.rank() > 1) ys.push_back(n);
    Tensor y(DType::F32, ys);
    auto bidx = [&](const Shape& s, int64_t i) {  // flat batch index of s for flat index i of `by`
        int64_t r = 0, mul = 1;
        for (int64_t d = (int64_t)by.size() - 1; d >= 0; --d) {
            const int64_t q = i % by[d];
            i /= by[d];
            const int64_t sd = d - ((int64_t)by.size() - (int64_t)s.size());
            if (sd < 0) continue;
            r += (s[sd] == 1 ? 0 : q) * mul;
            mul *= s[sd];
        }
        return r;
    };
    for (int64_t t = 0; t < nb; ++t)
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
                double acc = 0;
                for (int64_t p = 0; p < k; ++p)
                    acc += (double)a.data<float>()[bidx(ba, t) * m * k + i * k + p] *
                           b.data<float>()[bidx(bb, t) * k * n + p * n + j];
                y.data<float>()[(t * m + i) * n + j] = (float)acc;
            }
    return y;
}

void require_close(const Tensor& got, const Tensor& want) {
    REQUIRE(got.shape() == want.shape());
    for (int64_t i = 0; i < got.numel(); ++i) REQUIRE(got.at_f64(i) == Approx(want.at_f64(i)).margin(1e-4));
}

}  // namespace

TEST_CASE("cpu MatMul: numpy broadcasting and 1-D operands", "[cpu][gemm]") {
    const std::vector<std::pair<Shape, Shape>> cases = {
        {{3, 4}, {4, 5}},
        {{2, 3, 4}, {4, 5}},
        {{4}, {4, 5}},
        {{2, 3, 4}, {4}},
        {{4}, {4}},
        {{3, 4}, {2, 4, 5}},
        {{2, 1, 3, 4}, {3, 4, 2}},
        {{1, 3, 4}, {2, 1, 4, 6}},
    };
    uint32_t seed = 1;
    for (const auto& [sa, sb] : cases) {
        Tensor a = test::random_tensor(sa, seed++), b = test::random_tensor(sb, seed++);
        require_close(run1("MatMul", {a, b}), ref_matmul(a, b));
    }
    Tensor ai = Tensor::from_i64({2, 2}, {1, 2, 3, 4}), bi = Tensor::from_i64({2}, {5, 6});
    Tensor yi = run1("MatMul", {ai, bi});
    CHECK(yi.to_i64() == std::vector<int64_t>{17, 39});
}

TEST_CASE("cpu Gemm broadcasts C and honours alpha, beta, transposes", "[cpu][gemm]") {
    Tensor a = test::random_tensor({4, 3}, 11), b = test::random_tensor({5, 4}, 12), c = test::random_tensor({5}, 13);
    Tensor y = run1("Gemm", {a, b, c},
                    {{"transA", test::attr_i(1)},
                     {"transB", test::attr_i(1)},
                     {"alpha", test::attr_f(0.5f)},
                     {"beta", test::attr_f(2.f)}});
    REQUIRE(y.shape() == Shape({3, 5}));
    for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 5; ++j) {
            double acc = 0;
            for (int64_t p = 0; p < 4; ++p) acc += a.data<float>()[p * 3 + i] * b.data<float>()[j * 4 + p];
            CHECK(y.data<float>()[i * 5 + j] == Approx(0.5 * acc + 2.0 * c.data<float>()[j]).margin(1e-5));
        }
}

TEST_CASE("cpu Gemm with one row (the sgemv path) honours transposes, alpha and beta", "[cpu][gemm]") {
    const int64_t K = 37, N = 70;  // N spans several 16-column chunks of the thread split
    for (int ta : {0, 1})
        for (int tb : {0, 1}) {
            INFO("transA " << ta << " transB " << tb);
            Tensor a = test::random_tensor(ta ? Shape{K, 1} : Shape{1, K}, 31),
                   b = test::random_tensor(tb ? Shape{N, K} : Shape{K, N}, 32), c = test::random_tensor({N}, 33);
            Tensor y = run1("Gemm", {a, b, c},
                            {{"transA", test::attr_i(ta)},
                             {"transB", test::attr_i(tb)},
                             {"alpha", test::attr_f(0.5f)},
                             {"beta", test::attr_f(2.f)}});
            REQUIRE(y.shape() == Shape({1, N}));
            for (int64_t j = 0; j < N; ++j) {
                double acc = 0;
                for (int64_t p = 0; p < K; ++p) acc += (double)a.data<float>()[p] * b.data<float>()[tb ? j * K + p : p * N + j];
                CHECK(y.data<float>()[j] == Approx(0.5 * acc + 2.0 * c.data<float>()[j]).margin(1e-5));
            }
        }
}

TEST_CASE("cpu Einsum: GEMM path equals generic loops", "[cpu][gemm]") {
    struct Case {
        std::string eq;
        std::vector<Shape> shapes;
    };
    const std::vector<Case> cases = {
        {"bij,bjk->bik", {{2, 3, 4}, {2, 4, 5}}},
        {"bhid,bhjd->bhij", {{2, 3, 4, 5}, {2, 3, 6, 5}}},
        {"ij,kj->ik", {{3, 4}, {5, 4}}},
        {"ij,jk", {{3, 4}, {4, 5}}},
        {"bik,bkj->bji", {{2, 3, 4}, {2, 4, 5}}},
        {"...ij,...jk->...ik", {{2, 3, 4}, {2, 4, 2}}},
        {"ij->ji", {{3, 4}}},
        {"ij->i", {{3, 4}}},
        {"ii->i", {{3, 3}}},
        {"i,i", {{5}, {5}}},
        {"ij,jk,kl->il", {{2, 3}, {3, 4}, {4, 2}}},
    };
    uint32_t seed = 21;
    for (const auto& c : cases) {
        std::vector<Tensor> in;
        for (const auto& s : c.shapes) in.push_back(test::random_tensor(s, seed++));
        Tensor y = run1("Einsum", in, {{"equation", attr_s(c.eq)}});
        // The generic loops run for float64; compare against them.
        std::vector<Tensor> in64;
        for (const auto& t : in) {
            Tensor d(DType::F64, t.shape());
            for (int64_t i = 0; i < t.numel(); ++i) d.data<double>()[i] = t.data<float>()[i];
            in64.push_back(d);
        }
        Tensor y64 = run1("Einsum", in64, {{"equation", attr_s(c.eq)}});
        INFO(c.eq);
        require_close(y, y64);
    }
    Tensor a = test::random_tensor({2, 3}, 1), b = test::random_tensor({3, 4}, 2);
    require_close(run1("Einsum", {a, b}, {{"equation", attr_s("ij,jk->ik")}}), ref_matmul(a, b));
}

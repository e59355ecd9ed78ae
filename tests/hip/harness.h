// hq_backend_tests (ggml's test-backend-ops for hyquant): every op case runs on the CPU backend (the reference)
// and on the HIP backend and the outputs are compared with a tolerance per dtype; kernel tests check the
// calibration kernels bit-exactly against the host rules, the int8 GEMM against int32 host math, and the
// backend's cache, fallback and error paths.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"

namespace hq::exec::hip {
class HipBackend;
}

namespace hq::hiptest {

// |got - ref| <= atol + rtol * |ref| per element; both zero: bit-exact (NaN payloads aside).
struct Tol {
    double atol = 0, rtol = 0;
};
constexpr Tol kExact{0, 0};
constexpr Tol kF32{1e-6, 1e-5};     // one float32 operation (device libm within a few ulps)
constexpr Tol kF32Sum{1e-4, 1e-4};  // sums of hundreds of terms in another order
constexpr Tol kF16{1e-3, 2e-3};     // float16 results: at most one float16 ulp apart

struct OpCase {
    std::string op;    // group in the report
    std::string desc;  // shapes and attributes
    graph::Node node;
    std::vector<Tensor> inputs;  // an empty Tensor marks an omitted optional input
    int64_t opset = 17;
    Tol tol = kF32;
    bool expect_device = true;  // false: the HIP backend must hand the node to the CPU
};

// A test that is not one node: returns "" on success, else what went wrong. `detail` gets a note for the
// report (worst error, code path).
struct KernelTest {
    std::string group, desc;
    std::function<std::string(exec::hip::HipBackend& hip, std::string& detail)> run;
};

std::vector<OpCase> op_cases();          // op_cases.cpp, op_cases_nn.cpp
std::vector<OpCase> op_cases_nn();       // op_cases_nn.cpp
std::vector<KernelTest> kernel_tests();  // kernel_tests.cpp

// ------------------------------------------------------------------------------------- building cases

using Attrs = std::map<std::string, graph::Attribute>;
graph::Attribute ai(int64_t v);
graph::Attribute af(float v);
graph::Attribute as(const std::string& v);
graph::Attribute ais(std::vector<int64_t> v);
graph::Attribute afs(std::vector<float> v);

// Uniform float32 values in [lo, hi), deterministic per seed.
Tensor rnd(Shape s, uint32_t seed, float lo = -1.f, float hi = 1.f);
// Values k * step for integers k in [-n, n] (ties and equal values on purpose).
Tensor grid(Shape s, uint32_t seed, float step, int n);
Tensor f16(const Tensor& f32);  // float32 -> float16 (round to nearest even)
Tensor f32v(Shape s, std::vector<float> v);
Tensor i64v(Shape s, std::vector<int64_t> v);
Tensor i32v(Shape s, std::vector<int32_t> v);
// Integers in [lo, hi] of an integer (or bool) dtype.
Tensor int_rnd(DType dt, Shape s, uint32_t seed, int lo, int hi);

// A node of `op` with inputs x0.. (empty names where inputs[i] is empty) and `nout` outputs y0...
OpCase make_case(const std::string& group, const std::string& desc, const std::string& op, std::vector<Tensor> inputs,
                 Attrs attrs = {}, int64_t opset = 17, Tol tol = kF32, int nout = 1);

}  // namespace hq::hiptest

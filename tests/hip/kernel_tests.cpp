// Kernel tests: calibration statistics and histograms bit-exact against calib/histogram.cpp's rule (a local copy
// of it and calib::Histogram itself), the int8 GEMM against int32 host math, the device cache's identity and
// in-place-change guards, HIP error naming, and a small model through the Executor on both backends.
#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <set>

#include "calib/histogram.h"
#include "core/npy.h"
#include "exec/cpu/cpu_backend.h"
#include "exec/executor.h"
#include "graph/passes.h"
#include "graph/upgrade_opset.h"
#include "onnx_io/onnx_io.h"
#include "quant/fp16_rewrite.h"
#include "exec/hip/hip_backend_impl.h"
#include "exec/hip/hip_check.h"
#include "exec/hip/kernels.h"
#include "tests/hip/harness.h"

namespace hq::hiptest {

namespace {

using exec::hip::HipBackend;

// calib/histogram.cpp fill(), restated: bin = 4096 + floor(x * 2^(12 - e)) without rounding, finite values only.
void host_fill(const float* x, int64_t n, int e, std::vector<uint64_t>& bins) {
    for (int64_t i = 0; i < n; ++i) {
        const float v = x[i];
        if (!(std::fabs(v) <= FLT_MAX)) continue;
        int64_t k;
        if (e <= 12 && e >= -115) {
            const float t = v * std::ldexp(1.0f, 12 - e);
            k = (int64_t)t;
            k -= (float)k > t;
        } else {
            const double t = (double)v * std::ldexp(1.0, 12 - e);
            k = (int64_t)t;
            k -= (double)k > t;
        }
        bins[4096 + k]++;
    }
}

int needed_exponent(const float* x, int64_t n) {
    double a = 0;
    for (int64_t i = 0; i < n; ++i)
        if (std::fabs(x[i]) <= FLT_MAX) a = std::max(a, (double)std::fabs(x[i]));
    if (a == 0) return -126;
    int k;
    std::frexp(a, &k);
    return std::clamp(k, -126, 128);
}

exec::TensorStats host_stats(const Tensor& t) {
    exec::TensorStats s;
    const float* p = t.data<float>();
    bool any = false;
    for (int64_t i = 0; i < t.numel(); ++i) {
        const float v = p[i];
        if (std::isnan(v)) {
            ++s.nan;
        } else if (std::isinf(v)) {
            ++s.inf;
        } else {
            ++s.finite;
            s.min = any ? std::min(s.min, v) : v;
            s.max = any ? std::max(s.max, v) : v;
            any = true;
        }
    }
    return s;
}

std::string check_stats(const HipBackend& hip, const Tensor& t, int extra_exponent, bool compare_calib) {
    exec::TensorStats d;
    if (!hip.tensor_stats(t, d)) return "tensor_stats returned false for a resident tensor";
    const exec::TensorStats h = host_stats(t);
    if (d.finite != h.finite || d.nan != h.nan || d.inf != h.inf || (h.finite && (d.min != h.min || d.max != h.max))) {
        char buf[256];
        std::snprintf(buf, sizeof(buf), "stats: device min %g max %g finite %llu nan %llu inf %llu, host %g %g %llu %llu %llu",
                      d.min, d.max, (unsigned long long)d.finite, (unsigned long long)d.nan, (unsigned long long)d.inf,
                      h.min, h.max, (unsigned long long)h.finite, (unsigned long long)h.nan, (unsigned long long)h.inf);
        return buf;
    }
    const float* p = t.data<float>();
    const int e0 = needed_exponent(p, t.numel());
    for (int e = e0; e <= std::min(128, e0 + extra_exponent); ++e) {
        std::vector<uint64_t> hb(8192, 0), db(8192, 0);
        host_fill(p, t.numel(), e, hb);
        if (!hip.tensor_histogram(t, e, db.data())) return "tensor_histogram returned false";
        for (int b = 0; b < 8192; ++b)
            if (hb[b] != db[b])
                return "histogram at exponent " + std::to_string(e) + ", bin " + std::to_string(b) + ": device " +
                       std::to_string(db[b]) + ", host " + std::to_string(hb[b]);
    }
    if (compare_calib && h.finite) {  // calib::Histogram's own add() (its exponent), exactly
        calib::Histogram ch;
        ch.add(p, t.numel());
        std::vector<uint64_t> db(8192, 0);
        if (!hip.tensor_histogram(t, ch.exponent(), db.data())) return "tensor_histogram returned false";
        for (int b = 0; b < 8192; ++b)
            if (ch.bins()[b] != db[b]) return "calib::Histogram bin " + std::to_string(b) + " differs";
        if (ch.min() != d.min || ch.max() != d.max || ch.count() != d.finite || ch.nan_count() != d.nan ||
            ch.inf_count() != d.inf)
            return "calib::Histogram min/max/counts differ";
    }
    return "";
}

std::string stats_case(HipBackend& hip, const Tensor& t, int extra, std::string& detail) {
    hip.make_resident(t);
    if (!hip.resident(t)) return "tensor not resident after upload";
    detail = "bit-exact with the host rule and calib::Histogram";
    return check_stats(hip, t, extra, true);
}

Tensor values(std::vector<float> v) { return f32v({(int64_t)v.size()}, v); }

std::vector<KernelTest> calib_tests() {
    std::vector<KernelTest> v;
    auto add = [&](std::string desc, std::function<Tensor()> make, int extra = 3) {
        v.push_back({"calib stats+histogram", desc, [make, extra](HipBackend& hip, std::string& d) {
                         Tensor t = make();
                         return stats_case(hip, t, extra, d);
                     }});
    };
    add("uniform [-3,3) x 100003", [] { return rnd({100003}, 1000, -3, 3); });
    add("specials: NaN, Inf, +-0, subnormals, bin edges", [] {
        std::vector<float> s = {0.f, -0.f, std::nanf(""), INFINITY, -INFINITY, 1e-40f, -1e-45f, 1.4e-45f, -3.f, 3.f, 2.5f, -2.5f};
        for (int k = -40; k <= 40; ++k) s.push_back(k * std::ldexp(1.0f, 2 - 12));  // exact bin edges at e = 2
        for (int k = -40; k <= 40; ++k) s.push_back(k * std::ldexp(1.0f, 2 - 12) + std::ldexp(1.0f, -20));
        return values(s);
    }, 5);
    add("FLT_MAX and -FLT_MAX (e = 128, double path)", [] { return values({FLT_MAX, -FLT_MAX, 1.f, -1e30f, 0.f, 3e38f}); }, 0);
    add("tiny values (e = -99, float path)", [] { return rnd({5000}, 1001, -1e-30f, 1e-30f); });
    add("below 2^-115 (double path)", [] { return rnd({5000}, 1002, -1e-36f, 1e-36f); });
    add("only subnormals", [] { return values({1e-45f, 2e-45f, -1e-40f, 5e-39f, -1.1e-38f}); });
    add("large exponent 40", [] { return rnd({3000}, 1003, -1e12f, 1e12f); });
    add("half zeros (post-ReLU) x 300000", [] {
        Tensor t = rnd({300000}, 1004, -1, 1);
        for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = std::max(0.f, t.data<float>()[i]);
        return t;
    });
    add("4194311 values (many blocks)", [] { return rnd({4194311}, 1005, -100, 100); }, 1);
    add("all NaN", [] { return values({std::nanf(""), std::nanf(""), -std::nanf("")}); });
    add("one value", [] { return values({-0.75f}); });
    v.push_back({"calib stats+histogram", "output of a device node, no upload", [](HipBackend& hip, std::string& d) {
                     graph::Node n;
                     n.op_type = "Relu", n.name = "relu", n.inputs = {"x"}, n.outputs = {"y"};
                     Tensor x = rnd({2, 3, 50, 50}, 1006, -2, 2);
                     exec::KernelContext ctx(n, 13);
                     ctx.inputs = {&x};
                     hip.run(ctx);
                     const uint64_t uploads = hip.counters().uploads;
                     if (!hip.resident(ctx.outputs[0])) return std::string("the Relu output is not resident");
                     std::string err = check_stats(hip, ctx.outputs[0], 2, true);
                     if (err.empty() && hip.counters().uploads != uploads) err = "statistics uploaded the tensor";
                     d = "stats on the device copy";
                     return err;
                 }});
    v.push_back({"calib stats+histogram", "float16 and non-resident tensors are declined", [](HipBackend& hip, std::string&) {
                     exec::TensorStats s;
                     Tensor h = f16(rnd({10}, 1007));
                     hip.make_resident(h);
                     if (hip.tensor_stats(h, s)) return std::string("tensor_stats accepted float16");
                     Tensor fresh = rnd({10}, 1008);
                     if (hip.tensor_stats(fresh, s)) return std::string("tensor_stats ran on a tensor not on the device");
                     return std::string();
                 }});
    return v;
}

// ----------------------------------------------------------------------------------------------- int8 GEMM

std::string int8_gemm(HipBackend& hip, int64_t M, int64_t N, int64_t K, std::string& detail) {
    std::mt19937 rng((uint32_t)(M * 131 + N * 7 + K));
    std::uniform_int_distribution<int> d(-128, 127);
    std::vector<int8_t> a(M * K), bt(N * K);
    for (auto& x : a) x = (int8_t)d(rng);
    for (auto& x : bt) x = (int8_t)d(rng);
    if (!a.empty()) a[0] = -128;
    if (!bt.empty()) bt[0] = -128;
    std::vector<int32_t> ref(M * N), got(M * N, 12345);
    for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
            int32_t s = 0;
            for (int64_t k = 0; k < K; ++k) s += (int32_t)a[m * K + k] * (int32_t)bt[n * K + k];
            ref[m * N + n] = s;
        }
    HQ_HIP_CHECK(hipSetDevice(hip.device()));
    void *da = nullptr, *db = nullptr, *dc = nullptr, *dflag = nullptr;
    HQ_HIP_CHECK(hipMalloc(&da, std::max<size_t>(1, a.size())));
    HQ_HIP_CHECK(hipMalloc(&db, std::max<size_t>(1, bt.size())));
    HQ_HIP_CHECK(hipMalloc(&dc, std::max<size_t>(4, got.size() * 4)));
    HQ_HIP_CHECK(hipMalloc(&dflag, 4));
    int flag = -1;
    if (!a.empty()) HQ_HIP_CHECK(hipMemcpy(da, a.data(), a.size(), hipMemcpyHostToDevice));
    if (!bt.empty()) HQ_HIP_CHECK(hipMemcpy(db, bt.data(), bt.size(), hipMemcpyHostToDevice));
    exec::hip::k::gemm_s8s8s32(hip.stream(), M, N, K, (const int8_t*)da, (const int8_t*)db, (int32_t*)dc);
    exec::hip::k::int8_dot_path(hip.stream(), (int*)dflag);
    HQ_HIP_CHECK(hipStreamSynchronize(hip.stream()));
    if (!got.empty()) HQ_HIP_CHECK(hipMemcpy(got.data(), dc, got.size() * 4, hipMemcpyDeviceToHost));
    HQ_HIP_CHECK(hipMemcpy(&flag, dflag, 4, hipMemcpyDeviceToHost));
    for (void* p : {da, db, dc, dflag}) HQ_HIP_CHECK(hipFree(p));
    detail = flag == 1 ? "dot4 instruction path" : "scalar path (no dot4 on this target)";
    for (int64_t i = 0; i < M * N; ++i)
        if (got[i] != ref[i])
            return "C[" + std::to_string(i / N) + "," + std::to_string(i % N) + "] = " + std::to_string(got[i]) +
                   ", expected " + std::to_string(ref[i]);
    return "";
}

// -------------------------------------------------------------------------------------------- cache, errors

std::vector<float> host_relu(const Tensor& t) {
    std::vector<float> r(t.numel());
    for (int64_t i = 0; i < t.numel(); ++i) r[i] = t.data<float>()[i] > 0 ? t.data<float>()[i] : 0.f;
    return r;
}

Tensor run_relu(HipBackend& hip, const Tensor& x) {
    graph::Node n;
    n.op_type = "Relu", n.name = "relu", n.inputs = {"x"}, n.outputs = {"y"};
    exec::KernelContext ctx(n, 13);
    ctx.inputs = {&x};
    hip.run(ctx);
    return ctx.outputs[0];
}

bool same(const Tensor& t, const std::vector<float>& v) {
    return (size_t)t.numel() == v.size() && std::memcmp(t.raw(), v.data(), v.size() * 4) == 0;
}

std::vector<KernelTest> backend_tests() {
    std::vector<KernelTest> v;
    v.push_back({"device cache", "freed and reused host address is not a hit", [](HipBackend& hip, std::string& d) {
                     const Shape s{1 << 16};
                     const void* old = nullptr;
                     {
                         Tensor a = rnd(s, 1100);
                         old = a.raw();
                         if (!same(run_relu(hip, a), host_relu(a))) return std::string("first run differs");
                     }
                     std::vector<Tensor> keep;
                     Tensor b;
                     for (int i = 0; i < 64; ++i) {
                         Tensor t = rnd(s, 1101 + i, -5, 5);
                         if (t.raw() == old) {
                             b = t;
                             break;
                         }
                         keep.push_back(t);
                     }
                     d = b.empty() ? "address not reused by the allocator; identity checked by storage only"
                                   : "same address, new storage: re-uploaded";
                     if (b.empty()) b = rnd(s, 1200, -5, 5);
                     if (hip.resident(b)) return std::string("a new tensor at a reused address is reported resident");
                     if (!same(run_relu(hip, b), host_relu(b))) return std::string("stale device data used");
                     return std::string();
                 }});
    v.push_back({"device cache", "in-place change of a cached host tensor re-uploads", [](HipBackend& hip, std::string&) {
                     Tensor c = rnd({4096}, 1300);
                     run_relu(hip, c);
                     for (int64_t i = 0; i < c.numel(); ++i) c.data<float>()[i] = -c.data<float>()[i];
                     if (!same(run_relu(hip, c), host_relu(c))) return std::string("stale device copy used");
                     return std::string();
                 }});
    v.push_back({"device cache", "constants are uploaded once", [](HipBackend& hip, std::string&) {
                     Tensor w = rnd({1000}, 1400);
                     run_relu(hip, w);
                     const uint64_t up = hip.counters().uploads;
                     run_relu(hip, w);
                     run_relu(hip, w.reshaped({10, 100}));  // a view shares the storage
                     if (hip.counters().uploads != up) return std::string("the constant was uploaded again");
                     return std::string();
                 }});
    v.push_back({"HIP errors", "HQ_HIP_CHECK names the call and the error", [](HipBackend&, std::string& d) {
                     try {
                         HQ_HIP_CHECK(hipSetDevice(100000));
                     } catch (const Error& e) {
                         const std::string m = e.what();
                         d = m.substr(0, 90);
                         if (m.find("hipSetDevice(100000)") == std::string::npos || m.find("hipError") == std::string::npos)
                             return "message lacks the call or the error name: " + m;
                         if (e.kind() != ErrorKind::Internal) return std::string("not an internal error");
                         return std::string();
                     }
                     return std::string("no error thrown");
                 }});
    v.push_back({"HIP errors", "out of device memory names hipMalloc", [](HipBackend& hip, std::string&) {
                     exec::hip::DevicePool pool(hip.device());
                     try {
                         pool.alloc(size_t(1) << 52);
                     } catch (const Error& e) {
                         const std::string m = e.what();
                         if (m.find("hipMalloc") == std::string::npos) return "message lacks hipMalloc: " + m;
                         return std::string();
                     }
                     return std::string("4 PiB were allocated");
                 }});
    return v;
}

// ------------------------------------------------------------------------------------------------- a model

graph::ValueInfo vi(const std::string& name, Shape s) {
    graph::ValueInfo v;
    v.name = name;
    v.dtype = DType::F32;
    v.has_shape = true;
    for (int64_t d : s) v.dims.push_back(graph::Dim{d, ""});
    return v;
}

std::string model_test(HipBackend& hip, std::string& detail) {
    graph::Model m;
    m.opsets[""] = 13;
    auto& g = m.graph;
    g.inputs.push_back(vi("x", {1, 3, 16, 16}));
    g.outputs.push_back(vi("prob", {1, 10}));
    g.initializers["w"] = rnd({8, 3, 3, 3}, 1500);
    g.initializers["b"] = rnd({8}, 1501);
    g.initializers["fc"] = rnd({10, 512}, 1502, -0.1f, 0.1f);
    g.initializers["fcb"] = rnd({10}, 1503);
    g.initializers["shape"] = i64v({2}, {1, -1});
    auto node = [&](std::string op, std::vector<std::string> in, std::string out, Attrs a = {}) {
        graph::Node n;
        n.op_type = op, n.name = op + "_" + out, n.inputs = std::move(in), n.outputs = {out}, n.attrs = std::move(a);
        g.nodes.push_back(n);
    };
    node("Conv", {"x", "w", "b"}, "c", {{"pads", ais({1, 1, 1, 1})}});
    node("Relu", {"c"}, "r");
    node("MaxPool", {"r"}, "p", {{"kernel_shape", ais({2, 2})}, {"strides", ais({2, 2})}});
    node("Reshape", {"p", "shape"}, "f");
    node("Gemm", {"f", "fc", "fcb"}, "z", {{"transB", ai(1)}});
    node("Softmax", {"z"}, "prob", {{"axis", ai(-1)}});
    const auto cpu = exec::cpu::make_backend();
    exec::Executor ec(m, *cpu), eh(m, hip);
    const std::map<std::string, Tensor> in{{"x", rnd({1, 3, 16, 16}, 1504)}};
    const auto ref = ec.run(in);
    std::string err;
    int observed = 0;
    const auto got = eh.run(in, [&](const std::string& name, const Tensor& t, const graph::Node&) {
        if (!err.empty() || t.dtype() != DType::F32) return;
        ++observed;
        err = check_stats(hip, t, 1, false);
        if (!err.empty()) err = name + ": " + err;
    });
    if (!err.empty()) return err;
    const Tensor& a = ref.at("prob");
    const Tensor& b = got.at("prob");
    double worst = 0;
    for (int64_t i = 0; i < a.numel(); ++i) worst = std::max(worst, (double)std::fabs(a.data<float>()[i] - b.data<float>()[i]));
    char w[32];
    std::snprintf(w, sizeof(w), "%.3g", worst);
    detail = std::string("max |diff| ") + w + ", stats of " + std::to_string(observed) + " tensors exact";
    return worst <= 1e-5 ? "" : "outputs differ by " + std::to_string(worst);
}

// The bundled PaddleOCR classifier (float32, then rewritten to float16) on both backends, on its reference inputs.
std::string bundled_model(HipBackend& hip, bool fp16, std::string& detail) {
    const std::string dir = std::string(HQ_SOURCE_DIR) + "/models/";
    graph::Model m = onnx_io::load_model(dir + "ppocr_mobile_v2_cls.onnx");
    graph::PassContext pc;
    pc.evaluate = exec::cpu::evaluate_node;
    graph::run_pipeline(m, pc);
    if (fp16) {
        graph::upgrade_opset(m, 13);
        std::set<std::string> all;
        for (const auto& n : m.graph.nodes) all.insert(n.name);
        quant::rewrite_fp16(m, all, {}, true);
    }
    const auto cpu = exec::cpu::make_backend();
    exec::Executor ec(m, *cpu), eh(m, hip);
    const auto before = hip.counters();
    double worst = 0;
    for (int i = 0; i < 3; ++i) {
        char name[32];
        std::snprintf(name, sizeof(name), "%04d.npy", i);
        const std::map<std::string, Tensor> in{{m.graph.inputs[0].name, read_npy(dir + "ppocr_cls_reference/inputs/" + name)}};
        const auto ref = ec.run(in);
        const auto got = eh.run(in);
        for (const auto& [k, a] : ref) {
            const Tensor& b = got.at(k);
            if (a.shape() != b.shape() || a.dtype() != b.dtype()) return k + ": shape or type differs";
            const auto av = a.to_f32(), bv = b.to_f32();
            for (size_t j = 0; j < av.size(); ++j) worst = std::max(worst, (double)std::fabs(av[j] - bv[j]));
        }
    }
    const auto after = hip.counters();
    uint64_t dev = 0, cpu_nodes = 0;
    std::string fallbacks;
    for (const auto& [op, n] : after.device) dev += n - (before.device.count(op) ? before.device.at(op) : 0);
    for (const auto& [op, n] : after.cpu) {
        const uint64_t d = n - (before.cpu.count(op) ? before.cpu.at(op) : 0);
        if (d) cpu_nodes += d, fallbacks += " " + op;
    }
    char w[32];
    std::snprintf(w, sizeof(w), "%.3g", worst);
    detail = std::string("max |diff| ") + w + ", " + std::to_string(dev) + " device / " + std::to_string(cpu_nodes) +
             " CPU nodes" + (fallbacks.empty() ? "" : " (" + fallbacks.substr(1) + ")");
    const double tol = fp16 ? 2e-2 : 1e-4;
    return worst <= tol ? "" : "outputs differ by " + std::to_string(worst);
}

}  // namespace

std::vector<KernelTest> kernel_tests() {
    std::vector<KernelTest> v = calib_tests();
    const int64_t sizes[][3] = {{1, 1, 1}, {3, 5, 7}, {64, 64, 64}, {65, 67, 131}, {128, 96, 1000}, {7, 300, 4}, {2, 3, 0}, {200, 1, 33}};
    for (const auto& s : sizes) {
        const int64_t M = s[0], N = s[1], K = s[2];
        v.push_back({"int8 GEMM", std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K),
                     [M, N, K](HipBackend& hip, std::string& d) { return int8_gemm(hip, M, N, K, d); }});
    }
    for (auto& t : backend_tests()) v.push_back(std::move(t));
    v.push_back({"model (Executor)", "Conv-Relu-MaxPool-Reshape-Gemm-Softmax + calibration stats", model_test});
    v.push_back({"model (Executor)", "bundled ppocr_mobile_v2_cls float32",
                 [](HipBackend& hip, std::string& d) { return bundled_model(hip, false, d); }});
    v.push_back({"model (Executor) fp16", "bundled ppocr_mobile_v2_cls rewritten to float16",
                 [](HipBackend& hip, std::string& d) { return bundled_model(hip, true, d); }});
    return v;
}

}  // namespace hq::hiptest

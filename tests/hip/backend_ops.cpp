// hq_backend_tests: runs every op case on the CPU and on HIP device 0 and compares them; then the kernel tests.
// Without a HIP device it says so and exits 77 (ctest reports the test as skipped).
//   hq_backend_tests [--list] [--filter TEXT] [--verbose]
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>

#include "core/half.h"
#include "exec/cpu/cpu_backend.h"
#include "exec/hip/hip_backend.h"
#include "exec/hip/hip_backend_impl.h"
#include "tests/hip/harness.h"

namespace hq::hiptest {

// --------------------------------------------------------------------------------------------- builders

graph::Attribute ai(int64_t v) {
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::Int;
    a.i = v;
    return a;
}
graph::Attribute af(float v) {
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::Float;
    a.f = v;
    return a;
}
graph::Attribute as(const std::string& v) {
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::String;
    a.s = v;
    return a;
}
graph::Attribute ais(std::vector<int64_t> v) {
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::Ints;
    a.ints = std::move(v);
    return a;
}
graph::Attribute afs(std::vector<float> v) {
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::Floats;
    a.floats = std::move(v);
    return a;
}

Tensor rnd(Shape s, uint32_t seed, float lo, float hi) {
    Tensor t(DType::F32, std::move(s));
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
    return t;
}
Tensor grid(Shape s, uint32_t seed, float step, int n) {
    Tensor t(DType::F32, std::move(s));
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> d(-n, n);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = step * (float)d(rng);
    return t;
}
Tensor f16(const Tensor& f) {
    Tensor t(DType::F16, f.shape());
    for (int64_t i = 0; i < f.numel(); ++i) t.data<uint16_t>()[i] = float_to_half(f.data<float>()[i]);
    return t;
}
Tensor f32v(Shape s, std::vector<float> v) { return Tensor::from_f32(std::move(s), v); }
Tensor i64v(Shape s, std::vector<int64_t> v) { return Tensor::from_i64(std::move(s), v); }
Tensor i32v(Shape s, std::vector<int32_t> v) {
    Tensor t(DType::I32, std::move(s));
    for (size_t i = 0; i < v.size(); ++i) t.data<int32_t>()[i] = v[i];
    return t;
}
Tensor int_rnd(DType dt, Shape s, uint32_t seed, int lo, int hi) {
    Tensor t(dt, std::move(s));
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> d(lo, hi);
    for (int64_t i = 0; i < t.numel(); ++i) {
        const int v = d(rng);
        switch (dt) {
            case DType::I8: t.data<int8_t>()[i] = (int8_t)v; break;
            case DType::U8: t.data<uint8_t>()[i] = (uint8_t)v; break;
            case DType::I16: t.data<int16_t>()[i] = (int16_t)v; break;
            case DType::U16: t.data<uint16_t>()[i] = (uint16_t)v; break;
            case DType::I32: t.data<int32_t>()[i] = v; break;
            case DType::I64: t.data<int64_t>()[i] = v; break;
            case DType::Bool: t.data<bool>()[i] = v != 0; break;
            default: throw Error("int_rnd: unsupported dtype");
        }
    }
    return t;
}

OpCase make_case(const std::string& group, const std::string& desc, const std::string& op, std::vector<Tensor> inputs,
                 Attrs attrs, int64_t opset, Tol tol, int nout) {
    OpCase c;
    c.op = group;
    c.desc = desc;
    c.node.op_type = op;
    c.node.name = group + ":" + desc;
    for (size_t i = 0; i < inputs.size(); ++i) c.node.inputs.push_back(inputs[i].empty() ? "" : "x" + std::to_string(i));
    for (int i = 0; i < nout; ++i) c.node.outputs.push_back("y" + std::to_string(i));
    c.node.attrs = std::move(attrs);
    c.inputs = std::move(inputs);
    c.opset = opset;
    c.tol = tol;
    return c;
}

namespace {

// ---------------------------------------------------------------------------------------------- compare

struct Cmp {
    bool ok = true;
    double max_abs = 0, max_rel = 0;
    std::string why;
};

double elem(const Tensor& t, int64_t i) {
    return t.dtype() == DType::F16 ? (double)half_to_float(t.data<uint16_t>()[i]) : t.at_f64(i);
}

Cmp compare(const Tensor& ref, const Tensor& got, Tol tol) {
    Cmp r;
    if (ref.dtype() != got.dtype() || ref.shape() != got.shape()) {
        r.ok = false;
        r.why = "got " + dtype_name(got.dtype()) + " " + shape_str(got.shape()) + ", expected " + dtype_name(ref.dtype()) +
                " " + shape_str(ref.shape());
        return r;
    }
    const bool flt = ref.dtype() == DType::F32 || ref.dtype() == DType::F16 || ref.dtype() == DType::F64;
    const bool exact = tol.atol == 0 && tol.rtol == 0;
    const size_t es = dtype_size(ref.dtype());
    for (int64_t i = 0; i < ref.numel(); ++i) {
        if (!flt) {
            if (std::memcmp((const char*)ref.raw() + i * es, (const char*)got.raw() + i * es, es) != 0) {
                r.ok = false;
                r.why = "element " + std::to_string(i) + ": got " + std::to_string(got.at_f64(i)) + ", expected " +
                        std::to_string(ref.at_f64(i));
                return r;
            }
            continue;
        }
        const double a = elem(ref, i), b = elem(got, i);
        if (std::isnan(a) || std::isnan(b)) {
            if (std::isnan(a) != std::isnan(b)) {
                r.ok = false;
                r.why = "element " + std::to_string(i) + ": got " + std::to_string(b) + ", expected " + std::to_string(a);
                return r;
            }
            continue;
        }
        const bool bits_equal = std::memcmp((const char*)ref.raw() + i * es, (const char*)got.raw() + i * es, es) == 0;
        const double err = a == b ? 0.0 : std::fabs(a - b);  // a == b covers equal infinities
        const double rel = err / std::max(std::fabs(a), 1e-30);
        if (!std::isinf(err)) {
            r.max_abs = std::max(r.max_abs, err);
            r.max_rel = std::max(r.max_rel, std::fabs(a) > 1e-30 ? rel : 0.0);
        }
        const bool pass = exact ? bits_equal : (err <= tol.atol + tol.rtol * std::fabs(a));
        if (!pass && r.ok) {
            r.ok = false;
            char buf[256];
            std::snprintf(buf, sizeof(buf), "element %lld: got %.9g, expected %.9g (abs err %.3g)", (long long)i, b, a, err);
            r.why = buf;
        }
    }
    return r;
}

struct GroupStats {
    int passed = 0, failed = 0;
    double max_abs = 0, max_rel = 0;
    std::string note;
};

}  // namespace
}  // namespace hq::hiptest

int main(int argc, char** argv) {
    using namespace hq;
    using namespace hq::hiptest;
    bool list = false, verbose = false;
    std::string filter;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--list") {
            list = true;
        } else if (a == "--verbose" || a == "-v") {
            verbose = true;
        } else if (a == "--filter" && i + 1 < argc) {
            filter = argv[++i];
        } else {
            std::fprintf(stderr, "usage: hq_backend_tests [--list] [--filter TEXT] [--verbose]\n");
            return 2;
        }
    }
    std::vector<OpCase> cases = op_cases();
    for (auto& c : op_cases_nn()) cases.push_back(std::move(c));
    std::vector<KernelTest> ktests = kernel_tests();
    auto selected = [&](const std::string& group, const std::string& desc) {
        return filter.empty() || (group + " " + desc).find(filter) != std::string::npos;
    };
    if (list) {
        for (const auto& c : cases)
            if (selected(c.op, c.desc))
                std::printf("%-22s %s%s\n", c.op.c_str(), c.desc.c_str(), c.expect_device ? "" : "  [CPU fallback]");
        for (const auto& k : ktests)
            if (selected(k.group, k.desc)) std::printf("%-22s %s  [kernel test]\n", k.group.c_str(), k.desc.c_str());
        return 0;
    }
    std::string why;
    const int ndev = exec::hip::device_count(&why);
    if (ndev == 0) {
        std::printf("hq_backend_tests: SKIPPED: no HIP device (%s); %zu op cases and %zu kernel tests not run\n",
                    why.c_str(), cases.size(), ktests.size());
        return 77;
    }
    std::unique_ptr<exec::Backend> backend;
    try {
        backend = exec::hip::make_backend(0, exec::cpu::make_backend());
    } catch (const std::exception& e) {
        std::printf("hq_backend_tests: FAILED to create the HIP backend: %s\n", e.what());
        return 1;
    }
    auto& hip = dynamic_cast<exec::hip::HipBackend&>(*backend);
    std::printf("hq_backend_tests on hip:0 %s\n", exec::hip::device_name(0).c_str());

    std::map<std::string, GroupStats> groups;
    std::vector<std::string> order;
    int failures = 0;
    auto group = [&](const std::string& g) -> GroupStats& {
        if (!groups.count(g)) order.push_back(g);
        return groups[g];
    };
    for (const auto& c : cases) {
        if (!selected(c.op, c.desc)) continue;
        GroupStats& gs = group(c.op);
        std::string err;
        try {
            const std::vector<Tensor> ref = exec::cpu::evaluate_node(c.node, c.inputs, c.opset);
            exec::KernelContext ctx(c.node, c.opset);
            for (const auto& t : c.inputs) ctx.inputs.push_back(t.empty() ? nullptr : &t);
            const auto before = hip.counters();
            hip.run(ctx);
            const auto after = hip.counters();
            const bool on_device = after.device.count(c.node.op_type) &&
                                   after.device.at(c.node.op_type) > (before.device.count(c.node.op_type) ? before.device.at(c.node.op_type) : 0);
            if (on_device != c.expect_device)
                err = on_device ? "ran on the device, expected the CPU fallback" : "ran on the CPU fallback, expected the device";
            for (size_t k = 0; k < ref.size() && err.empty(); ++k) {
                if (!ctx.wants_output(k)) continue;
                const Cmp r = compare(ref[k], ctx.outputs[k], c.tol);
                gs.max_abs = std::max(gs.max_abs, r.max_abs);
                gs.max_rel = std::max(gs.max_rel, r.max_rel);
                if (!r.ok) err = "output " + std::to_string(k) + ": " + r.why;
            }
        } catch (const std::exception& e) {
            err = std::string("exception: ") + e.what();
        }
        if (err.empty()) {
            ++gs.passed;
            if (verbose) std::printf("  ok    %-20s %s\n", c.op.c_str(), c.desc.c_str());
        } else {
            ++gs.failed;
            ++failures;
            std::printf("  FAIL  %-20s %s: %s\n", c.op.c_str(), c.desc.c_str(), err.c_str());
        }
    }
    for (const auto& k : ktests) {
        if (!selected(k.group, k.desc)) continue;
        GroupStats& gs = group(k.group);
        std::string detail, err;
        try {
            err = k.run(hip, detail);
        } catch (const std::exception& e) {
            err = std::string("exception: ") + e.what();
        }
        if (!detail.empty()) gs.note = detail;
        if (err.empty()) {
            ++gs.passed;
            if (verbose) std::printf("  ok    %-20s %s %s\n", k.group.c_str(), k.desc.c_str(), detail.c_str());
        } else {
            ++gs.failed;
            ++failures;
            std::printf("  FAIL  %-20s %s: %s\n", k.group.c_str(), k.desc.c_str(), err.c_str());
        }
    }
    std::printf("\n%-22s %8s %8s %12s %12s\n", "op", "passed", "failed", "worst abs", "worst rel");
    int total = 0;
    for (const auto& g : order) {
        const GroupStats& s = groups[g];
        total += s.passed + s.failed;
        std::printf("%-22s %8d %8d %12.3g %12.3g  %s\n", g.c_str(), s.passed, s.failed, s.max_abs, s.max_rel, s.note.c_str());
    }
    std::printf("\n%s\n", hip.summary().c_str());
    std::printf("\nhq_backend_tests: %d of %d cases passed%s\n", total - failures, total, failures ? "" : " (all)");
    return failures ? 1 : 0;
}

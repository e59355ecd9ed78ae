// Calibration with device-side statistics (exec::Backend::tensor_stats / tensor_histogram) and with the
// samples split across several executors gives the host path's table byte for byte. No GPU needed: a fake
// device backend runs the CPU kernels and computes the statistics itself, in a deliberately different way
// (sorting, then counting each bin between its exact edges by binary search).
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <unistd.h>

#include "calib/calibrator.h"
#include "calib/histogram.h"
#include "core/fileio.h"
#include "core/npy.h"
#include "core/threads.h"
#include "exec/backend.h"
#include "exec/cpu/cpu_backend.h"
#include "exec/executor.h"
#include "quant/qdq_ops.h"
#include "tests/unit/builder.h"

using namespace hq;
using test::attr_ints;
using test::node;

namespace {

// Runs nodes on the CPU. Pretends `host_ops` fall back to the host (no statistics for their outputs, as a
// device backend's CPU fallback), and computes tensor_histogram for every tensor except those of
// `no_hist_ops` (statistics yes, histogram no: the caller must then do the whole tensor on the host).
class FakeDevice : public exec::Backend {
public:
    std::set<std::string> host_ops{"Sub"}, no_hist_ops{"Mul"};
    mutable int stats_calls = 0, stats_given = 0, hist_calls = 0, hist_given = 0;

    std::string name() const override { return "fake-device"; }
    std::string supports(const graph::Node& n, int64_t opset) const override { return cpu_->supports(n, opset); }
    void run(exec::KernelContext& ctx) const override {
        cpu_->run(ctx);
        // The tensors this "device" still holds: the outputs of the node it ran last.
        held_.clear();
        if (host_ops.count(ctx.node.op_type)) return;
        for (const auto& t : ctx.outputs)
            if (!t.empty()) held_[t.raw()] = ctx.node.op_type;
    }
    bool tensor_stats(const Tensor& t, exec::TensorStats& s) const override {
        ++stats_calls;
        if (!held_.count(t.raw())) return false;  // graph inputs, CPU-fallback outputs
        ++stats_given;
        std::vector<float> v = finite_sorted(t, s.nan, s.inf);
        s.finite = v.size();
        s.min = v.empty() ? 0.0f : v.front();
        s.max = v.empty() ? 0.0f : v.back();
        return true;
    }
    bool tensor_histogram(const Tensor& t, int exponent, uint64_t* bins) const override {
        ++hist_calls;
        auto it = held_.find(t.raw());
        if (it == held_.end() || no_hist_ops.count(it->second)) return false;
        ++hist_given;
        uint64_t nan = 0, inf = 0;
        std::vector<float> v = finite_sorted(t, nan, inf);
        // Bin i holds [edge(i), edge(i+1)), edge(i) = -2^e + i * 2^(e-12): exact in double for every e.
        const int B = calib::Histogram::kBins;
        auto at = [&](int i) {
            if (i == B) return v.end();  // the range covers every value
            double edge = std::ldexp((double)(i - B / 2), exponent - 12);
            return std::lower_bound(v.begin(), v.end(), edge, [](float x, double e) { return (double)x < e; });
        };
        auto lo = at(0);  // == v.begin(): the caller's range covers every value
        for (int i = 0; i < B; ++i) {
            auto hi = at(i + 1);
            bins[i] += (uint64_t)(hi - lo);
            lo = hi;
        }
        return true;
    }

private:
    static std::vector<float> finite_sorted(const Tensor& t, uint64_t& nan, uint64_t& inf) {
        const float* p = t.data<float>();
        std::vector<float> v;
        nan = inf = 0;
        for (int64_t i = 0; i < t.numel(); ++i) {
            if (std::isnan(p[i])) ++nan;
            else if (std::isinf(p[i])) ++inf;
            else v.push_back(p[i]);
        }
        std::sort(v.begin(), v.end());
        return v;
    }
    std::unique_ptr<exec::Backend> cpu_ = exec::cpu::make_backend();
    mutable std::map<const void*, std::string> held_;
};

// x -> Conv -> Relu -> Conv(1x1) -> MatMul -> Mul(square, overflows to Inf) -> MatMul -> y
//                                                    \-> Sub(sq - sq: NaN where Inf) -> MatMul -> z
graph::Model make_model() {
    graph::Model m = test::model(13);
    auto& g = m.graph;
    g.inputs.push_back(test::value("x", {1, 2, 64, 64}));
    g.outputs.push_back(test::value("y", {1, 4, 64, 8}));
    g.outputs.push_back(test::value("z", {1, 4, 64, 8}));
    g.initializers["W1"] = test::random_tensor({8, 2, 3, 3}, 11);
    g.initializers["W2"] = test::random_tensor({4, 8, 1, 1}, 12);
    g.initializers["M1"] = test::random_tensor({64, 16}, 13);
    g.initializers["M2"] = test::random_tensor({16, 8}, 14);
    g.nodes.push_back(node("Conv", {"x", "W1"}, {"c1"}, "conv1", {{"pads", attr_ints({1, 1, 1, 1})}}));
    g.nodes.push_back(node("Relu", {"c1"}, {"r1"}, "relu1"));
    g.nodes.push_back(node("Conv", {"r1", "W2"}, {"c2"}, "conv2"));
    g.nodes.push_back(node("MatMul", {"c2", "M1"}, {"m1"}, "mm1"));
    g.nodes.push_back(node("Mul", {"m1", "m1"}, {"sq"}, "square"));
    g.nodes.push_back(node("MatMul", {"sq", "M2"}, {"y"}, "mm2"));
    g.nodes.push_back(node("Sub", {"sq", "sq"}, {"d"}, "diff"));
    g.nodes.push_back(node("MatMul", {"d", "M2"}, {"z"}, "mm3"));
    return m;
}

struct TempDir {
    std::filesystem::path path;
    explicit TempDir(const std::string& tag)
        : path(std::filesystem::temp_directory_path() / ("hq_device_calib_" + tag + "_" + std::to_string(::getpid()))) {
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

// Samples whose scales shrink and then grow (the histogram ranges grow mid-run), with NaN, +-Inf, -0 and
// values large enough that squares overflow.
void write_samples(const std::filesystem::path& dir, int n) {
    const float scales[] = {1e-3f, 1e-30f, 1.0f, 3e4f, 1e12f, 7.0f, 1e18f, 0.5f, 2e-8f, 1e25f};
    for (int i = 0; i < n; ++i) {
        Tensor x = test::random_tensor({1, 2, 64, 64}, 100 + i);
        float* p = x.data<float>();
        for (int64_t k = 0; k < x.numel(); ++k) p[k] *= scales[i % 10];
        if (i == 2) {
            p[5] = NAN;
            p[300] = INFINITY;
            p[4000] = -INFINITY;
        }
        if (i == 3)
            for (int64_t k = 0; k < 64; ++k) p[k] = k % 2 ? -0.0f : 0.0f;
        char name[32];
        std::snprintf(name, sizeof name, "s%03d.npy", i);
        write_file_atomic((dir / name).string(), to_npy(x));
    }
}

calib::CalibrateOptions options() {
    calib::CalibrateOptions o;
    o.method = calib::Method::Entropy;
    return o;
}

}  // namespace

TEST_CASE("device statistics give the host path's calibration table byte for byte", "[device][calib]") {
    graph::Model m = make_model();
    TempDir dir("single");
    write_samples(dir.path, 10);
    calib::DataSource data(dir.path.string(), m.graph.inputs);
    auto cpu = exec::cpu::make_backend();
    exec::Executor host_ex(m, *cpu);
    const std::string host = calib::calibrate(host_ex, data, options()).to_json();

    FakeDevice dev;
    exec::Executor dev_ex(m, dev);
    calib::CalibrationTable t = calib::calibrate(dev_ex, data, options());
    CHECK(t.to_json() == host);
    // The device path ran: stats for every device-held tensor, histograms for the targets it holds.
    CHECK(dev.stats_given > 0);
    CHECK(dev.hist_given > 0);
    CHECK(dev.stats_calls > dev.stats_given);  // Sub's outputs: CPU fallback, host path
    CHECK(dev.hist_calls > dev.hist_given);    // Mul's output: statistics yes, histogram no
    // The data really exercises NaN, Inf, -0 and range growth.
    CHECK(t.tensors.at("x").nan_count() == 1);
    CHECK(t.tensors.at("x").inf_count() == 2);
    CHECK(t.tensors.at("sq").inf_count() > 0);
    CHECK(t.tensors.at("d").nan_count() > 0);
    CHECK(t.tensors.at("c1").nan_count() > 0);
    CHECK(t.tensors.at("r1").exponent() > 60);
    CHECK(t.tensors.at("r1").has_bins());
    // Histograms exactly for the tensors some target's placement may quantize.
    const auto targets = quant::calibration_targets(m);
    for (const auto& [name, h] : t.tensors) CHECK(h.has_bins() == (targets.count(name) != 0));
    CHECK_FALSE(std::signbit(t.tensors.at("r1").min()));  // ReLU zeros: -0 or +0, recorded as +0
}

TEST_CASE("samples split across several executors give one executor's table byte for byte", "[device][calib]") {
    graph::Model m = make_model();
    TempDir dir("split");
    write_samples(dir.path, 10);
    calib::DataSource data(dir.path.string(), m.graph.inputs);
    auto cpu = exec::cpu::make_backend();
    exec::Executor host_ex(m, *cpu);
    const std::string host = calib::calibrate(host_ex, data, options()).to_json();

    // Three fake devices, and a mix of a fake device with the CPU.
    FakeDevice d0, d1, d2;
    exec::Executor e0(m, d0), e1(m, d1), e2(m, d2), ecpu(m, *cpu);
    CHECK(calib::calibrate({&e0, &e1, &e2}, data, options()).to_json() == host);
    CHECK(d0.stats_given + d1.stats_given + d2.stats_given > 0);
    CHECK(calib::calibrate({&ecpu, &e1}, data, options()).to_json() == host);

    // Through the overload that makes one executor per backend; --samples limits the split too.
    std::vector<std::unique_ptr<exec::Backend>> backends;
    backends.push_back(std::make_unique<FakeDevice>());
    backends.push_back(std::make_unique<FakeDevice>());
    CHECK(calib::calibrate(m, backends, data, options()).to_json() == host);
    calib::CalibrateOptions few = options();
    few.max_samples = 3;
    calib::CalibrationTable t3 = calib::calibrate(m, backends, data, few);
    CHECK(t3.samples == 3);
    CHECK(t3.to_json() == calib::calibrate(host_ex, data, few).to_json());
}

TEST_CASE("an error in one executor's sample stops the split run and is reported", "[device][calib]") {
    graph::Model m = make_model();
    TempDir dir("error");
    write_samples(dir.path, 6);
    // A sample of the wrong shape: the data reader's error (exit 2) names it.
    write_file_atomic((dir.path / "s004.npy").string(), to_npy(test::random_tensor({1, 3, 64, 64}, 1)));
    calib::DataSource data(dir.path.string(), m.graph.inputs);
    FakeDevice d0, d1;
    exec::Executor e0(m, d0), e1(m, d1);
    try {
        calib::calibrate({&e0, &e1}, data, options());
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::BadInput);
        CHECK(std::string(e.what()).find("s004") != std::string::npos);
    }
}

TEST_CASE("Histogram: add_stats + add_bins equal add, also for bins made at a smaller exponent", "[device][calib]") {
    std::vector<float> a = {0.25f, -3.0f, 1e-20f, NAN, 7.5f, -0.0f, INFINITY};
    std::vector<float> b = {1000.0f, -2048.0f, 0.0f, 1e-38f, -INFINITY, 3.0e5f};
    calib::Histogram whole;
    whole.add(a.data(), (int64_t)a.size());
    whole.add(b.data(), (int64_t)b.size());
    // b's statistics and bins computed on their own, at b's own exponent (smaller than the range
    // after a huge earlier value would be), then folded in.
    auto stats_of = [](const std::vector<float>& v) {
        exec::TensorStats s;
        s.min = INFINITY;
        s.max = -INFINITY;
        for (float x : v) {
            if (std::isnan(x)) ++s.nan;
            else if (std::isinf(x)) ++s.inf;
            else {
                ++s.finite;
                s.min = std::min(s.min, x);
                s.max = std::max(s.max, x);
            }
        }
        return s;
    };
    auto bins_at = [](const std::vector<float>& v, int e) {
        calib::Histogram h;  // a fresh histogram's bins at exponent e, via the host path
        std::vector<float> f;
        for (float x : v)
            if (std::isfinite(x)) f.push_back(x);
        f.push_back(std::ldexp(1.0f, e - 1));  // pins the exponent at e
        h.add(f.data(), (int64_t)f.size());
        REQUIRE(h.exponent() == e);
        std::vector<uint64_t> bins = h.bins();
        --bins[calib::Histogram::kBins / 2 + calib::Histogram::kBins / 4];  // remove the pin (bin of 2^(e-1))
        return bins;
    };
    calib::Histogram dev;
    dev.add(a.data(), (int64_t)a.size());
    exec::TensorStats sb = stats_of(b);
    const int eb = dev.exponent_for(sb);
    CHECK(eb == 19);  // 3e5 < 2^19
    dev.add_stats(sb);
    dev.add_bins(eb, bins_at(b, eb).data());
    CHECK(dev.bins() == whole.bins());
    CHECK(dev.exponent() == whole.exponent());

    // Bins made at a smaller exponent than the histogram's range are folded exactly.
    calib::Histogram big;
    std::vector<float> huge = {1e30f};
    big.add(huge.data(), 1);
    calib::Histogram ref = big;
    ref.add(b.data(), (int64_t)b.size());
    big.add_stats(sb);
    big.add_bins(19, bins_at(b, 19).data());
    CHECK(big.exponent() == ref.exponent());
    CHECK(big.bins() == ref.bins());
    CHECK(big.min() == ref.min());
    CHECK(big.max() == ref.max());
    CHECK(big.count() == ref.count());
    CHECK(big.inf_count() == ref.inf_count());
}

TEST_CASE("Histogram: a zero's sign does not depend on the order values arrive in", "[device][calib]") {
    std::vector<float> pos = {0.0f, 1.0f}, neg = {-0.0f, 1.0f}, npos = {0.0f, -1.0f}, nneg = {-1.0f, -0.0f};
    for (auto* first : {&pos, &neg})
        for (auto* second : {&pos, &neg}) {
            calib::Histogram h;
            h.add(first->data(), 2);
            h.add(second->data(), 2);
            CHECK_FALSE(std::signbit(h.min()));
        }
    calib::Histogram a, b;
    a.add(npos.data(), 2);
    b.add(nneg.data(), 2);
    CHECK_FALSE(std::signbit(a.max()));
    CHECK_FALSE(std::signbit(b.max()));
    calib::Histogram ab = a, ba = b;
    ab.merge(b);
    ba.merge(a);
    CHECK_FALSE(std::signbit(ab.max()));
    CHECK_FALSE(std::signbit(ba.max()));
}

TEST_CASE("Relu and Clip statistics derived from their inputs give the table of a pass over every tensor", "[calib]") {
    // x -> Conv (+3 bias: right-leaning, so the Relu's range is its input's) -> Relu -> Clip(0, 6) -> Conv -> y, with
    // sources of 2^17 values (big enough to be binned whole) and a team of two (the inline observer).
    graph::Model m = test::model(13);
    auto& g = m.graph;
    g.inputs.push_back(test::value("x", {1, 4, 128, 128}));
    g.outputs.push_back(test::value("y", {1, 4, 128, 128}));
    g.initializers["W1"] = test::random_tensor({8, 4, 3, 3}, 21);
    g.initializers["B1"] = test::random_tensor({8}, 22, 2.5f, 3.5f);
    g.initializers["W2"] = test::random_tensor({4, 8, 1, 1}, 23);
    g.initializers["lo"] = Tensor::scalar_f32(0.f);
    g.initializers["hi"] = Tensor::scalar_f32(6.f);
    g.nodes.push_back(node("Conv", {"x", "W1", "B1"}, {"c1"}, "conv1", {{"pads", attr_ints({1, 1, 1, 1})}}));
    g.nodes.push_back(node("Relu", {"c1"}, {"r1"}, "relu1"));
    g.nodes.push_back(node("Clip", {"r1", "lo", "hi"}, {"k1"}, "clip1"));
    g.nodes.push_back(node("Conv", {"k1", "W2"}, {"y"}, "conv2"));
    const auto targets = quant::calibration_targets(m);
    REQUIRE(targets.count("c1"));
    REQUIRE(targets.count("r1"));
    TempDir dir("derive");
    for (int i = 0; i < 6; ++i) {
        Tensor x = test::random_tensor({1, 4, 128, 128}, 200 + i, -1.f, 1.f + 0.3f * (float)i);  // ranges grow
        char name[32];
        std::snprintf(name, sizeof name, "s%03d.npy", i);
        write_file_atomic((dir.path / name).string(), to_npy(x));
    }
    calib::DataSource data(dir.path.string(), m.graph.inputs);
    const int saved = num_threads();
    set_num_threads(2);
    auto cpu = exec::cpu::make_backend();
    exec::Executor ex(m, *cpu);
    ::setenv("HQ_CALIB_NO_DERIVE", "1", 1);
    const std::string plain = calib::calibrate(ex, data, options()).to_json();
    ::unsetenv("HQ_CALIB_NO_DERIVE");
    const std::string derived = calib::calibrate(ex, data, options()).to_json();
    set_num_threads(saved);
    CHECK(derived == plain);
}

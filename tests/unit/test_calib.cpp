// Calibration statistics: range methods on known distributions, NaN/Inf, exact order-free merging, table merges.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>

#include "calib/histogram.h"
#include "calib/table.h"
#include "core/error.h"
#include "core/fileio.h"

using namespace hq;
using namespace hq::calib;

namespace {

std::vector<float> sample(const std::string& kind, size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<float> v(n);
    std::normal_distribution<float> gauss(0.0f, 1.0f);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    std::exponential_distribution<float> expo(1.0f);
    for (auto& x : v) {
        if (kind == "gauss") x = gauss(rng);
        else if (kind == "uniform") x = uni(rng);
        else if (kind == "laplace") x = (uni(rng) < 0 ? -1.0f : 1.0f) * expo(rng);
        else if (kind == "relu") x = std::max(0.0f, gauss(rng));
    }
    return v;
}

Histogram hist_of(const std::vector<float>& v) {
    Histogram h;
    h.add(v.data(), (int64_t)v.size());
    return h;
}

bool same(const Histogram& a, const Histogram& b) {
    return a.count() == b.count() && a.nan_count() == b.nan_count() && a.inf_count() == b.inf_count() &&
           a.min() == b.min() && a.max() == b.max() && a.exponent() == b.exponent() && a.bins() == b.bins();
}

}  // namespace

TEST_CASE("minmax and percentile on a uniform distribution", "[calib]") {
    auto v = sample("uniform", 200000, 1);
    Histogram h = hist_of(v);
    Range mm = compute_range(h, Method::MinMax);
    CHECK(mm.lo == *std::min_element(v.begin(), v.end()));
    CHECK(mm.hi == *std::max_element(v.begin(), v.end()));
    Range p = compute_range(h, Method::Percentile, 99.0);
    // 1% per side of U(-1,1) lies beyond +-0.98
    CHECK(p.lo == Approx(-0.98).margin(0.003));
    CHECK(p.hi == Approx(0.98).margin(0.003));
    // a uniform distribution has no tail worth clipping: MSE keeps (nearly) the full range
    Range m = compute_range(h, Method::Mse);
    CHECK(m.hi > 0.95f);
    CHECK(m.lo < -0.95f);
}

TEST_CASE("Gaussian: percentile, MSE and entropy thresholds", "[calib]") {
    auto v = sample("gauss", 400000, 2);
    Histogram h = hist_of(v);
    // the 99.9th percentile of N(0,1) is 3.090
    Range p = compute_range(h, Method::Percentile, 99.9);
    CHECK(p.hi == Approx(3.090).margin(0.06));
    CHECK(p.lo == Approx(-3.090).margin(0.06));
    // the MSE-optimal 8-bit clipping threshold of N(0,1) is about 4 sigma (ACIQ: 3.9-4.2)
    Range m = compute_range(h, Method::Mse);
    CHECK(m.hi > 3.3f);
    CHECK(m.hi < 4.8f);
    // KL (TensorRT) clips a Gaussian's tail: below the max, above 2.5 sigma
    Range e = compute_range(h, Method::Entropy);
    CHECK(e.hi > 2.5f);
    CHECK(e.hi < h.max());
}

TEST_CASE("Laplace with outliers: clipping methods ignore the outliers", "[calib]") {
    auto v = sample("laplace", 200000, 3);
    v[10] = 1000.0f;
    v[20] = -800.0f;
    Histogram h = hist_of(v);
    CHECK(compute_range(h, Method::MinMax).hi == 1000.0f);
    CHECK(compute_range(h, Method::MinMax).lo == -800.0f);
    // 99.99th percentile of Laplace(b=1) is ln(5000) = 8.52 per side
    Range p = compute_range(h, Method::Percentile, 99.99);
    CHECK(p.hi == Approx(std::log(5000.0)).margin(0.6));
    CHECK(compute_range(h, Method::Entropy).hi < 50.0f);
    CHECK(compute_range(h, Method::Entropy).lo > -50.0f);
    // squared error weighs two far outliers heavily, but still clips them
    CHECK(compute_range(h, Method::Mse).hi < 1000.0f);
}

TEST_CASE("all-zero, constant and one-sided tensors give valid ranges", "[calib]") {
    std::vector<float> zeros(1000, 0.0f), fives(1000, 5.0f);
    for (Method m : {Method::MinMax, Method::Percentile, Method::Entropy, Method::Mse}) {
        Range z = compute_range(hist_of(zeros), m);
        CHECK(z.lo == 0.0f);
        CHECK(z.hi == 0.0f);
        Range c = compute_range(hist_of(fives), m);
        CHECK(c.lo == 0.0f);  // ranges always contain zero
        CHECK(c.hi > 0.0f);
        CHECK(c.hi <= 5.0f);
        Range r = compute_range(hist_of(sample("relu", 50000, 4)), m);
        CHECK(r.lo == 0.0f);
        CHECK(r.hi > 1.0f);
    }
    CHECK(compute_range(hist_of(fives), Method::MinMax).hi == 5.0f);
}

TEST_CASE("NaN and Inf are counted and excluded", "[calib]") {
    std::vector<float> v = {1.0f, NAN, -2.0f, INFINITY, 3.0f, -INFINITY, NAN};
    Histogram h = hist_of(v);
    CHECK(h.nan_count() == 2);
    CHECK(h.inf_count() == 2);
    CHECK(h.count() == 3);
    CHECK(h.min() == -2.0f);
    CHECK(h.max() == 3.0f);
    uint64_t total = 0;
    for (auto b : h.bins()) total += b;
    CHECK(total == 3);
}

TEST_CASE("merging shards equals one run over all data, bit for bit, in any order", "[calib]") {
    for (const std::string kind : {"gauss", "laplace", "relu", "uniform"}) {
        auto v = sample(kind, 300000, 5);
        v[7] = 40.0f;  // forces range growth in whichever shard holds it
        v.push_back(NAN);
        Histogram whole;
        for (size_t i = 0; i < v.size(); i += 1000) whole.add(v.data() + i, (int64_t)std::min<size_t>(1000, v.size() - i));
        for (uint32_t seed : {1u, 2u, 3u}) {
            auto s = v;
            std::shuffle(s.begin(), s.end(), std::mt19937(seed));
            size_t cut = s.size() / 3 + seed * 1000;
            Histogram a, b;
            a.add(s.data(), (int64_t)cut);
            for (size_t i = cut; i < s.size(); i += 777) b.add(s.data() + i, (int64_t)std::min<size_t>(777, s.size() - i));
            Histogram ab = a, ba = b;
            ab.merge(b);
            ba.merge(a);
            CHECK(same(ab, whole));
            CHECK(same(ba, whole));
        }
    }
}

TEST_CASE("calibration table JSON round trip and fingerprint check on merge", "[calib]") {
    CalibrationTable t;
    t.model = "m.onnx";
    t.fingerprint = "0123456789abcdef";
    t.samples = 3;
    t.method = Method::Entropy;
    t.tensors["a"] = hist_of(sample("gauss", 10000, 6));
    t.tensors["b"] = hist_of(sample("relu", 10000, 7));
    auto dir = std::filesystem::temp_directory_path() / ("hq_calib_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::string path = (dir / "t.json").string();
    t.write(path);
    CalibrationTable r = CalibrationTable::read(path);
    CHECK(r.to_json() == t.to_json());
    CHECK(same(r.tensors.at("a"), t.tensors.at("a")));
    CalibrationTable other = r;
    other.fingerprint = "ffffffffffffffff";
    CHECK_THROWS_WITH(r.merge(other, "other.json"), Catch::Contains("another model"));
    std::filesystem::remove_all(dir);
}

namespace {

// A table of `kind` data under `dir`/`file`, made with `method`, that saw the given (name, digest) samples.
std::string write_shard(const std::filesystem::path& dir, const std::string& file, Method method, uint32_t seed,
                        std::vector<std::pair<std::string, std::string>> digests) {
    CalibrationTable t;
    t.model = "m.onnx";
    t.fingerprint = "0123456789abcdef";
    t.samples = digests.empty() ? 2 : digests.size();
    t.method = method;
    t.tensors["a"] = hist_of(sample("gauss", 5000, seed));
    t.sample_digests = std::move(digests);
    t.sort_samples();
    std::string path = (dir / file).string();
    t.write(path);
    return path;
}

struct TempDir {
    std::filesystem::path path;
    explicit TempDir(const std::string& tag)
        : path(std::filesystem::temp_directory_path() / ("hq_" + tag + "_" + std::to_string(::getpid()))) {
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("merge_tables keeps the method the inputs agree on; disagreeing methods need --method", "[calib]") {
    TempDir dir("merge_method");
    auto a = write_shard(dir.path, "a.json", Method::Entropy, 1, {{"s0", "00000000000000a0"}});
    auto b = write_shard(dir.path, "b.json", Method::Entropy, 2, {{"s1", "00000000000000b1"}});
    auto c = write_shard(dir.path, "c.json", Method::Mse, 3, {{"s2", "00000000000000c2"}});
    CalibrationTable ab = merge_tables({a, b}, std::nullopt, std::nullopt);
    CHECK(ab.method == Method::Entropy);  // was minmax (the default) before
    CHECK(ab.samples == 2);
    CHECK(merge_tables({a, b}, Method::Percentile, 99.9).method == Method::Percentile);
    try {
        merge_tables({a, b, c}, std::nullopt, std::nullopt);
        FAIL("disagreeing methods merged");
    } catch (const Error& e) {
        const std::string msg = e.what();
        CHECK(e.exit_code() == 2);
        CHECK_THAT(msg, Catch::Contains(a) && Catch::Contains("entropy") && Catch::Contains(c) &&
                            Catch::Contains("mse") && Catch::Contains("--method"));
    }
    CHECK(merge_tables({a, b, c}, Method::Mse, std::nullopt).method == Method::Mse);
}

TEST_CASE("merge_tables refuses shards that share a sample, naming it and both tables", "[calib]") {
    TempDir dir("merge_overlap");
    auto a = write_shard(dir.path, "a.json", Method::MinMax, 1, {{"img_000", "1111111111111111"}, {"img_001", "2222"}});
    auto b = write_shard(dir.path, "b.json", Method::MinMax, 2, {{"img_002", "3333"}});
    auto c = write_shard(dir.path, "c.json", Method::MinMax, 3, {{"copy_of_001", "2222"}});
    // The same shard twice.
    try {
        merge_tables({a, b, a}, std::nullopt, std::nullopt);
        FAIL("the same shard merged twice");
    } catch (const Error& e) {
        const std::string msg = e.what();
        CHECK(e.exit_code() == 2);
        CHECK_THAT(msg, Catch::Contains("'img_000'") && Catch::Contains("overlap"));
    }
    // Another file with the same bytes, under another name.
    try {
        merge_tables({a, b, c}, std::nullopt, std::nullopt);
        FAIL("overlapping shards merged");
    } catch (const Error& e) {
        const std::string msg = e.what();
        CHECK_THAT(msg, Catch::Contains("'copy_of_001'") && Catch::Contains("'img_001'") && Catch::Contains(a) &&
                            Catch::Contains(c));
    }
    // Disjoint shards: the union of their samples, sorted, whatever the order of the inputs.
    CalibrationTable ab = merge_tables({b, a}, std::nullopt, std::nullopt);
    REQUIRE(ab.sample_digests.size() == 3);
    CHECK(ab.sample_digests[0].first == "img_000");
    CHECK(ab.sample_digests[2].first == "img_002");
    CHECK(ab.to_json() == merge_tables({a, b}, std::nullopt, std::nullopt).to_json());
    CalibrationTable r = CalibrationTable::read(dir.path.string() + "/a.json");
    CHECK(r.sample_digests == std::vector<std::pair<std::string, std::string>>{{"img_000", "1111111111111111"},
                                                                               {"img_001", "2222"}});
}

TEST_CASE("a table without sample digests (older hyquant) still reads and merges", "[calib]") {
    TempDir dir("merge_old");
    auto old_table = write_shard(dir.path, "old.json", Method::Entropy, 1, {});
    {
        std::string text = read_file(old_table);
        REQUIRE(text.find("sample_digests") == std::string::npos);  // the old format: no such key
    }
    auto fresh = write_shard(dir.path, "new.json", Method::Entropy, 2, {{"s0", "00000000000000a0"}});
    CalibrationTable r = CalibrationTable::read(old_table);
    CHECK(r.sample_digests.empty());
    CHECK(r.samples == 2);
    CalibrationTable m = merge_tables({old_table, fresh}, std::nullopt, std::nullopt);
    CHECK(m.samples == 3);
    CHECK(m.method == Method::Entropy);
    CHECK(m.sample_digests.size() == 1);
    // Without digests nothing can be checked: the old table merges with itself (as before).
    CHECK_NOTHROW(merge_tables({old_table, old_table}, std::nullopt, std::nullopt));
}

TEST_CASE("every value lands in the bin its definition gives (vector and scalar paths, any size and scale)", "[calib]") {
    // bin = floor((x + 2^e) / (2^(e+1) / kBins)), in double (exact for float values); zeros (+0 and -0) in the middle.
    auto reference = [](const std::vector<float>& v, int e) {
        std::vector<uint64_t> bins(Histogram::kBins, 0);
        const double range = std::ldexp(1.0, e), width = 2 * range / Histogram::kBins;
        for (float x : v) bins[(size_t)std::floor(((double)x + range) / width)]++;
        return bins;
    };
    std::mt19937 rng(11);
    for (const std::string kind : {"relu", "gauss", "laplace"})
        for (size_t n : {1, 7, 8, 9, 2047, 2048, 2049, 70001, 300003})
            for (float gain : {1.0f, 1e-30f, 3e5f}) {
                auto v = sample(kind, n, (uint32_t)n);
                for (auto& x : v) x *= gain;
                for (size_t i = 0; i < v.size(); i += 5) v[i] = (i % 2) ? -0.0f : 0.0f;  // runs of zeros of both signs
                if (n > 100) std::fill(v.begin() + 30, v.begin() + 90, v[3]);     // a run of one non-zero value
                Histogram h = hist_of(v);
                INFO(kind << " n=" << n << " gain=" << gain << " exponent=" << h.exponent());
                REQUIRE(h.count() == n);
                const auto once = reference(v, h.exponent());
                CHECK(h.bins() == once);
                // Again into the same range (the one-pass path), then with a value outside it and with a NaN (the
                // pass taken back, the general path): each time exactly the definition's counts.
                h.add(v.data(), (int64_t)v.size());
                auto twice = once;
                for (auto& c : twice) c *= 2;
                CHECK(h.bins() == twice);
                CHECK(h.count() == 2 * n);
                auto w = v;
                w.back() = std::ldexp(1.0f, h.exponent() + 1);
                Histogram g = hist_of(v);
                g.add(w.data(), (int64_t)w.size());
                auto both = v;
                both.insert(both.end(), w.begin(), w.end());
                CHECK(g.bins() == reference(both, g.exponent()));
                w.back() = NAN;
                Histogram k = hist_of(v);
                k.add(w.data(), (int64_t)w.size());
                both.back() = v.back();
                both.resize(2 * n - 1);
                CHECK(k.nan_count() == 1);
                CHECK(k.bins() == reference(both, k.exponent()));
            }
    (void)rng;
}

TEST_CASE("clip and Relu statistics derived from their input's equal a pass over the output, where derivable", "[calib]") {
    auto clip = [](const std::vector<float>& v, float lo, float hi) {
        std::vector<float> r(v.size());
        for (size_t i = 0; i < v.size(); ++i) {
            const float t = v[i] < lo ? lo : v[i];
            r[i] = t > hi ? hi : t;
        }
        return r;
    };
    const float inf = std::numeric_limits<float>::infinity();
    struct Case {
        std::string kind;
        float shift, lo, hi;
        bool derivable;
    };
    // x = kind + shift: Relu of a right-leaning Gaussian (x's range is y's), Relu6, a Clip with both bounds inside,
    // bounds outside the data; Relu of a left-leaning one needs finer bins than x's (not derivable).
    for (const Case& c : {Case{"gauss", 1.5f, 0.f, inf, true}, Case{"gauss", 2.f, 0.f, 6.f, true},
                          Case{"uniform", 0.f, -0.3f, 0.55f, true}, Case{"uniform", 0.f, -5.f, 5.f, true},
                          Case{"relu", 0.f, 0.f, inf, true}, Case{"gauss", -3.f, 0.f, inf, false}}) {
        INFO(c.kind << " shift " << c.shift << " clip [" << c.lo << ", " << c.hi << "]");
        auto x = sample(c.kind, 100000, 9);
        for (auto& v : x) v += c.shift;
        x[3] = 0.f, x[4] = -0.f;
        const Histogram hx = hist_of(x), want = hist_of(clip(x, c.lo, c.hi));
        Histogram got;
        REQUIRE(Histogram::clip_of(hx, c.lo, c.hi, Histogram::kNoFloor, got) == c.derivable);
        if (c.derivable) CHECK(same(got, want));
        // Merged into a y histogram that already has data: the same as adding the values.
        auto more = clip(sample("uniform", 5000, 10), c.lo, c.hi);
        Histogram y1 = hist_of(more), y2 = y1;
        if (Histogram::clip_of(hx, c.lo, c.hi, y1.exponent(), got)) {
            y1.merge(got);
            y2.add(clip(x, c.lo, c.hi).data(), (int64_t)x.size());
            CHECK(same(y1, y2));
        }
    }
    // NaN or Inf in x: never derived.
    auto x = sample("gauss", 1000, 11);
    x[0] = NAN;
    Histogram got;
    CHECK_FALSE(Histogram::clip_of(hist_of(x), 0.f, inf, Histogram::kNoFloor, got));
    x[0] = inf;
    CHECK_FALSE(Histogram::clip_of(hist_of(x), 0.f, inf, Histogram::kNoFloor, got));
}

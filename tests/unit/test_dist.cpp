// lib/dist in one process: shares cover the samples in order, messages round-trip, histograms copy exactly,
// agreement passes a failure through.
#include <catch2/catch.hpp>

#include <random>

#include "calib/histogram.h"
#include "dist/dist.h"
#include "dist/pack.h"

using namespace hq;

TEST_CASE("dist: shares are contiguous blocks that concatenate to 0..n-1", "[dist]") {
    for (int k : {1, 2, 3, 7, 64})
        for (int64_t n : {0, 1, 5, 48, 1000}) {
            int64_t next = 0, lo = n, hi = 0;
            for (int r = 0; r < k; ++r) {
                auto [b, e] = dist::share(n, r, k);
                REQUIRE(b == next);
                REQUIRE(e >= b);
                lo = std::min(lo, e - b);
                hi = std::max(hi, e - b);
                next = e;
            }
            REQUIRE(next == n);
            REQUIRE(hi - lo <= 1);
        }
}

TEST_CASE("dist: one process is rank 0 of 1; collectives return its own values", "[dist]") {
    REQUIRE(dist::size() == 1);
    REQUIRE(dist::is_root());
    REQUIRE(dist::gather("abc") == std::vector<std::string>{"abc"});
    REQUIRE(dist::broadcast("xyz") == "xyz");
    REQUIRE(dist::ordered_sum(0.1) == 0.1);
    REQUIRE_FALSE(dist::agree(std::nullopt));
    auto f = dist::agree(dist::Failure{0, 2, "sample 'a': truncated"});
    REQUIRE(f);
    REQUIRE(f->message == "sample 'a': truncated");
    REQUIRE_THROWS_AS(dist::agree_or_throw(dist::Failure{0, 2, "bad"}), dist::AgreedError);
}

TEST_CASE("dist: messages round-trip and a truncated one is an error", "[dist]") {
    dist::Packer p;
    p.put<int32_t>(-7);
    p.put_str("tensor");
    p.put_vec(std::vector<double>{1.5, -2.0});
    std::string b = p.take();
    dist::Unpacker u(b);
    REQUIRE(u.get<int32_t>() == -7);
    REQUIRE(u.get_str() == "tensor");
    REQUIRE(u.get_vec<double>() == std::vector<double>{1.5, -2.0});
    REQUIRE(u.done());
    std::string cut = b.substr(0, b.size() - 3);
    dist::Unpacker v(cut);
    v.get<int32_t>();
    v.get_str();
    REQUIRE_THROWS_AS(v.get_vec<double>(), Error);
}

TEST_CASE("dist: histograms copy exactly through bytes; merged copies equal one histogram", "[dist][calib]") {
    std::mt19937 rng(3);
    std::normal_distribution<float> nd(0.0f, 3.0f);
    std::vector<float> a(5000), b(7000);
    for (auto& x : a) x = nd(rng);
    for (auto& x : b) x = 40.0f * nd(rng);
    calib::Histogram ha, hb, whole, minmax(false), empty;
    ha.add(a.data(), (int64_t)a.size());
    hb.add(b.data(), (int64_t)b.size());
    whole.add(a.data(), (int64_t)a.size());
    whole.add(b.data(), (int64_t)b.size());
    minmax.add(b.data(), (int64_t)b.size());
    dist::Packer p;
    for (const auto* h : {&ha, &hb, &minmax, &empty}) h->pack(p);
    std::string bytes = p.take();
    dist::Unpacker u(bytes);
    calib::Histogram ca = calib::Histogram::unpack(u), cb = calib::Histogram::unpack(u);
    calib::Histogram cm = calib::Histogram::unpack(u), ce = calib::Histogram::unpack(u);
    REQUIRE(u.done());
    REQUIRE(cm.has_bins() == false);
    REQUIRE(cm.min() == minmax.min());
    REQUIRE(cm.max() == minmax.max());
    REQUIRE(ce.empty());
    ce.merge(ca);
    ce.merge(cb);
    REQUIRE(ce.bins() == whole.bins());
    REQUIRE(ce.exponent() == whole.exponent());
    REQUIRE(ce.min() == whole.min());
    REQUIRE(ce.max() == whole.max());
    REQUIRE(ce.count() == whole.count());
}

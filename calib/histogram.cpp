#include "calib/histogram.h"

#include "dist/pack.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <utility>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HQ_HIST_AVX2 1
#include <immintrin.h>
#endif

#include "core/error.h"
#include "core/threads.h"
#include "exec/backend.h"

namespace hq::calib {

namespace {

constexpr int kMinExp = -126, kMaxExp = 128;

// Smallest e with every value of [mn, mx] inside [-2^e, 2^e).
int needed_exponent(float mn, float mx) {
    double a = std::max(std::fabs((double)mn), std::fabs((double)mx));
    if (a == 0) return kMinExp;
    int k;
    std::frexp(a, &k);  // a = f * 2^k, f in [0.5, 1): a < 2^k
    return std::clamp(k, kMinExp, kMaxExp);
}

// -0 -> +0 (a zero's sign is not a property of the multiset of values; x + 0 keeps every other value).
float unsigned_zero(float x) { return x + 0.0f; }

// Min and max over the non-NaN values of some data, and its NaN count: merged in any order with the same result.
struct Extent {
    float mn = std::numeric_limits<float>::infinity(), mx = -std::numeric_limits<float>::infinity();
    uint64_t nan = 0;
    void merge(const Extent& o) {
        mn = o.mn < mn ? o.mn : mn;
        mx = o.mx > mx ? o.mx : mx;
        nan += o.nan;
    }
};

// How many chunks add() splits n values into on the worker team (1: below two grains, or one thread).
int64_t chunks_for(int64_t n) {
    constexpr int64_t kGrain = 1 << 15;
    return n < 2 * kGrain || num_threads() == 1 ? 1 : std::min<int64_t>(num_threads(), n / kGrain);
}
// fn(c, begin, end) for chunk c of [0, n) split in `chunks`, on the worker team when there are several.
template <typename F>
void for_chunks(int64_t n, int64_t chunks, F fn) {
    if (chunks == 1) return fn(0, int64_t(0), n);
    parallel_for(chunks, 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) fn(c, n * c / chunks, n * (c + 1) / chunks);
    });
}

#if HQ_HIST_AVX2
bool has_avx2() {
    static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
    return yes;
}

// Lane permutations that move the lanes set in an 8-bit mask to the front, in order.
struct PackTable {
    alignas(32) int32_t perm[256][8];
    PackTable() {
        for (int m = 0; m < 256; ++m) {
            int k = 0;
            for (int b = 0; b < 8; ++b)
                if (m >> b & 1) perm[m][k++] = b;
            while (k < 8) perm[m][k++] = 0;
        }
    }
};

// One pass over x[0..n) (n < 2^32) for a histogram whose range [-2^e, 2^e) is already set (float scale): min/max
// over the non-NaN values, the NaN count, and every value's bin at this range counted in `counts` (uint32, kBins:
// the thread's Scratch, small enough to stay in cache across tensors, where the uint64 bins of a histogram seen once
// a sample are not). Bins are clamped into [0, kBins), so values outside the range (which the caller then rejects:
// it redoes the data the general way) stay in bounds.
__attribute__((target("avx2,popcnt"))) void fill_in_range_avx2(const float* x, int64_t n, float scale, int exponent,
                                                                 uint32_t* counts, Extent& ext) {
    static const PackTable table;
    constexpr int32_t half = Histogram::kBins / 2;
    constexpr int64_t kChunk = 2048;
    alignas(32) int32_t idx[kChunk + 8];
    const __m256 vs = _mm256_set1_ps(scale), vzero = _mm256_setzero_ps();
    const __m256i vhalf = _mm256_set1_epi32(half), vlo = _mm256_setzero_si256(),
                  vhi = _mm256_set1_epi32(Histogram::kBins - 1);
    float& mn = ext.mn;
    float& mx = ext.mx;
    __m256 vmn = _mm256_set1_ps(mn), vmx = _mm256_set1_ps(mx);
    uint64_t zeros = 0, nans = 0;
    int64_t i = 0;
    while (i + 8 <= n) {
        const int64_t end = i + std::min<int64_t>(kChunk, (n - i) / 8 * 8);
        int64_t cnt = 0;
        for (; i < end; i += 8) {
            const __m256 v = _mm256_loadu_ps(x + i);
            vmn = _mm256_min_ps(v, vmn);  // NaN lanes keep the running value (second operand)
            vmx = _mm256_max_ps(v, vmx);
            nans += (uint64_t)_mm_popcnt_u32((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)));
            const __m256 t = _mm256_mul_ps(v, vs);
            __m256i q = _mm256_cvttps_epi32(t);
            const __m256 up = _mm256_cmp_ps(_mm256_cvtepi32_ps(q), t, _CMP_GT_OQ);
            q = _mm256_add_epi32(_mm256_add_epi32(q, _mm256_castps_si256(up)), vhalf);
            q = _mm256_min_epi32(_mm256_max_epi32(q, vlo), vhi);
            const int keep = ~_mm256_movemask_ps(_mm256_cmp_ps(v, vzero, _CMP_EQ_OQ)) & 0xff;
            const __m256i perm = _mm256_load_si256(reinterpret_cast<const __m256i*>(table.perm[keep]));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx + cnt), _mm256_permutevar8x32_epi32(q, perm));
            const int k = _mm_popcnt_u32((unsigned)keep);
            cnt += k;
            zeros += (uint64_t)(8 - k);
        }
        for (int64_t k = 0; k < cnt; ++k) ++counts[idx[k]];
    }
    alignas(32) float a[8], b[8];
    _mm256_store_ps(a, vmn);
    _mm256_store_ps(b, vmx);
    for (int k = 0; k < 8; ++k) {
        mn = a[k] < mn ? a[k] : mn;
        mx = b[k] > mx ? b[k] : mx;
    }
    const float range = std::ldexp(1.0f, exponent);
    for (; i < n; ++i) {
        const float v = x[i];
        if (v != v) {
            ++nans;
            continue;
        }
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        if (v == 0) {
            ++zeros;
        } else if (v >= -range && v < range) {  // else rejected by the caller (outside the range)
            const float t = v * scale;
            int64_t q = (int64_t)t;
            q -= (float)q > t;
            ++counts[std::clamp<int64_t>(half + q, 0, Histogram::kBins - 1)];
        }
    }
    counts[half] += (uint32_t)zeros;
    ext.nan += nans;
}

// The calling thread's counts for fill_in_range_avx2: all zero between uses.
uint32_t* scratch_counts() {
    thread_local std::vector<uint32_t> c(Histogram::kBins, 0);
    return c.data();
}

// bins += counts over the bins of [mn, mx] (and the zero bin) at scale, and counts back to zero there. Groups of
// eight empty counts leave their bins untouched (a cold histogram's cache lines are read only where values fell).
__attribute__((target("avx2"))) void fold_counts(uint32_t* counts, uint64_t* bins, float mn, float mx, float scale) {
    constexpr int64_t half = Histogram::kBins / 2;
    auto bin = [&](float v) {
        const float t = v * scale;
        int64_t q = (int64_t)t;
        q -= (float)q > t;
        return std::clamp<int64_t>(half + q, 0, Histogram::kBins - 1);
    };
    const int64_t lo = std::min(bin(mn), half) / 8 * 8, hi = std::max(bin(mx), half) + 1;
    for (int64_t b = lo; b < hi; b += 8) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(counts + b));
        if (_mm256_testz_si256(v, v)) continue;
        for (int64_t k = b; k < b + 8; ++k) bins[k] += counts[k];
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(counts + b), _mm256_setzero_si256());
    }
}

// Bins of x[0..n) at scale through the thread's scratch, folded into bins where the pass shows the data fits
// (true); else the scratch is cleared and bins are untouched (false). Pieces of 2^31 values keep uint32 counts exact.
bool bin_in_range(const float* x, int64_t n, float scale, int exponent, uint64_t* bins, Extent& ext) {
    uint32_t* counts = scratch_counts();
    const float range = std::ldexp(1.0f, exponent);
    for (int64_t b = 0; b < n; b += (int64_t)1 << 31) {
        const int64_t m = std::min<int64_t>(n - b, (int64_t)1 << 31);
        Extent piece;
        fill_in_range_avx2(x + b, m, scale, exponent, counts, piece);
        ext.merge(piece);
        if (piece.nan != 0 || !(std::fabs(piece.mn) < range && std::fabs(piece.mx) < range)) {  // as grow_to would
            std::fill(counts, counts + Histogram::kBins, 0u);
            return false;
        }
        fold_counts(counts, bins, piece.mn, piece.mx, scale);
    }
    return true;
}
#endif

// Adds finite values of x[0..n) (all inside the range) into bins, with scale = kBins / (2 * 2^e) a
// power of two. The bin is B/2 + floor(x * scale), computed without rounding: when scale >= 1
// (e <= 12) the float product is exact (it can neither overflow nor lose low bits); otherwise the
// product is taken in double, where it is exact too.
template <typename F>
void fill_impl(const float* x, int64_t n, F scale, bool check_finite, uint64_t* bins) {
    constexpr int64_t half = Histogram::kBins / 2;
    // Four interleaved count arrays break the store-to-load dependency on runs of equal values; summed at the end
    // (exact).
    thread_local std::vector<uint32_t> scratch;
    const bool big = n >= 262144;  // below this, clearing and summing the scratch costs more than it saves
    uint32_t* c[4] = {nullptr, nullptr, nullptr, nullptr};
    if (big) {
        scratch.assign(4 * Histogram::kBins, 0);
        for (int k = 0; k < 4; ++k) c[k] = scratch.data() + k * Histogram::kBins;
    }
    auto index = [&](float v) -> int64_t {
        F t = (F)v * scale;
        int64_t i = (int64_t)t;
        i -= (F)i > t;  // floor for negatives
        return half + i;
    };
    if (!big || check_finite) {
        for (int64_t i = 0; i < n; ++i) {
            float v = x[i];
            if (check_finite && !(std::fabs(v) <= FLT_MAX)) continue;
            ++bins[index(v)];
        }
        return;
    }
    // uint32 counts cannot overflow within one call of < 2^32 values per array.
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        ++c[0][index(x[i])];
        ++c[1][index(x[i + 1])];
        ++c[2][index(x[i + 2])];
        ++c[3][index(x[i + 3])];
    }
    for (; i < n; ++i) ++c[0][index(x[i])];
    for (int b = 0; b < Histogram::kBins; ++b) bins[b] += (uint64_t)c[0][b] + c[1][b] + c[2][b] + c[3][b];
}

void fill(const float* x, int64_t n, int exponent, bool check_finite, uint64_t* bins) {
#if HQ_HIST_AVX2
    if (!check_finite && exponent <= 12 && exponent >= -115 && has_avx2()) {
        Extent ignored;  // every value is known finite and inside the range here
        if (bin_in_range(x, n, std::ldexp(1.0f, 12 - exponent), exponent, bins, ignored)) return;
    }
#endif
    if (exponent <= 12 && exponent >= -115)
        fill_impl<float>(x, n, std::ldexp(1.0f, 12 - exponent), check_finite, bins);
    else
        fill_impl<double>(x, n, std::ldexp(1.0, 12 - exponent), check_finite, bins);
}

// Min and max over the non-NaN values, and the NaN count. SSE: minps/maxps return their second
// operand when either is NaN, which skips NaNs exactly like the scalar `v < m ? v : m`.
void minmax_nan(const float* x, int64_t n, Extent& ext) {
    float& mn = ext.mn;
    float& mx = ext.mx;
    uint64_t& nan = ext.nan;
    int64_t i = 0;
#if defined(__SSE2__)
    __m128 vmn = _mm_set1_ps(mn), vmx = _mm_set1_ps(mx);
    __m128i vnan = _mm_setzero_si128();
    for (; i + 4 <= n; i += 4) {
        __m128 v = _mm_loadu_ps(x + i);
        vmn = _mm_min_ps(v, vmn);
        vmx = _mm_max_ps(v, vmx);
        vnan = _mm_sub_epi32(vnan, _mm_castps_si128(_mm_cmpunord_ps(v, v)));  // +1 per NaN lane
        if ((i & 0x3fffffc) == 0x3fffffc) {  // flush the 32-bit lane counters well before they overflow
            alignas(16) int32_t c[4];
            _mm_store_si128((__m128i*)c, vnan);
            nan += (uint64_t)c[0] + c[1] + c[2] + c[3];
            vnan = _mm_setzero_si128();
        }
    }
    alignas(16) float a[4], b[4];
    alignas(16) int32_t c[4];
    _mm_store_ps(a, vmn);
    _mm_store_ps(b, vmx);
    _mm_store_si128((__m128i*)c, vnan);
    nan += (uint64_t)c[0] + c[1] + c[2] + c[3];
    for (int k = 0; k < 4; ++k) {
        mn = a[k] < mn ? a[k] : mn;
        mx = b[k] > mx ? b[k] : mx;
    }
#endif
    for (; i < n; ++i) {
        float v = x[i];
        nan += v != v;
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
}

}  // namespace

double Histogram::range() const { return std::ldexp(1.0, exp_); }

void Histogram::grow_to(int e) {
    if (bins_.empty()) {
        bins_.assign(kBins, 0);
        exp_ = e;
        return;
    }
    while (exp_ < e) {
        std::vector<uint64_t> nb(kBins, 0);
        for (int i = 0; i < kBins; ++i) nb[kBins / 4 + i / 2] += bins_[i];
        bins_.swap(nb);
        ++exp_;
    }
}

void Histogram::add(const float* x, int64_t n, bool split) {
    if (n <= 0) return;
#if HQ_HIST_AVX2
    if (with_bins_ && !bins_.empty() && exp_ <= 12 && exp_ >= -115 && has_avx2() && add_in_range(x, n, split)) return;
#endif
    const int64_t chunks = split ? chunks_for(n) : 1;
    std::vector<Extent> part(chunks);
    for_chunks(n, chunks, [&](int64_t c, int64_t b, int64_t e) { minmax_nan(x + b, e - b, part[c]); });
    Extent ext;
    for (const auto& p : part) ext.merge(p);
    float mn = ext.mn, mx = ext.mx;
    const uint64_t nan = ext.nan;
    uint64_t inf = 0;
    bool check = nan > 0;
    if (std::isinf(mn) || std::isinf(mx)) {  // recompute over finite values only
        check = true;
        mn = std::numeric_limits<float>::infinity();
        mx = -mn;
        for (int64_t i = 0; i < n; ++i) {
            float v = x[i];
            if (std::isinf(v)) ++inf;
            else if (v == v) {
                mn = std::min(mn, v);
                mx = std::max(mx, v);
            }
        }
    }
    nan_ += nan;
    inf_ += inf;
    uint64_t finite = (uint64_t)n - nan - inf;
    if (finite == 0) return;
    add_minmax(mn, mx, finite);
    if (!with_bins_) return;
    grow_to(std::max(needed_exponent(mn, mx), bins_.empty() ? kMinExp : exp_));
    static_assert(kBins == 8192, "fill() assumes kBins / 2 == 2^12");
    if (chunks == 1) {
        fill(x, n, exp_, check, bins_.data());
        return;
    }
    // Chunk-local histograms summed in chunk order: integer sums, so the result is exact.
    std::vector<std::vector<uint64_t>> local(chunks);
    for_chunks(n, chunks, [&](int64_t c, int64_t b, int64_t e) {
        local[c].assign(kBins, 0);
        fill(x + b, e - b, exp_, check, local[c].data());
    });
    for (const auto& l : local)
        for (int i = 0; i < kBins; ++i) bins_[i] += l[i];
}

#if HQ_HIST_AVX2
// The common case once a range is set: every value finite and inside it. One pass gives min/max and the bins; where
// that does not hold (a NaN, an Inf, a value outside), the pass is taken back and add() does it the general way.
bool Histogram::add_in_range(const float* x, int64_t n, bool split) {
    // Beyond one piece of bin_in_range a late piece could fail after earlier ones were folded: the general path.
    if (n >= (int64_t)1 << 31) return false;
    const float scale = std::ldexp(1.0f, 12 - exp_);
    // One chunk goes straight into the bins (nothing is added where the data does not fit); several into
    // chunk-local bins, added only where every chunk fits.
    const int64_t chunks = split ? chunks_for(n) : 1;
    std::vector<Extent> part(chunks);
    if (chunks == 1) {
        if (!bin_in_range(x, n, scale, exp_, bins_.data(), part[0])) return false;
    } else {
        std::vector<std::vector<uint64_t>> local(chunks);
        std::vector<char> fits(chunks, 0);
        for_chunks(n, chunks, [&](int64_t c, int64_t b, int64_t e) {
            local[c].assign(kBins, 0);
            fits[c] = bin_in_range(x + b, e - b, scale, exp_, local[c].data(), part[c]);
        });
        for (char f : fits)
            if (!f) return false;
        for (const auto& l : local)
            for (int i = 0; i < kBins; ++i) bins_[i] += l[i];
    }
    Extent ext;
    for (const auto& p : part) ext.merge(p);
    add_minmax(ext.mn, ext.mx, (uint64_t)n);
    return true;
}
#endif

void Histogram::add_minmax(float mn, float mx, uint64_t finite) {
    mn = unsigned_zero(mn);
    mx = unsigned_zero(mx);
    if (count_ == 0) {
        min_ = mn;
        max_ = mx;
    } else {
        min_ = std::min(min_, mn);
        max_ = std::max(max_, mx);
    }
    count_ += finite;
}

int Histogram::exponent_for(const exec::TensorStats& s) const {
    return std::max(needed_exponent(s.min, s.max), bins_.empty() ? kMinExp : exp_);
}

void Histogram::add_stats(const exec::TensorStats& s) {
    nan_ += s.nan;
    inf_ += s.inf;
    if (s.finite == 0) return;
    HQ_ASSERT(s.min <= s.max && std::fabs(s.min) <= FLT_MAX && std::fabs(s.max) <= FLT_MAX,
              "tensor statistics: min ", s.min, ", max ", s.max);
    add_minmax(s.min, s.max, s.finite);
    if (with_bins_) grow_to(exponent_for(s));
}

void Histogram::add_bins(int exponent, const uint64_t* bins) {
    HQ_ASSERT(with_bins_ && !bins_.empty() && exponent >= kMinExp && exponent <= exp_, "histogram bins at exponent ",
              exponent, " added to a range of exponent ", exp_);
    // Each doubling of the range maps bin i to kBins/4 + i/2 (as grow_to does): exact.
    const int shift = std::min(exp_ - exponent, 13);  // after 13 doublings every bin lands in the middle two
    for (int i = 0; i < kBins; ++i) {
        if (!bins[i]) continue;
        int64_t b = i;
        for (int k = 0; k < shift; ++k) b = kBins / 4 + b / 2;
        bins_[b] += bins[i];
    }
}

void Histogram::merge(const Histogram& o) {
    nan_ += o.nan_;
    inf_ += o.inf_;
    if (o.count_ == 0) return;
    if (count_ == 0) {
        uint64_t nan = nan_, inf = inf_;
        bool bins = with_bins_ && o.with_bins_;
        *this = o;
        nan_ = nan;
        inf_ = inf;
        if (!bins) {
            with_bins_ = false;
            bins_.clear();
        }
        return;
    }
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
    count_ += o.count_;
    if (!with_bins_ || !o.with_bins_) {  // a min/max-only side: the merge keeps min/max only
        with_bins_ = false;
        bins_.clear();
        return;
    }
    Histogram other = o;
    int e = std::max(exp_, o.exp_);
    grow_to(e);
    other.grow_to(e);
    for (int i = 0; i < kBins; ++i) bins_[i] += other.bins_[i];
}

bool Histogram::clip_of(const Histogram& x, float lo, float hi, int y_floor, Histogram& y) {
    if (!x.with_bins_ || x.count_ == 0 || x.nan_ != 0 || x.inf_ != 0 || !(lo <= hi) || x.bins_.size() != (size_t)kBins)
        return false;
    auto clip = [&](float v) {  // as the Clip / Relu kernels: v < lo ? lo : v, then > hi ? hi : it
        const float t = v < lo ? lo : v;
        return t > hi ? hi : t;
    };
    const float mn = unsigned_zero(clip(x.min_)), mx = unsigned_zero(clip(x.max_));
    const int e = x.exp_, need = needed_exponent(mn, mx);
    if (need > e || std::max(need, y_floor) < e) return false;
    // The bin of value v at x's range: B/2 + floor(v * 2^(12-e)) (exact in double: a power-of-two scale).
    const double range = std::ldexp(1.0, e), scale = std::ldexp(1.0, 12 - e);
    auto bin = [&](float v) { return (int64_t)(kBins / 2 + std::floor((double)v * scale)); };
    std::vector<uint64_t> b = x.bins_;
    // Values below lo become lo: their bins (all below lo's) move into lo's bin; values above hi into hi's. A bound
    // outside the range moves nothing (no value lies beyond it).
    if ((double)lo >= -range && (double)lo < range) {
        const int64_t bl = bin(lo);
        for (int64_t i = 0; i < bl; ++i) b[(size_t)bl] += std::exchange(b[(size_t)i], 0);
    }
    if ((double)hi >= -range && (double)hi < range) {
        const int64_t bh = bin(hi);
        for (int64_t i = bh + 1; i < kBins; ++i) b[(size_t)bh] += std::exchange(b[(size_t)i], 0);
    }
    y = from_parts(mn, mx, 0, 0, e, std::move(b));
    return true;
}

Histogram Histogram::from_parts(float mn, float mx, uint64_t nan, uint64_t inf, int exponent,
                                std::vector<uint64_t> bins) {
    Histogram h;
    h.nan_ = nan;
    h.inf_ = inf;
    uint64_t total = 0;
    for (uint64_t b : bins) total += b;
    if (total == 0) return h;
    HQ_CHECK(bins.size() == (size_t)kBins, "calibration table: histogram has ", bins.size(), " bins, expected ", kBins);
    HQ_CHECK(exponent >= kMinExp && exponent <= kMaxExp, "calibration table: histogram exponent ", exponent,
             " out of range");
    HQ_CHECK(mn <= mx && std::fabs((double)mn) <= std::ldexp(1.0, exponent) &&
                 std::fabs((double)mx) < std::ldexp(1.0, exponent),
             "calibration table: min/max outside the histogram range");
    h.min_ = unsigned_zero(mn);
    h.max_ = unsigned_zero(mx);
    h.exp_ = exponent;
    h.count_ = total;
    h.bins_ = std::move(bins);
    return h;
}

void Histogram::pack(dist::Packer& p) const {
    p.put<uint8_t>(with_bins_);
    p.put(count_);
    p.put(nan_);
    p.put(inf_);
    p.put(min_);
    p.put(max_);
    p.put<int32_t>(exp_);
    size_t first = 0, last = bins_.size();
    while (first < last && bins_[first] == 0) ++first;
    while (last > first && bins_[last - 1] == 0) --last;
    p.put<uint64_t>(bins_.size());
    p.put<uint64_t>(first);
    p.put_vec(std::vector<uint64_t>(bins_.begin() + first, bins_.begin() + last));
}

Histogram Histogram::unpack(dist::Unpacker& u) {
    Histogram h(u.get<uint8_t>() != 0);
    h.count_ = u.get<uint64_t>();
    h.nan_ = u.get<uint64_t>();
    h.inf_ = u.get<uint64_t>();
    h.min_ = u.get<float>();
    h.max_ = u.get<float>();
    h.exp_ = u.get<int32_t>();
    const auto n = u.get<uint64_t>(), first = u.get<uint64_t>();
    const auto counts = u.get_vec<uint64_t>();
    HQ_ASSERT(n <= (uint64_t)kBins && first + counts.size() <= n, "histogram message out of range");
    h.bins_.assign(n, 0);
    std::copy(counts.begin(), counts.end(), h.bins_.begin() + first);
    return h;
}

Histogram Histogram::from_minmax(float mn, float mx, uint64_t count, uint64_t nan, uint64_t inf) {
    Histogram h(false);
    h.nan_ = nan;
    h.inf_ = inf;
    h.count_ = count;
    if (count) {
        HQ_CHECK(mn <= mx, "calibration table: min > max");
        h.min_ = unsigned_zero(mn);
        h.max_ = unsigned_zero(mx);
    }
    return h;
}

}  // namespace hq::calib

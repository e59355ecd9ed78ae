#include "calib/observer_queue.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "core/threads.h"

namespace hq::calib {

// Relu and Clip (constant float bounds) nodes of the main graph whose input and output both keep histograms.
// HQ_CALIB_NO_DERIVE=1: none (every tensor binned from its values; the tables are the same).
std::map<std::string, ClipOf> clip_pairs(const graph::Graph& g, const std::map<std::string, bool>& with_bins,
                                         int64_t opset) {
    std::map<std::string, ClipOf> r;
    const char* off = std::getenv("HQ_CALIB_NO_DERIVE");
    if (off && *off && std::strcmp(off, "0") != 0) return r;
    auto bins = [&](const std::string& v) {
        auto it = with_bins.find(v);
        return it != with_bins.end() && it->second;
    };
    auto scalar = [&](const graph::Node& n, size_t k, float& v) {
        if (k >= n.inputs.size() || n.inputs[k].empty()) return true;  // absent: unbounded
        auto it = g.initializers.find(n.inputs[k]);
        if (it == g.initializers.end() || it->second.dtype() != DType::F32 || it->second.numel() != 1) return false;
        v = (float)it->second.at_f64(0);
        return true;
    };
    for (const auto& n : g.nodes) {
        if (!(n.domain.empty() || n.domain == "ai.onnx") || n.inputs.empty() || n.outputs.size() != 1) continue;
        ClipOf c{n.inputs[0], -std::numeric_limits<float>::max(), std::numeric_limits<float>::max()};
        if (n.op_type == "Relu") {
            c.lo = 0.f, c.hi = std::numeric_limits<float>::infinity();
        } else if (n.op_type == "Clip") {
            if (opset < 11) {
                c.lo = n.attr_float("min", c.lo), c.hi = n.attr_float("max", c.hi);
            } else if (!scalar(n, 1, c.lo) || !scalar(n, 2, c.hi)) {
                continue;
            }
        } else {
            continue;
        }
        if (bins(c.src) && bins(n.outputs[0]) && c.src != n.outputs[0]) r.emplace(n.outputs[0], c);
    }
    return r;
}

ObserverQueue::ObserverQueue(bool inline_work, std::map<Histogram*, ClipOfHist> clip_of) : inline_(inline_work) {
    if (inline_) {
        for (auto& [y, d] : clip_of) sources_.insert(d.src);
        clip_of_ = std::move(clip_of);
        return;
    }
    worker_ = std::thread([this] {
        unpin_this_thread();  // not on the CPU the executor's main thread is pinned to
        loop();
    });
}

void ObserverQueue::push(Histogram* h, const Tensor& t) {
    batch_.emplace_back(h, t);
    batch_bytes_ += t.nbytes();
    if (batch_bytes_ >= kBatchBytes) flush();
}

void ObserverQueue::flush() {
    if (batch_.empty()) return;
    if (inline_) {
        observe_inline(batch_);
        batch_.clear();
        batch_bytes_ = 0;
        return;
    }
    std::unique_lock<std::mutex> lk(mu_);
    space_.wait(lk, [&] { return queued_ < kMaxBatches; });
    batches_.push_back(std::move(batch_));
    ++queued_;
    batch_.clear();
    batch_bytes_ = 0;
    ready_.notify_one();
}

void ObserverQueue::end_sample() {
    flush();
    pending_.clear();
}

void ObserverQueue::finish() {
    flush();
    if (inline_) {
        for (auto& [h, parts] : parts_)
            for (const auto& p : parts) h->merge(p);
        parts_.clear();
        return;
    }
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (done_) return;
        done_ = true;
    }
    ready_.notify_one();
    worker_.join();
}

void ObserverQueue::observe_inline(Batch& all) {
    Batch b;  // the ordinary items: every worker its share, into its part
    std::vector<size_t> special;
    std::set<Histogram*> coming;  // sources of this batch, binned whole below (before what derives from them)
    for (size_t i = 0; i < all.size(); ++i) {
        Histogram* h = all[i].first;
        auto d = clip_of_.find(h);
        const bool derived = d != clip_of_.end() && (pending_.count(d->second.src) || coming.count(d->second.src));
        const bool source = sources_.count(h) && (all[i].second.numel() >= kSourceMin || derived);
        if (source) coming.insert(h);
        if (source || derived) special.push_back(i);
        else b.push_back(all[i]);
    }
    observe_parts(b);
    for (size_t i : special) {  // in push order: a source before what derives from it
        Histogram* h = all[i].first;
        const Tensor& t = all[i].second;
        auto d = clip_of_.find(h);
        if (d != clip_of_.end() && pending_.count(d->second.src)) {
            Histogram y;
            if (Histogram::clip_of(pending_.at(d->second.src), d->second.lo, d->second.hi, floor_of(h), y)) {
                h->merge(y);
                ++derived_;
                if (!sources_.count(h)) continue;
                // y is a source itself (Clip after Relu): keep its statistics of this sample too.
                pending_[h] = std::move(y);
                continue;
            }
        }
        if (sources_.count(h)) {  // (special as a source: big, or itself derived and now binned)
            Histogram x(h->has_bins());
            x.add(t.data<float>(), t.numel());  // split over the team inside
            h->merge(x);
            pending_[h] = std::move(x);
        } else {
            h->add(t.data<float>(), t.numel());
        }
    }
}

int ObserverQueue::floor_of(Histogram* h) const {
    int e = !h->bins().empty() ? h->exponent() : Histogram::kNoFloor;
    auto it = parts_.find(h);
    if (it != parts_.end())
        for (const auto& p : it->second)
            if (!p.bins().empty()) e = std::max(e, p.exponent());
    return e;
}

void ObserverQueue::observe_parts(Batch& b) {
    if (b.empty()) return;
    const int64_t team = std::max(1, num_threads());
    std::vector<std::vector<Histogram>*> parts(b.size());
    for (size_t i = 0; i < b.size(); ++i) {
        auto it = parts_.find(b[i].first);
        if (it == parts_.end())
            it = parts_.emplace(b[i].first, std::vector<Histogram>((size_t)team, Histogram(b[i].first->has_bins()))).first;
        parts[i] = &it->second;
    }
    parallel_for(team, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t w = lo; w < hi; ++w)
            for (size_t i = 0; i < b.size(); ++i) {
                const int64_t n = b[i].second.numel();
                // Tensors below a few thousand values go whole to one worker (by position), bigger ones in shares.
                const int64_t begin = n < 4096 ? ((int64_t)i % team == w ? 0 : n) : n * w / team;
                const int64_t end = n < 4096 ? n : n * (w + 1) / team;
                if (end > begin) (*parts[i])[(size_t)w].add(b[i].second.data<float>() + begin, end - begin, false);
            }
    });
}

void ObserverQueue::loop() {
    for (;;) {
        Batch b;
        {
            std::unique_lock<std::mutex> lk(mu_);
            ready_.wait(lk, [&] { return done_ || !batches_.empty(); });
            if (batches_.empty()) return;
            b = std::move(batches_.front());
            batches_.pop_front();
        }
        for (auto& [h, t] : b) h->add(t.data<float>(), t.numel());
        {
            std::lock_guard<std::mutex> lk(mu_);
            --queued_;
        }
        space_.notify_one();
    }
}

}  // namespace hq::calib

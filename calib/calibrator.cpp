#include "calib/calibrator.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/progress.h"
#include "quant/qdq_ops.h"

namespace hq::calib {

namespace {

class ObserverQueue {
public:
    using Batch = std::vector<std::pair<Histogram*, Tensor>>;
    ObserverQueue() : worker_([this] { loop(); }) {}
    ~ObserverQueue() { finish(); }
    // Collects tensors and hands them over in batches (few wake-ups per sample).
    void push(Histogram* h, const Tensor& t) {
        batch_.emplace_back(h, t);
        batch_bytes_ += t.nbytes();
        if (batch_bytes_ >= kBatchBytes) flush();
    }
    void flush() {
        if (batch_.empty()) return;
        std::unique_lock<std::mutex> lk(mu_);
        space_.wait(lk, [&] { return queued_ < kMaxBatches; });
        batches_.push_back(std::move(batch_));
        ++queued_;
        batch_.clear();
        batch_bytes_ = 0;
        ready_.notify_one();
    }
    // Waits until every queued tensor is observed.
    void finish() {
        flush();
        {
            std::lock_guard<std::mutex> lk(mu_);
            if (done_) return;
            done_ = true;
        }
        ready_.notify_one();
        worker_.join();
    }

private:
    static constexpr size_t kBatchBytes = 1 << 20, kMaxBatches = 2;  // at most ~3 MB in flight
    void loop() {
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
    Batch batch_;
    size_t batch_bytes_ = 0;
    std::mutex mu_;
    std::condition_variable ready_, space_;
    std::deque<Batch> batches_;
    size_t queued_ = 0;
    bool done_ = false;
    std::thread worker_;
};

}  // namespace

CalibrationTable calibrate(const exec::Executor& ex, const DataSource& data, const CalibrateOptions& opt) {
    CalibrationTable table;
    table.method = opt.method;
    table.percentile = opt.percentile;
    // Full histograms for what the QDQ writer quantizes; min/max for every other float tensor.
    const std::set<std::string> targets = quant::calibration_targets(ex.model());
    std::map<std::string, Histogram> hists;
    for (const auto& t : quant::range_targets(ex.model())) hists.emplace(t, Histogram(targets.count(t) != 0));
    // Statistics are gathered on a background thread while the executor runs on: tensors are shared
    // (the queue keeps them alive), each histogram is only touched by that thread, and the queue is
    // bounded so memory stays flat. Histograms do not depend on the order of updates.
    ObserverQueue queue;
    auto observe = [&](const std::string& name, const Tensor& t) {
        auto it = hists.find(name);
        if (it == hists.end() || t.dtype() != DType::F32) return;
        queue.push(&it->second, t);
    };
    exec::Observer obs = [&](const std::string& name, const Tensor& t, const graph::Node&) { observe(name, t); };
    int64_t n = (int64_t)data.size();
    if (opt.max_samples > 0) n = std::min(n, opt.max_samples);
    Progress progress("calibrate", n);
    for (int64_t i = 0; i < n; ++i) {
        Sample s = data.load((size_t)i);
        for (const auto& [name, t] : s.inputs) observe(name, t);
        try {
            ex.run(s.inputs, obs);
        } catch (const Error& e) {
            throw Error("sample '" + s.name + "': " + e.what(), e.kind());
        }
        queue.flush();
        progress.tick();
    }
    queue.finish();
    progress.finish();
    table.samples = (uint64_t)n;
    // Tensors never seen as float32 (shape/int tensors) are not part of the table.
    for (auto& [name, h] : hists)
        if (h.count() || h.nan_count() || h.inf_count()) table.tensors[name] = std::move(h);
    return table;
}

quant::ChannelMeans channel_means(const exec::Executor& ex, const DataSource& data,
                                  const std::set<std::string>& tensors, int64_t max_samples) {
    std::map<std::string, std::pair<std::vector<double>, double>> acc;  // sums per channel, count per channel
    auto observe = [&](const std::string& name, const Tensor& t) {
        if (!tensors.count(name) || t.dtype() != DType::F32 || t.rank() < 1) return;
        const int64_t axis = t.rank() >= 3 ? 1 : t.rank() - 1;
        const int64_t c = t.shape()[axis];
        int64_t inner = 1;
        for (int64_t d = axis + 1; d < t.rank(); ++d) inner *= t.shape()[d];
        auto& [sums, count] = acc[name];
        if (sums.empty()) sums.assign(c, 0.0);
        if ((int64_t)sums.size() != c) return;
        const float* p = t.data<float>();
        const int64_t outer = t.numel() / std::max<int64_t>(1, c * inner);
        for (int64_t o = 0; o < outer; ++o)
            for (int64_t ch = 0; ch < c; ++ch) {
                const float* q = p + (o * c + ch) * inner;
                double s = 0;
                for (int64_t i = 0; i < inner; ++i) s += q[i];
                sums[ch] += s;
            }
        count += (double)(outer * inner);
    };
    int64_t n = (int64_t)data.size();
    if (max_samples > 0) n = std::min(n, max_samples);
    Progress progress("channel means", n);
    for (int64_t i = 0; i < n; ++i) {
        Sample s = data.load((size_t)i);
        for (const auto& [name, t] : s.inputs) observe(name, t);
        ex.run(s.inputs, [&](const std::string& name, const Tensor& t, const graph::Node&) { observe(name, t); });
        progress.tick();
    }
    progress.finish();
    quant::ChannelMeans means;
    for (auto& [name, sc] : acc) {
        auto& [sums, count] = sc;
        for (auto& v : sums) v = count > 0 ? v / count : 0.0;
        means[name] = sums;
    }
    return means;
}

}  // namespace hq::calib

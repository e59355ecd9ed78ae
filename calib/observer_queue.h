// The host observer of calibration: collects the tensors a run produces and bins them into their histograms, in
// batches, either on the executor's own worker team (inline: every worker an equal share of every tensor, into its
// own part histogram merged at the end) or on a background thread. Relu / Clip outputs can take their statistics from
// their input's (Histogram::clip_of) instead of a pass over their values. Everything is exact: histograms depend only
// on the multiset of values, so the table is the same whichever way a tensor was binned.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "calib/histogram.h"
#include "core/tensor.h"
#include "graph/graph.h"

namespace hq::calib {

// y = clip(src, lo, hi) of the graph (Relu, Clip with constant bounds), both observed with bins: y's statistics of a
// sample can come from src's (Histogram::clip_of) instead of a pass over y.
struct ClipOf {
    std::string src;
    float lo = 0, hi = 0;
};
struct ClipOfHist {
    Histogram* src = nullptr;
    float lo = 0, hi = 0;
};

// Relu and Clip (constant float bounds) nodes of the main graph whose input and output both keep histograms
// (with_bins: observed tensor -> keeps a full histogram), by output. HQ_CALIB_NO_DERIVE=1: none (every tensor binned
// from its values; the tables are the same).
std::map<std::string, ClipOf> clip_pairs(const graph::Graph& g, const std::map<std::string, bool>& with_bins,
                                         int64_t opset);

class ObserverQueue {
public:
    using Batch = std::vector<std::pair<Histogram*, Tensor>>;
    // `inline_work`: no background thread; each batch is binned on the calling thread with the whole worker team
    // (parallel_for). For executors on the host CPU: a third thread beside the team's spinning workers only takes
    // time slices from them (measured on 2 cores: 40% of calibrate's time in OpenMP spin, 5.9x infer's time).
    // `clip_of` (inline work only): derived histogram -> its source's; sources' samples are kept until the sample ends.
    ObserverQueue(bool inline_work, std::map<Histogram*, ClipOfHist> clip_of);
    ~ObserverQueue() { finish(); }
    // Collects tensors and hands them over in batches (few wake-ups per sample).
    void push(Histogram* h, const Tensor& t);
    void flush();
    // A sample's tensors are all pushed: they are observed, and sources' per-sample statistics dropped.
    void end_sample();
    // Waits until every queued tensor is observed (inline: merges the workers' parts into their histograms).
    void finish();
    // Tensors whose statistics came from their source's (for logs).
    uint64_t derived() const { return derived_; }

private:
    static constexpr size_t kBatchBytes = 1 << 20, kMaxBatches = 2;  // at most ~3 MB in flight
    // Tensors of at least this many values that are a derived histogram's source are binned whole (every worker
    // on a share, into one per-sample histogram kept for the derived one); smaller ones the usual way.
    static constexpr int64_t kSourceMin = 1 << 16;
    void observe_inline(Batch& all);
    // Every worker takes its share of every tensor of the batch (the same number of values each) into its own
    // part of that tensor's histogram; the parts are merged at the end.
    void observe_parts(Batch& b);
    // The exponent a histogram (with its workers' parts) already has; Histogram::kNoFloor without data.
    int floor_of(Histogram* h) const;
    void loop();  // the background thread

    bool inline_ = false;
    std::map<Histogram*, std::vector<Histogram>> parts_;  // inline: each histogram's per-worker parts
    std::map<Histogram*, ClipOfHist> clip_of_;
    std::set<Histogram*> sources_;
    std::map<Histogram*, Histogram> pending_;  // this sample's statistics of sources seen so far
    uint64_t derived_ = 0;
    Batch batch_;
    size_t batch_bytes_ = 0;
    std::mutex mu_;
    std::condition_variable ready_, space_;
    std::deque<Batch> batches_;
    size_t queued_ = 0;
    bool done_ = false;
    std::thread worker_;
};

}  // namespace hq::calib

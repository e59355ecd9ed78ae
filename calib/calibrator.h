// Calibration: streams samples through the executor and observes every tensor the QDQ writer will
// quantize (calib::Histogram per tensor). Memory does not grow with the number of samples.
// Statistics of the tensors a device backend produced are computed on that device when it offers them
// (exec::Backend::tensor_stats / tensor_histogram); everything else on the host. Several executors (one
// per device) split the samples between them, and so do the ranks of an MPI job (CalibrateOptions::distributed).
// The table is the same, byte for byte, either way (ranks/rank_samples aside).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "calib/data_reader.h"
#include "calib/table.h"
#include "exec/executor.h"
#include "quant/accuracy_helpers.h"

namespace hq::calib {

struct CalibrateOptions {
    Method method = Method::MinMax;
    double percentile = 99.99;
    int64_t max_samples = 0;  // 0: all
    // Split the samples over the ranks of an MPI job (dist::size() > 1): each rank calibrates its contiguous
    // block (dist::share, by sorted index) and rank 0 merges them exactly; only rank 0's table holds the
    // statistics (the others get ranks/rank_samples only). A failing rank makes every rank throw (the lowest
    // failing rank's error, on rank 0; dist::AgreedError). Same table as one process, provenance aside.
    bool distributed = false;
    // With distributed: rank 0 then broadcasts the table (statistics, samples, digests, NaN/Inf inputs), so every
    // rank returns the same table, bit for bit -- what the quantize pipeline needs on every rank.
    bool share_result = false;
};

// Runs up to max_samples samples of `data` through `ex` and returns the table (fingerprint/model
// fields left for the caller). Shows progress.
CalibrationTable calibrate(const exec::Executor& ex, const DataSource& data, const CalibrateOptions& opt);
// The same with the samples split across executors of one model (one per device), each on its own
// thread (the calling thread for one executor); histograms are merged exactly.
CalibrationTable calibrate(const std::vector<const exec::Executor*>& executors, const DataSource& data,
                           const CalibrateOptions& opt);
// The same with one executor of `model` per backend (e.g. every HIP device).
CalibrationTable calibrate(const graph::Model& model, const std::vector<std::unique_ptr<exec::Backend>>& backends,
                           const DataSource& data, const CalibrateOptions& opt);

// Per-channel means (axis 1 for rank >= 3, the last axis otherwise) of `tensors` over up to
// max_samples samples (0: all), for bias correction. With `distributed` (an MPI job) each rank runs its block of
// the samples and sends its per-sample sums; rank 0 adds them in sample order and broadcasts the means: every
// rank gets what one process computes, bit for bit. A failing rank makes every rank throw (dist::AgreedError).
quant::ChannelMeans channel_means(const exec::Executor& ex, const DataSource& data,
                                  const std::set<std::string>& tensors, int64_t max_samples, bool distributed = false);


// Largest |x| per feature (the last axis) of `tensors` (name -> feature count; other sizes are skipped) over up
// to max_samples samples (0: all), for SmoothQuant (quant::smooth_quant).
quant::FeatureAbsMax feature_absmax(const exec::Executor& ex, const DataSource& data,
                                    const std::map<std::string, int64_t>& tensors, int64_t max_samples);

}  // namespace hq::calib

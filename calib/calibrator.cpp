#include "calib/calibrator.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "calib/observer_queue.h"
#include "core/error.h"
#include "core/threads.h"
#include "core/progress.h"
#include "dist/dist.h"
#include "dist/pack.h"
#include "quant/qdq_ops.h"

namespace hq::calib {

namespace {

// One NonFiniteInput record through a rank's bytes.
void put_nonfinite(dist::Packer& p, const CalibrationTable::NonFiniteInput& f) {
    p.put_str(f.sample);
    p.put_str(f.input);
    p.put(f.nan);
    p.put(f.inf);
}
CalibrationTable::NonFiniteInput get_nonfinite(dist::Unpacker& u) {
    CalibrationTable::NonFiniteInput f;
    f.sample = u.get_str();
    f.input = u.get_str();
    f.nan = u.get<uint64_t>();
    f.inf = u.get<uint64_t>();
    return f;
}

// One executor's share of the work. Host-path statistics are gathered on a background thread while the
// executor runs on: tensors are shared (the queue keeps them alive), each `host` histogram is only touched
// by that thread, and the queue is bounded so memory stays flat. Device-path statistics go into `device`
// on the executor's thread. Histograms do not depend on the order of updates, so the two maps (and the
// shards of several executors) merge exactly.
struct Shard {
    std::map<std::string, Histogram> host, device;
};

struct SharedRun {
    const DataSource& data;
    const std::map<std::string, bool>& with_bins;  // observed float tensor -> keeps a full histogram
    std::map<std::string, ClipOf> clip_of;          // y = clip(src): y's statistics may come from src's
    int64_t n;                                     // samples [next, n) are this run's
    std::atomic<int64_t> next{0};
    std::atomic<bool> stop{false};
    std::mutex mu;  // guards progress and the errors
    Progress progress;
    std::map<int64_t, std::exception_ptr> errors;  // by sample index: the first sample's error is reported
    // By sample index (reported in sample order after the run): its name and digest, and its inputs that held
    // NaN/Inf values with the files they came from.
    struct SampleSeen {
        std::string name, digest;
        std::vector<std::pair<std::string, std::string>> nonfinite_files;  // (input, file)
        std::vector<CalibrationTable::NonFiniteInput> nonfinite;
    };
    std::map<int64_t, SampleSeen> seen;

    SharedRun(const DataSource& d, const std::map<std::string, bool>& wb, int64_t begin, int64_t end)
        : data(d), with_bins(wb), n(end), next(begin), progress("calibrate", end - begin) {}
};

void run_shard(const exec::Executor& ex, SharedRun& run, Shard& shard) {
    for (const auto& [name, bins] : run.with_bins) shard.host.emplace(name, Histogram(bins));
    const exec::Backend& be = ex.backend();
    std::vector<uint64_t> bins(Histogram::kBins);
    // Statistics on the device that produced the tensor; false when its backend does not offer them.
    auto device = [&](const std::string& name, const Tensor& t, bool with_bins) -> bool {
        exec::TensorStats st;
        if (!be.tensor_stats(t, st)) return false;
        if (st.finite + st.nan + st.inf != (uint64_t)t.numel())
            throw Error(be.name() + ": statistics of tensor '" + name + "' count " +
                            std::to_string(st.finite + st.nan + st.inf) + " values, it has " + std::to_string(t.numel()),
                        ErrorKind::Internal);
        Histogram& h = shard.device.try_emplace(name, with_bins).first->second;
        if (!with_bins || st.finite == 0) {
            h.add_stats(st);
            return true;
        }
        const int e = h.exponent_for(st);
        std::fill(bins.begin(), bins.end(), 0);
        if (!be.tensor_histogram(t, e, bins.data())) return false;
        uint64_t total = 0;
        for (uint64_t b : bins) total += b;
        if (total != st.finite)
            throw Error(be.name() + ": histogram of tensor '" + name + "' counts " + std::to_string(total) +
                            " values, its statistics " + std::to_string(st.finite) + " finite ones",
                        ErrorKind::Internal);
        h.add_stats(st);
        h.add_bins(e, bins.data());
        return true;
    };
    std::map<Histogram*, ClipOfHist> clip_of;
    for (const auto& [y, d] : run.clip_of) {
        auto yi = shard.host.find(y), xi = shard.host.find(d.src);
        if (yi != shard.host.end() && xi != shard.host.end()) clip_of.emplace(&yi->second, ClipOfHist{&xi->second, d.lo, d.hi});
    }
    ObserverQueue queue(be.name() == "cpu" && num_threads() > 1, std::move(clip_of));
    auto observe = [&](const std::string& name, const Tensor& t, bool from_executor) {
        auto it = shard.host.find(name);
        if (it == shard.host.end() || t.dtype() != DType::F32) return;
        if (from_executor && device(name, t, it->second.has_bins())) return;
        queue.push(&it->second, t);
    };
    exec::Observer obs = [&](const std::string& name, const Tensor& t, const graph::Node&) { observe(name, t, true); };
    for (int64_t i; !run.stop && (i = run.next++) < run.n;) {
        try {
            Sample s = run.data.load((size_t)i);
            SharedRun::SampleSeen seen{s.name, run.data.digest((size_t)i), {}, {}};
            for (const auto& [name, t] : s.inputs) {
                observe(name, t, false);  // graph inputs: host only
                const NonFinite nf = count_nonfinite(t);
                if (!nf.total()) continue;
                seen.nonfinite.push_back({s.name, name, nf.nan, nf.inf});
                seen.nonfinite_files.emplace_back(name, s.files.count(name) ? s.files.at(name) : s.name);
            }
            try {
                // Min/max and histograms do not depend on element order: tensors may come channel-blocked.
                ex.run(s.inputs, obs, {}, /*observer_any_layout=*/true);
            } catch (const Error& e) {
                throw Error("sample '" + s.name + "': " + e.what(), e.kind());
            }
            queue.end_sample();
            std::lock_guard<std::mutex> lk(run.mu);
            run.seen.emplace(i, std::move(seen));
        } catch (...) {
            std::lock_guard<std::mutex> lk(run.mu);
            run.errors.emplace(i, std::current_exception());
            run.stop = true;
            break;
        }
        std::lock_guard<std::mutex> lk(run.mu);
        run.progress.tick();
        dist::test_fault_point();
    }
    queue.finish();
    if (queue.derived()) spdlog::debug("calibrate: {} tensor statistics derived from their Relu/Clip input's", queue.derived());
}

// One rank's histograms and samples seen, as bytes for rank 0 (dist::gather).
std::string pack_rank(const std::map<std::string, Histogram>& hists, const std::map<int64_t, SharedRun::SampleSeen>& seen) {
    dist::Packer p;
    p.put<uint64_t>(hists.size());
    for (const auto& [name, h] : hists) {
        p.put_str(name);
        h.pack(p);
    }
    p.put<uint64_t>(seen.size());
    for (const auto& [i, s] : seen) {
        p.put<int64_t>(i);
        p.put_str(s.name);
        p.put_str(s.digest);
        p.put<uint64_t>(s.nonfinite.size());
        for (size_t k = 0; k < s.nonfinite.size(); ++k) {
            p.put_str(s.nonfinite_files[k].first);
            p.put_str(s.nonfinite_files[k].second);
            put_nonfinite(p, s.nonfinite[k]);
        }
    }
    return p.take();
}

// Adds a rank's bytes (pack_rank) to rank 0's histograms (exact merge) and samples seen (disjoint indices).
void unpack_rank(const std::string& bytes, std::map<std::string, Histogram>& hists,
                 std::map<int64_t, SharedRun::SampleSeen>& seen) {
    dist::Unpacker u(bytes);
    for (auto n = u.get<uint64_t>(); n--;) {
        const std::string name = u.get_str();
        const Histogram h = Histogram::unpack(u);
        auto it = hists.find(name);
        HQ_ASSERT(it != hists.end(), "calibrate: a rank observed tensor '", name, "', rank 0 does not know it");
        it->second.merge(h);
    }
    for (auto n = u.get<uint64_t>(); n--;) {
        const int64_t i = u.get<int64_t>();
        SharedRun::SampleSeen s;
        s.name = u.get_str();
        s.digest = u.get_str();
        for (auto k = u.get<uint64_t>(); k--;) {
            std::string input = u.get_str(), file = u.get_str();
            s.nonfinite_files.emplace_back(std::move(input), std::move(file));
            s.nonfinite.push_back(get_nonfinite(u));
        }
        HQ_ASSERT(seen.emplace(i, std::move(s)).second, "calibrate: sample ", i, " seen by two ranks");
    }
    HQ_ASSERT(u.done(), "calibrate: trailing bytes in a rank's statistics");
}

// Rank 0's table on every rank (the statistics as Histogram::pack bytes: exact).
void broadcast_table(CalibrationTable& t) {
    dist::Packer p;
    if (dist::is_root()) {
        p.put<uint64_t>(t.samples);
        p.put<uint64_t>(t.tensors.size());
        for (const auto& [name, h] : t.tensors) {
            p.put_str(name);
            h.pack(p);
        }
        p.put<uint64_t>(t.sample_digests.size());
        for (const auto& [name, digest] : t.sample_digests) {
            p.put_str(name);
            p.put_str(digest);
        }
        p.put<uint64_t>(t.nonfinite_inputs.size());
        for (const auto& f : t.nonfinite_inputs) put_nonfinite(p, f);
    }
    const std::string bytes = dist::broadcast(p.take());
    if (dist::is_root()) return;
    dist::Unpacker u(bytes);
    t.samples = u.get<uint64_t>();
    t.tensors.clear();
    for (auto n = u.get<uint64_t>(); n--;) {
        std::string name = u.get_str();
        t.tensors.emplace(std::move(name), Histogram::unpack(u));
    }
    t.sample_digests.clear();
    for (auto n = u.get<uint64_t>(); n--;) {
        std::string name = u.get_str(), digest = u.get_str();
        t.sample_digests.emplace_back(std::move(name), std::move(digest));
    }
    t.nonfinite_inputs.clear();
    for (auto n = u.get<uint64_t>(); n--;) {
        t.nonfinite_inputs.push_back(get_nonfinite(u));
    }
    HQ_ASSERT(u.done(), "calibrate: trailing bytes in rank 0's table");
}

// This rank's error as a dist::Failure (the first sample's, as a one-process run reports it).
dist::Failure failure_of(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const Error& x) {
        return {dist::rank(), x.exit_code(), x.what()};
    } catch (const std::bad_alloc&) {
        return {dist::rank(), 1, "out of memory"};
    } catch (const std::exception& x) {
        return {dist::rank(), 1, std::string("internal error: ") + x.what()};
    }
}

}  // namespace

CalibrationTable calibrate(const exec::Executor& ex, const DataSource& data, const CalibrateOptions& opt) {
    return calibrate(std::vector<const exec::Executor*>{&ex}, data, opt);
}

CalibrationTable calibrate(const graph::Model& model, const std::vector<std::unique_ptr<exec::Backend>>& backends,
                           const DataSource& data, const CalibrateOptions& opt) {
    std::vector<std::unique_ptr<exec::Executor>> owned;
    std::vector<const exec::Executor*> exs;
    for (const auto& be : backends) {
        owned.push_back(std::make_unique<exec::Executor>(model, *be));
        exs.push_back(owned.back().get());
    }
    return calibrate(exs, data, opt);
}

CalibrationTable calibrate(const std::vector<const exec::Executor*>& executors, const DataSource& data,
                           const CalibrateOptions& opt) {
    HQ_ASSERT(!executors.empty(), "calibrate: no executor");
    const graph::Model& model = executors[0]->model();
    for (const auto* ex : executors) HQ_ASSERT(&ex->model() == &model, "calibrate: executors of different models");
    CalibrationTable table;
    table.method = opt.method;
    table.percentile = opt.percentile;
    // Full histograms for what the QDQ writer quantizes; min/max for every other float tensor.
    const std::set<std::string> targets = quant::calibration_targets(model);
    std::map<std::string, bool> with_bins;
    for (const auto& t : quant::range_targets(model)) with_bins.emplace(t, targets.count(t) != 0);
    int64_t n = (int64_t)data.size();
    if (opt.max_samples > 0) n = std::min(n, opt.max_samples);
    // Under MPI: this rank's contiguous block of the samples (by sorted index); rank 0 merges the others' in.
    const bool distributed = opt.distributed && dist::size() > 1;
    const auto [begin, end] = distributed ? dist::my_share(n) : std::pair<int64_t, int64_t>(0, n);
    SharedRun run(data, with_bins, begin, end);
    run.clip_of = clip_pairs(model.graph, with_bins, model.opset(""));
    std::vector<Shard> shards(executors.size());
    if (executors.size() == 1) {
        run_shard(*executors[0], run, shards[0]);
    } else {
        std::vector<std::thread> threads;
        for (size_t k = 0; k < executors.size(); ++k)
            threads.emplace_back([&, k] {
                unpin_this_thread();
                try {
                    run_shard(*executors[k], run, shards[k]);
                } catch (...) {  // only from setting up or finishing the shard
                    std::lock_guard<std::mutex> lk(run.mu);
                    run.errors.emplace(-1 - (int64_t)k, std::current_exception());
                    run.stop = true;
                }
            });
        for (auto& t : threads) t.join();
    }
    if (!distributed && !run.errors.empty()) std::rethrow_exception(run.errors.begin()->second);
    // Every rank learns whether one failed (the lowest failing rank's first error is the job's).
    if (distributed)
        dist::agree_or_throw(run.errors.empty() ? std::nullopt
                                                : std::optional<dist::Failure>(failure_of(run.errors.begin()->second)));
    run.progress.finish();
    table.samples = (uint64_t)n;
    std::map<std::string, Histogram> hists;
    for (const auto& [name, bins] : with_bins) hists.emplace(name, Histogram(bins));
    for (const auto& shard : shards)
        for (const auto* part : {&shard.host, &shard.device})
            for (const auto& [name, h] : *part) hists.at(name).merge(h);
    if (distributed) {
        // Histograms are exact integer counts and min/max: merged in any order they equal one process's.
        const auto parts = dist::gather(pack_rank(hists, run.seen));
        for (size_t r = 1; r < parts.size(); ++r) unpack_rank(parts[r], hists, run.seen);
        table.ranks = dist::size();
        for (int r = 0; r < dist::size(); ++r) table.rank_samples.push_back(dist::share(n, r, dist::size()));
        if (!dist::is_root()) {
            if (opt.share_result) broadcast_table(table);
            return table;  // rank 0 holds the table, unless shared
        }
    }
    // Tensors never seen as float32 (shape/int tensors) are not part of the table.
    for (auto& [name, h] : hists)
        if (h.count() || h.nan_count() || h.inf_count()) table.tensors[name] = std::move(h);
    // NaN/Inf: one warning per sample file that held them (not one per tensor they reached), then one line.
    size_t bad_samples = 0;
    for (auto& [i, seen] : run.seen) {
        table.sample_digests.emplace_back(seen.name, seen.digest);
        bad_samples += !seen.nonfinite.empty();
        for (size_t k = 0; k < seen.nonfinite.size(); ++k)
            spdlog::warn("{}: input '{}' holds {} NaN and {} Inf values (excluded from the ranges)",
                         seen.nonfinite_files[k].second, seen.nonfinite_files[k].first, seen.nonfinite[k].nan,
                         seen.nonfinite[k].inf);
        table.nonfinite_inputs.insert(table.nonfinite_inputs.end(), seen.nonfinite.begin(), seen.nonfinite.end());
    }
    table.sort_samples();
    if (distributed && opt.share_result) broadcast_table(table);
    if (const size_t bad_tensors = table.nonfinite_tensors(); bad_tensors || bad_samples) {
        const std::string where =
            bad_samples ? fmt::format("{} of {} samples had NaN/Inf inputs", bad_samples, n)
                        : std::string("no sample input had NaN/Inf, they arose inside the model");
        spdlog::warn("{}; {} tensors saw NaN/Inf values, excluded from their ranges (per-tensor counts in the "
                     "calibration table)",
                     where, bad_tensors);
    }
    return table;
}

quant::ChannelMeans channel_means(const exec::Executor& ex, const DataSource& data,
                                  const std::set<std::string>& tensors, int64_t max_samples, bool distributed) {
    // One observation of a tensor in one sample: its per-(row, channel) sums, in row-major order, and its count.
    struct Obs {
        std::string name;
        int64_t channels = 0;
        std::vector<double> sums;
        double count = 0;
    };
    std::map<std::string, std::pair<std::vector<double>, double>> acc;  // sums per channel, count per channel
    // Adds one sample's observations; called in sample order (the same additions as one pass over the samples).
    auto add = [&](const std::vector<Obs>& sample) {
        for (const auto& o : sample) {
            auto& [sums, count] = acc[o.name];
            if (sums.empty()) sums.assign(o.channels, 0.0);
            if ((int64_t)sums.size() != o.channels) continue;
            for (size_t k = 0; k < o.sums.size(); ++k) sums[k % o.channels] += o.sums[k];
            count += o.count;
        }
    };
    std::vector<Obs> seen;
    auto observe = [&](const std::string& name, const Tensor& t) {
        if (!tensors.count(name) || t.dtype() != DType::F32 || t.rank() < 1) return;
        const int64_t axis = t.rank() >= 3 ? 1 : t.rank() - 1;
        const int64_t c = t.shape()[axis];
        int64_t inner = 1;
        for (int64_t d = axis + 1; d < t.rank(); ++d) inner *= t.shape()[d];
        Obs o;
        o.name = name;
        o.channels = c;
        const float* p = t.data<float>();
        const int64_t outer = t.numel() / std::max<int64_t>(1, c * inner);
        for (int64_t r = 0; r < outer; ++r)
            for (int64_t ch = 0; ch < c; ++ch) {
                const float* q = p + (r * c + ch) * inner;
                double s = 0;
                for (int64_t i = 0; i < inner; ++i) s += q[i];
                o.sums.push_back(s);
            }
        o.count = (double)(outer * inner);
        seen.push_back(std::move(o));
    };
    int64_t n = (int64_t)data.size();
    if (max_samples > 0) n = std::min(n, max_samples);
    distributed = distributed && dist::size() > 1;
    const auto [begin, end] = distributed ? dist::my_share(n) : std::pair<int64_t, int64_t>(0, n);
    Progress progress("channel means", end - begin);
    dist::Packer mine;  // this rank's per-sample observations, for rank 0
    std::optional<dist::Failure> failure;
    auto pack = [&](const std::vector<Obs>& sample) {
        mine.put<uint64_t>(sample.size());
        for (const auto& o : sample) {
            mine.put_str(o.name);
            mine.put<int64_t>(o.channels);
            mine.put_vec(o.sums);
            mine.put<double>(o.count);
        }
    };
    for (int64_t i = begin; i < end; ++i) {
        try {
            Sample s = data.load((size_t)i);
            seen.clear();
            for (const auto& [name, t] : s.inputs) observe(name, t);
            try {
                ex.run(s.inputs, [&](const std::string& name, const Tensor& t, const graph::Node&) { observe(name, t); });
            } catch (const Error& e) {
                throw Error("sample '" + s.name + "': " + e.what(), e.kind());
            }
        } catch (const Error& e) {
            if (!distributed) throw;
            failure = dist::Failure{dist::rank(), e.exit_code(), e.what()};
            break;
        }
        if (!distributed || dist::is_root())
            add(seen);
        else
            pack(seen);
        progress.tick();
        dist::test_fault_point();
    }
    progress.finish();
    dist::Packer result;
    if (distributed) {
        dist::agree_or_throw(failure);
        const auto parts = dist::gather(mine.take());
        for (size_t r = 1; r < parts.size(); ++r) {  // rank order is sample order
            dist::Unpacker u(parts[r]);
            while (!u.done()) {
                std::vector<Obs> sample(u.get<uint64_t>());
                for (auto& o : sample) {
                    o.name = u.get_str();
                    o.channels = u.get<int64_t>();
                    o.sums = u.get_vec<double>();
                    o.count = u.get<double>();
                }
                add(sample);
            }
        }
    }
    quant::ChannelMeans means;
    for (auto& [name, sc] : acc) {
        auto& [sums, count] = sc;
        for (auto& v : sums) v = count > 0 ? v / count : 0.0;
        means[name] = sums;
    }
    if (distributed) {
        if (dist::is_root()) {
            result.put<uint64_t>(means.size());
            for (const auto& [name, v] : means) {
                result.put_str(name);
                result.put_vec(v);
            }
        }
        const std::string bytes = dist::broadcast(result.take());
        if (!dist::is_root()) {
            dist::Unpacker u(bytes);
            means.clear();
            for (auto k = u.get<uint64_t>(); k--;) {
                std::string name = u.get_str();
                means[name] = u.get_vec<double>();
            }
        }
    }
    return means;
}

quant::FeatureAbsMax feature_absmax(const exec::Executor& ex, const DataSource& data,
                                    const std::map<std::string, int64_t>& tensors, int64_t max_samples) {
    quant::FeatureAbsMax out;
    auto observe = [&](const std::string& name, const Tensor& t) {
        auto it = tensors.find(name);
        if (it == tensors.end() || t.dtype() != DType::F32 || t.rank() < 1 || t.shape().back() != it->second) return;
        const int64_t f = it->second;
        auto& a = out[name];
        if (a.empty()) a.assign(f, 0.0);
        const float* p = t.data<float>();
        for (int64_t i = 0; i < t.numel(); ++i) {
            const double v = std::fabs((double)p[i]);
            if (std::isfinite(v) && v > a[i % f]) a[i % f] = v;
        }
    };
    int64_t n = (int64_t)data.size();
    if (max_samples > 0) n = std::min(n, max_samples);
    Progress progress("feature ranges (SmoothQuant)", n);
    for (int64_t i = 0; i < n; ++i) {
        Sample s = data.load((size_t)i);
        for (const auto& [name, t] : s.inputs) observe(name, t);
        ex.run(s.inputs, [&](const std::string& name, const Tensor& t, const graph::Node&) { observe(name, t); });
        progress.tick();
    }
    progress.finish();
    return out;
}

}  // namespace hq::calib

#include "core/threads.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#ifdef HQ_OPENMP
#include <omp.h>
#include <sched.h>

#include <cstdlib>
#endif

namespace hq {

namespace {

int g_threads = 2;
thread_local bool t_in_parallel = false;

#ifndef HQ_OPENMP
// Persistent workers: creating threads per call costs tens of microseconds, more than many small
// CNN layers take. One job at a time; the caller runs chunks too.
class Pool {
public:
    explicit Pool(int workers) {
        for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { loop(); });
    }
    ~Pool() {
        {
            std::lock_guard<std::mutex> lk(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_) t.join();
    }
    int size() const { return (int)threads_.size(); }

    // Runs job(c) for c in [0, chunks); returns when all are done.
    void run(int64_t chunks, const std::function<void(int64_t)>& job) {
        {
            std::lock_guard<std::mutex> lk(mu_);
            job_ = &job;
            chunks_ = chunks;
            next_.store(0);
            pending_ = chunks;
            ++generation_;
        }
        cv_.notify_all();
        work();
        std::unique_lock<std::mutex> lk(mu_);
        done_cv_.wait(lk, [&] { return pending_ == 0; });
        job_ = nullptr;
    }

private:
    void work() {
        t_in_parallel = true;
        for (;;) {
            int64_t c = next_.fetch_add(1);
            if (c >= chunks_) break;
            (*job_)(c);
            std::lock_guard<std::mutex> lk(mu_);
            if (--pending_ == 0) done_cv_.notify_all();
        }
        t_in_parallel = false;
    }
    void loop() {
        uint64_t seen = 0;
        for (;;) {
            {
                std::unique_lock<std::mutex> lk(mu_);
                cv_.wait(lk, [&] { return stop_ || (generation_ != seen && job_ != nullptr); });
                if (stop_) return;
                seen = generation_;
            }
            work();
        }
    }

    std::vector<std::thread> threads_;
    std::mutex mu_;
    std::condition_variable cv_, done_cv_;
    const std::function<void(int64_t)>* job_ = nullptr;
    int64_t chunks_ = 0, pending_ = 0;
    std::atomic<int64_t> next_{0};
    uint64_t generation_ = 0;
    bool stop_ = false;
};

std::unique_ptr<Pool> g_pool;
#endif
std::mutex g_pool_mu;

}  // namespace

void set_num_threads(int n) { g_threads = std::max(1, n); }

#ifdef HQ_OPENMP
namespace {
std::atomic<int> g_bound_for{0};  // team size the workers were pinned for (0: not yet)
std::mutex g_mask_mu;
bool g_have_mask = false;
cpu_set_t g_process_mask;  // the mask before pinning
}  // namespace
#endif

void bind_workers() {
#ifdef HQ_OPENMP
    // Spinning OpenMP workers that the scheduler lets share a core stall each other for whole time slices (measured
    // on a 2-core machine: MTCNN O-Net per-sample time swung 1x-3x between runs, steady once pinned). Each worker of
    // the team is pinned to its own CPU of the process's mask, as OMP_PROC_BIND=true would; not when the user set
    // OMP_PROC_BIND or HQ_NO_PIN, or when the team is larger than the mask.
    const int n = g_threads;
    if (n <= 1 || g_bound_for.load(std::memory_order_relaxed) == n || omp_in_parallel()) return;
    g_bound_for.store(n);
    if (std::getenv("OMP_PROC_BIND") || std::getenv("HQ_NO_PIN")) return;
    cpu_set_t mask;
    CPU_ZERO(&mask);
    if (sched_getaffinity(0, sizeof(mask), &mask) != 0) return;
    std::vector<int> cpus;
    for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &mask)) cpus.push_back(c);
    if ((int)cpus.size() < n) return;
    {
        std::lock_guard<std::mutex> lk(g_mask_mu);
        if (!g_have_mask) g_process_mask = mask;
        g_have_mask = true;
    }
    omp_set_num_threads(n);
#pragma omp parallel num_threads(n)
    {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpus[(size_t)omp_get_thread_num()], &one);
        sched_setaffinity(0, sizeof(one), &one);
    }
#endif
}
int num_threads() { return g_threads; }

void unpin_this_thread() {
#ifdef HQ_OPENMP
    std::lock_guard<std::mutex> lk(g_mask_mu);
    if (g_have_mask) sched_setaffinity(0, sizeof(g_process_mask), &g_process_mask);
#endif
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    int64_t chunks = std::min<int64_t>(g_threads, n / std::max<int64_t>(grain, 1));
    // Nested calls, and calls while another thread holds the pool, run inline.
    std::unique_lock<std::mutex> lk(g_pool_mu, std::defer_lock);
    if (chunks <= 1 || t_in_parallel || !lk.try_lock()) {
        fn(0, n);
        return;
    }
    std::exception_ptr err;
    std::mutex err_mu;
    auto chunk = [&](int64_t c) {
        int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
        try {
            fn(b, e);
        } catch (...) {
            std::lock_guard<std::mutex> l(err_mu);
            if (!err) err = std::current_exception();
        }
    };
#ifdef HQ_OPENMP
    // Only one thread drives the team: libgomp gives every other thread that opens a parallel region a team of its
    // own, more spinning workers than CPUs (calibration's statistics thread would). Those run their work inline.
    static std::atomic<std::thread::id> owner{std::thread::id()};
    std::thread::id none;
    const std::thread::id me = std::this_thread::get_id();
    if (!owner.compare_exchange_strong(none, me) && none != me) {
        lk.unlock();
        fn(0, n);
        return;
    }
    bind_workers();
    // OpenMP's team: the same threads oneDNN runs its primitives on. A second pool beside it would make the two
    // sets of workers spin against each other on every hand-over between a oneDNN conv and hyquant's kernels.
#pragma omp parallel num_threads((int)chunks)
    {
        t_in_parallel = true;
        const int64_t team = omp_get_num_threads();
        for (int64_t c = omp_get_thread_num(); c < chunks; c += team) chunk(c);
        t_in_parallel = false;
    }
#else
    if (!g_pool || g_pool->size() != g_threads - 1) g_pool = std::make_unique<Pool>(g_threads - 1);
    std::function<void(int64_t)> job = chunk;
    g_pool->run(chunks, job);
#endif
    if (err) std::rethrow_exception(err);
}

}  // namespace hq

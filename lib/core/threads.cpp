#include "core/threads.h"

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace hq {

static int g_threads = 2;

void set_num_threads(int n) { g_threads = std::max(1, n); }
int num_threads() { return g_threads; }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    int64_t chunks = std::min<int64_t>(g_threads, n / std::max<int64_t>(grain, 1));
    if (chunks <= 1) {
        fn(0, n);
        return;
    }
    std::exception_ptr err;
    std::mutex mu;
    auto run = [&](int64_t c) {
        int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
        try {
            fn(b, e);
        } catch (...) {
            std::lock_guard<std::mutex> lk(mu);
            if (!err) err = std::current_exception();
        }
    };
    std::vector<std::thread> ts;
    ts.reserve(chunks - 1);
    for (int64_t c = 1; c < chunks; ++c) ts.emplace_back(run, c);
    run(0);
    for (auto& t : ts) t.join();
    if (err) std::rethrow_exception(err);
}

}  // namespace hq

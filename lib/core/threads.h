// Process-wide worker count and a parallel_for that splits [0, n) into contiguous chunks.
// Chunks are fixed by (n, threads), so results that reduce per chunk are deterministic.
#pragma once
#include <cstdint>
#include <functional>

namespace hq {

void set_num_threads(int n);  // n >= 1
int num_threads();
// Pins the OpenMP workers (the team parallel_for and oneDNN share) one per CPU, once per thread count; a no-op
// without OpenMP, under OMP_PROC_BIND or HQ_NO_PIN, or with more threads than CPUs.
// The main thread is one of them, and threads it starts inherit its single CPU: a helper thread calls
// unpin_this_thread() first to run anywhere in the process's original mask.
void bind_workers();
void unpin_this_thread();

// Calls fn(begin, end) over disjoint chunks covering [0, n). Runs inline when n < 2*grain or one thread.
// Exceptions thrown by fn are rethrown in the caller (the first one).
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace hq

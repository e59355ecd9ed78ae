// Process-wide worker count and a parallel_for that splits [0, n) into contiguous chunks.
// Chunks are fixed by (n, threads), so results that reduce per chunk are deterministic.
#pragma once
#include <cstdint>
#include <functional>

namespace hq {

void set_num_threads(int n);  // n >= 1
int num_threads();

// Calls fn(begin, end) over disjoint chunks covering [0, n). Runs inline when n < 2*grain or one thread.
// Exceptions thrown by fn are rethrown in the caller (the first one).
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace hq

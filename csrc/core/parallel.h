// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <functional>

namespace convcore {

// Threads the kernels may use; default = available cores, or OMP_NUM_THREADS.
int get_num_threads();
void set_num_threads(int n);

// Runs fn(begin, end, thread_index) over [0, n) split into at most `threads`
// contiguous chunks, on the persistent pool; the caller runs chunk 0. A call
// made while the pool is busy (another caller, or from inside a task) runs
// inline on one thread, so nesting never deadlocks.
using RangeFn = std::function<void(int64_t begin, int64_t end, int thread_index)>;
void parallel_for(int64_t n, int threads, const RangeFn& fn);
inline void parallel_for(int64_t n, const RangeFn& fn) { parallel_for(n, get_num_threads(), fn); }

}  // namespace convcore

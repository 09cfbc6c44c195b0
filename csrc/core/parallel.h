// SPDX-License-Identifier: MIT
#pragma once
#include <atomic>
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

// Every participant of a parallel_region calls wait(); none returns until
// all have arrived. Reusable: each round flips the phase.
class SpinBarrier {
 public:
  explicit SpinBarrier(int participants) : participants_(participants) {}
  void wait();

 private:
  const int participants_;
  std::atomic<int> arrived_{0};
  std::atomic<unsigned> phase_{0};
};

// Runs fn(t, nt, barrier) for t < nt on nt threads that run at the same time,
// so they may wait for each other on `barrier` (made for exactly nt). nt is at
// most `threads`, and 1 when the pool is busy or the call comes from a task.
using RegionFn = std::function<void(int thread_index, int num_threads, SpinBarrier& barrier)>;
void parallel_region(int threads, const RegionFn& fn);

}  // namespace convcore

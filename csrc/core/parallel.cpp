// SPDX-License-Identifier: MIT
#include "core/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"

namespace convcore {
namespace {

int default_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

// A fixed set of workers woken per parallel region. Workers spin briefly
// before sleeping because regions arrive back to back (one per image or
// GEMM block) and a futex wake costs more than a short spin.
class ThreadPool {
 public:
  explicit ThreadPool(int threads) { resize(threads); }
  ~ThreadPool() { stop_workers(); }

  int size() const { return size_; }

  void resize(int threads) {
    std::lock_guard<std::mutex> region(region_mutex_);
    stop_workers();
    size_ = threads;
    stopping_ = false;
    // New workers start from the current generation: an earlier region's
    // task must never look new to them.
    const uint64_t now = generation_.load();
    for (int i = 1; i < threads; ++i)
      workers_.emplace_back([this, i, now] { worker_loop(i, now); });
  }

  void run(int64_t n, int chunks, const RangeFn& fn) {
    chunks = static_cast<int>(std::min<int64_t>({chunks, n, static_cast<int64_t>(size_)}));
    std::unique_lock<std::mutex> region = claim(chunks);
    if (!region.owns_lock()) {
      fn(0, n, 0);
      return;
    }
    dispatch(n, chunks, fn);
  }

  // Every chunk on its own thread, all running together (workers are
  // dedicated to the region until it ends), or everything inline.
  void run_region(int threads, const RegionFn& fn) {
    const int nt = std::min(threads, size_);
    std::unique_lock<std::mutex> region = claim(nt);
    if (!region.owns_lock()) {
      SpinBarrier alone(1);
      fn(0, 1, alone);
      return;
    }
    SpinBarrier barrier(nt);
    dispatch(nt, nt, [&](int64_t, int64_t, int t) { fn(t, nt, barrier); });
  }

 private:
  // The region lock when `chunks` threads may start one, else an empty lock.
  std::unique_lock<std::mutex> claim(int chunks) {
    if (inside_task_ || chunks <= 1) return {};
    return std::unique_lock<std::mutex>(region_mutex_, std::try_to_lock);
  }

  void dispatch(int64_t n, int chunks, const RangeFn& fn) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = &fn;
      task_n_ = n;
      task_chunks_ = chunks;
      pending_.store(chunks - 1);
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    run_chunk(0);
    while (pending_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
    if (error_) std::rethrow_exception(error_);
  }

  void run_chunk(int index) {
    const int64_t begin = task_n_ * index / task_chunks_;
    const int64_t end = task_n_ * (index + 1) / task_chunks_;
    inside_task_ = true;
    try {
      if (begin < end) (*task_)(begin, end, index);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    inside_task_ = false;
  }

  void worker_loop(int index, uint64_t seen) {
    for (;;) {
      uint64_t gen = 0;
      for (int spin = 0; spin < 20000; ++spin) {
        gen = generation_.load(std::memory_order_acquire);
        if (gen != seen || stopping_) break;
      }
      if (gen == seen && !stopping_) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load() != seen || stopping_; });
      }
      if (stopping_) return;
      seen = generation_.load(std::memory_order_acquire);
      if (index < task_chunks_) {
        run_chunk(index);
        pending_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::mutex region_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stopping_{false};
  const RangeFn* task_ = nullptr;
  int64_t task_n_ = 0;
  int task_chunks_ = 0;
  int size_ = 1;
  static thread_local bool inside_task_;
  std::exception_ptr error_;
};

thread_local bool ThreadPool::inside_task_ = false;

ThreadPool& pool() {
  static ThreadPool instance(default_threads());
  return instance;
}

}  // namespace

int get_num_threads() { return pool().size(); }

void set_num_threads(int n) {
  CC_CHECK_ARG(n >= 1 && n <= 1024, "set_num_threads: n must be in [1, 1024], got ", n);
  if (n != pool().size()) pool().resize(n);
}

void parallel_for(int64_t n, int threads, const RangeFn& fn) {
  if (n <= 0) return;
  pool().run(n, std::max(1, threads), fn);
}

void parallel_region(int threads, const RegionFn& fn) { pool().run_region(std::max(1, threads), fn); }

void SpinBarrier::wait() {
  const unsigned phase = phase_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) == participants_ - 1) {
    arrived_.store(0, std::memory_order_relaxed);
    phase_.fetch_add(1, std::memory_order_acq_rel);
    return;
  }
  while (phase_.load(std::memory_order_acquire) == phase) std::this_thread::yield();
}

}  // namespace convcore

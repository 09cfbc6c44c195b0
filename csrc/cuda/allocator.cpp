// SPDX-License-Identifier: MIT
// The caching device allocator: cudaMalloc is slow and synchronizes the
// device, so freed blocks are kept per device and size class and handed out
// again. Reuse is safe without events because all convcore work runs on one
// stream per device (cuda/launch.cuh): the next owner's kernels are queued
// after the last owner's.
#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <vector>

#include "core/error.h"
#include "cuda/launch.cuh"

namespace convcore::cuda {
namespace {

// Small requests round to 512 bytes, large ones to 2 MiB, so that repeated
// calls with slightly different shapes still hit the cache.
int64_t size_class(int64_t bytes) {
  constexpr int64_t kSmall = 512, kLarge = 2 << 20;
  const int64_t unit = bytes <= (1 << 20) ? kSmall : kLarge;
  return (std::max<int64_t>(bytes, 1) + unit - 1) / unit * unit;
}

class DeviceCache {
 public:
  void* take(int device, int64_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(bytes);
    if (it != free_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      cached_ -= bytes;
      note_allocated(bytes);
      return p;
    }
    DeviceGuard guard(device);
    void* p = nullptr;
    cudaError_t status = cudaMalloc(&p, bytes);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      release_all_locked();  // the cache may hold what this request needs
      status = cudaMalloc(&p, bytes);
    }
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      throw CudaError(str_cat("out of GPU memory on cuda:", device, ": could not allocate ",
                              bytes, " bytes (", allocated_, " bytes held by convcore arrays)"));
    }
    check(status, "cudaMalloc");
    note_allocated(bytes);
    return p;
  }

  void give_back(void* p, int64_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_[bytes].push_back(p);
    cached_ += bytes;
    allocated_ -= bytes;
  }

  void release_all(int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    DeviceGuard guard(device);
    release_all_locked();
  }

  MemoryStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {allocated_, cached_, peak_};
  }

 private:
  void note_allocated(int64_t bytes) {
    allocated_ += bytes;
    peak_ = std::max(peak_, allocated_);
  }
  void release_all_locked() {
    cudaDeviceSynchronize();  // cudaFree would, too; done once for all blocks
    for (auto& [bytes, blocks] : free_)
      for (void* p : blocks) cudaFree(p);
    free_.clear();
    cached_ = 0;
  }

  std::mutex mutex_;
  std::map<int64_t, std::vector<void*>> free_;
  int64_t allocated_ = 0, cached_ = 0, peak_ = 0;
};

DeviceCache& cache_of(int device) {
  static std::vector<DeviceCache> caches(device_count());
  return caches[device];
}

}  // namespace

std::shared_ptr<void> allocate(int device, int64_t bytes) {
  check_device(device);
  CC_CHECK_ARG(bytes >= 0, "cannot allocate ", bytes, " bytes");
  const int64_t size = size_class(bytes);
  DeviceCache& cache = cache_of(device);
  void* p = cache.take(device, size);
  return std::shared_ptr<void>(p, [&cache, size](void* q) { cache.give_back(q, size); });
}

void empty_cache() {
  for (int d = 0; d < device_count(); ++d) cache_of(d).release_all(d);
}

MemoryStats memory_stats(int device) {
  check_device(device);
  return cache_of(device).stats();
}

}  // namespace convcore::cuda

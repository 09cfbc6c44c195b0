// SPDX-License-Identifier: MIT
// The device runtime as the rest of the core sees it: devices, memory, the
// stream convcore orders its work on, and the math mode. This header needs no
// CUDA headers; a build without CUDA links core/cuda_absent.cpp instead of
// cuda/runtime.cpp, where no device exists and every device operation raises.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace convcore::cuda {

// A failed CUDA call, or a CUDA operation in a build or on a machine without
// CUDA; surfaces in Python as RuntimeError.
class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

bool built_with_cuda();
int device_count();  // 0 when there is no driver or no device; never throws
bool is_available();
// ArgumentError unless `device` is an existing ordinal; CudaError without devices.
void check_device(int device);
void synchronize(int device);

// Makes `device` current for a scope and restores the previous one.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

struct DeviceInfo {
  std::string name;
  int major = 0, minor = 0;
  int sm_count = 0;
  int64_t total_memory = 0;
};
const DeviceInfo& device_info(int device);

// Device memory from the caching allocator (cuda/allocator.cpp). Blocks are
// reused in stream order: every kernel runs on one stream per device, so a
// block handed out again is only touched after the work of its last owner.
std::shared_ptr<void> allocate(int device, int64_t bytes);
void empty_cache();
struct MemoryStats {
  int64_t allocated_bytes = 0;       // held by live arrays and workspaces
  int64_t cached_bytes = 0;          // free blocks kept for reuse
  int64_t peak_allocated_bytes = 0;
};
MemoryStats memory_stats(int device);

// Copies ordered on convcore's stream; the host ones return when the data is there.
void copy_host_to_device(void* dst, const void* src, int64_t bytes, int device);
void copy_device_to_host(void* dst, const void* src, int64_t bytes, int device);
void copy_device_to_device(void* dst, const void* src, int64_t bytes, int device);
// dst, C-contiguous, receives src laid out with `src_strides` (elements, any rank).
void copy_strided(void* dst, const void* src, int64_t elem_size, const std::vector<int64_t>& shape,
                  const std::vector<int64_t>& src_strides, int device);
// dst[0:n] = value, converted to dtype.
void fill(void* dst, double value, DType dtype, int64_t n, int device);

// The device ordinal a device pointer belongs to; ArgumentError naming `what`
// for host or unknown pointers.
int device_of_pointer(const void* ptr, const char* what);

// Stream interplay with other libraries, a stream given as the integer of its
// cudaStream_t (1: the legacy default stream, 2: the per-thread default).
void wait_for_stream(std::uintptr_t producer, int device);   // our work waits for theirs
void make_stream_wait(std::uintptr_t consumer, int device);  // theirs waits for ours

}  // namespace convcore::cuda

// SPDX-License-Identifier: MIT
// The device runtime (cuda/runtime.h) of a build without CUDA: there are no
// devices, and an operation that needs one says how to get a CUDA build.
#ifndef CONVCORE_WITH_CUDA
#include "cuda/runtime.h"

namespace convcore::cuda {
namespace {

[[noreturn]] void no_cuda() {
  throw CudaError(
      "convcore was built without CUDA (no nvcc at build time, or CONVCORE_CUDA=OFF); "
      "reinstall with nvcc on PATH, e.g. pip install . -Ccmake.define.CONVCORE_CUDA=ON");
}

}  // namespace

bool built_with_cuda() { return false; }
int device_count() { return 0; }
bool is_available() { return false; }
void check_device(int) { no_cuda(); }
void synchronize(int) { no_cuda(); }
DeviceGuard::DeviceGuard(int) { no_cuda(); }
DeviceGuard::~DeviceGuard() = default;
const DeviceInfo& device_info(int) { no_cuda(); }
std::shared_ptr<void> allocate(int, int64_t) { no_cuda(); }
void empty_cache() {}
MemoryStats memory_stats(int) { no_cuda(); }
void copy_host_to_device(void*, const void*, int64_t, int) { no_cuda(); }
void copy_device_to_host(void*, const void*, int64_t, int) { no_cuda(); }
void copy_device_to_device(void*, const void*, int64_t, int) { no_cuda(); }
void copy_strided(void*, const void*, int64_t, const std::vector<int64_t>&,
                  const std::vector<int64_t>&, int) {
  no_cuda();
}
void fill(void*, double, DType, int64_t, int) { no_cuda(); }
int device_of_pointer(const void*, const char*) { no_cuda(); }
void wait_for_stream(std::uintptr_t, int) { no_cuda(); }
void make_stream_wait(std::uintptr_t, int) { no_cuda(); }

}  // namespace convcore::cuda
#endif

// SPDX-License-Identifier: MIT
// Devices, copies and stream interplay (cuda/runtime.h) on the CUDA runtime.
#include <cuda_runtime.h>

#include <mutex>

#include "core/error.h"
#include "cuda/launch.cuh"

namespace convcore::cuda {

void check(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clears a sticky launch error so later calls can report their own
  throw CudaError(str_cat("CUDA error in ", what, ": ", cudaGetErrorName(status), " (",
                          cudaGetErrorString(status), ")"));
}

bool built_with_cuda() { return true; }

int device_count() {
  // Probed once: without a driver cudaGetDeviceCount fails, which means no devices.
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();
      return 0;
    }
    return n;
  }();
  return count;
}

bool is_available() { return device_count() > 0; }

void check_device(int device) {
  const int n = device_count();
  if (n == 0)
    throw CudaError("no CUDA device is available (convcore.cuda.is_available() is False: "
                    "no GPU or no driver on this machine)");
  CC_CHECK_ARG(device >= 0 && device < n, "device must be a CUDA ordinal in [0, ", n, "), got ",
               device);
}

DeviceGuard::DeviceGuard(int device) {
  check_device(device);
  CC_CUDA_CHECK(cudaGetDevice(&previous_));
  if (previous_ != device) CC_CUDA_CHECK(cudaSetDevice(device));
}

DeviceGuard::~DeviceGuard() {
  int now = -1;
  if (cudaGetDevice(&now) == cudaSuccess && now != previous_) cudaSetDevice(previous_);
}

void synchronize(int device) {
  DeviceGuard guard(device);
  CC_CUDA_CHECK(cudaDeviceSynchronize());
}

const DeviceInfo& device_info(int device) {
  check_device(device);
  static std::mutex mutex;
  static std::vector<std::unique_ptr<DeviceInfo>> cache(device_count());
  std::lock_guard<std::mutex> lock(mutex);
  if (!cache[device]) {
    cudaDeviceProp prop{};
    CC_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    auto info = std::make_unique<DeviceInfo>();
    info->name = prop.name;
    info->major = prop.major;
    info->minor = prop.minor;
    info->sm_count = prop.multiProcessorCount;
    info->total_memory = static_cast<int64_t>(prop.totalGlobalMem);
    cache[device] = std::move(info);
  }
  return *cache[device];
}

void copy_host_to_device(void* dst, const void* src, int64_t bytes, int device) {
  if (bytes == 0) return;
  DeviceGuard guard(device);
  CC_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()));
  // The source is pageable host memory the caller may free right away.
  CC_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

void copy_device_to_host(void* dst, const void* src, int64_t bytes, int device) {
  if (bytes == 0) return;
  DeviceGuard guard(device);
  CC_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
  CC_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

void copy_device_to_device(void* dst, const void* src, int64_t bytes, int device) {
  if (bytes == 0) return;
  DeviceGuard guard(device);
  CC_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()));
}

int device_of_pointer(const void* ptr, const char* what) {
  if (!is_available()) check_device(0);  // raises the no-device error
  cudaPointerAttributes attr{};
  const cudaError_t status = cudaPointerGetAttributes(&attr, ptr);
  if (status != cudaSuccess) cudaGetLastError();
  CC_CHECK_ARG(status == cudaSuccess &&
                   (attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged),
               what, ": the data pointer is not CUDA device memory");
  return attr.device;
}

namespace {

cudaStream_t stream_of(std::uintptr_t handle) {
  if (handle == 1) return cudaStreamLegacy;
  if (handle == 2) return cudaStreamPerThread;
  return reinterpret_cast<cudaStream_t>(handle);
}

// `waiter` waits for what is queued on `producer` now.
void order_streams(cudaStream_t producer, cudaStream_t waiter) {
  cudaEvent_t event;
  CC_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
  const cudaError_t recorded = cudaEventRecord(event, producer);
  const cudaError_t waited = recorded == cudaSuccess ? cudaStreamWaitEvent(waiter, event, 0)
                                                     : recorded;
  cudaEventDestroy(event);  // released once the wait is satisfied
  CC_CUDA_CHECK(waited);
}

}  // namespace

void wait_for_stream(std::uintptr_t producer, int device) {
  if (producer == 0 || producer == 1) return;  // the legacy stream already orders ours
  DeviceGuard guard(device);
  order_streams(stream_of(producer), cudaStreamLegacy);
}

void make_stream_wait(std::uintptr_t consumer, int device) {
  if (consumer == 0 || consumer == 1) return;
  DeviceGuard guard(device);
  order_streams(cudaStreamLegacy, stream_of(consumer));
}

}  // namespace convcore::cuda

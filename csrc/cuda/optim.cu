// SPDX-License-Identifier: MIT
// Fused multi-tensor optimizer steps (optim.h). The host builds a table of
// the group's tensors and of fixed-size chunks of them; block b updates chunk
// b, so one launch covers the whole group whatever the tensors' sizes.
#include <cstring>
#include <mutex>

#include "core/error.h"
#include "cuda/launch.cuh"
#include "cuda/optim.h"

namespace convcore::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kChunk = 16384;  // elements per block

struct Chunk {
  int64_t tensor;
  int64_t start;
};

template <class T>
__device__ T sqrt_of(T v) { return sqrt(v); }

// The update of element i of tensor t; g includes the L2 term.
template <class T, OptimKind K>
__device__ void update(const OptimTensor& t, const OptimHyper& h, int64_t i) {
  T* p = static_cast<T*>(t.param);
  T g = static_cast<const T*>(t.grad)[i];
  if (t.weight_decay != 0) g = g + static_cast<T>(t.weight_decay) * p[i];
  const T lr = static_cast<T>(t.lr);
  if constexpr (K == OptimKind::sgd) {
    if (h.momentum != 0) {
      T* buf = static_cast<T*>(t.state[0]);
      const T m = static_cast<T>(h.momentum);
      const T b = t.aux != 0 ? g : m * buf[i] + static_cast<T>(1 - h.dampening) * g;
      buf[i] = b;
      g = h.nesterov ? g + m * b : b;
    }
    p[i] -= lr * g;
  } else if constexpr (K == OptimKind::adagrad) {
    T* sum = static_cast<T*>(t.state[0]);
    const T s = sum[i] + g * g;
    sum[i] = s;
    p[i] -= lr * (g / (sqrt_of(s) + static_cast<T>(h.eps)));
  } else if constexpr (K == OptimKind::rmsprop) {
    const T a = static_cast<T>(h.alpha), one_minus_a = static_cast<T>(1 - h.alpha);
    T* square_avg = static_cast<T*>(t.state[0]);
    const T sq = a * square_avg[i] + one_minus_a * (g * g);
    square_avg[i] = sq;
    T denom;
    if (h.centered) {
      T* grad_avg = static_cast<T*>(t.state[1]);
      const T ga = a * grad_avg[i] + one_minus_a * g;
      grad_avg[i] = ga;
      denom = sqrt_of(sq - ga * ga) + static_cast<T>(h.eps);
    } else {
      denom = sqrt_of(sq) + static_cast<T>(h.eps);
    }
    if (h.momentum > 0) {
      T* buf = static_cast<T*>(t.state[2]);
      const T b = static_cast<T>(h.momentum) * buf[i] + g / denom;
      buf[i] = b;
      p[i] -= lr * b;
    } else {
      p[i] -= lr * (g / denom);
    }
  } else if constexpr (K == OptimKind::adam) {
    T* exp_avg = static_cast<T*>(t.state[0]);
    T* exp_avg_sq = static_cast<T*>(t.state[1]);
    const T m = static_cast<T>(h.beta1) * exp_avg[i] + static_cast<T>(1 - h.beta1) * g;
    const T v = static_cast<T>(h.beta2) * exp_avg_sq[i] + static_cast<T>(1 - h.beta2) * (g * g);
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    T second = v;
    if (h.amsgrad) {
      T* max_sq = static_cast<T*>(t.state[2]);
      second = max_sq[i] > v ? max_sq[i] : v;
      max_sq[i] = second;
    }
    const T denom = sqrt_of(second) / static_cast<T>(t.aux) + static_cast<T>(h.eps);
    p[i] -= lr * (m / denom);
  } else {  // adadelta
    const T rho = static_cast<T>(h.rho), one_minus_rho = static_cast<T>(1 - h.rho);
    const T eps = static_cast<T>(h.eps);
    T* square_avg = static_cast<T*>(t.state[0]);
    T* acc_delta = static_cast<T*>(t.state[1]);
    const T sq = rho * square_avg[i] + one_minus_rho * (g * g);
    square_avg[i] = sq;
    const T delta = sqrt_of(acc_delta[i] + eps) / sqrt_of(sq + eps) * g;
    acc_delta[i] = rho * acc_delta[i] + one_minus_rho * (delta * delta);
    p[i] -= lr * delta;
  }
}

template <class T, OptimKind K>
__global__ void multi_tensor_kernel(const OptimTensor* tensors, const Chunk* chunks, OptimHyper h) {
  const Chunk c = chunks[blockIdx.x];
  const OptimTensor t = tensors[c.tensor];
  const int64_t end = c.start + kChunk < t.numel ? c.start + kChunk : t.numel;
  for (int64_t i = c.start + threadIdx.x; i < end; i += blockDim.x) update<T, K>(t, h, i);
}

template <class T>
void launch(OptimKind kind, const OptimTensor* tensors, const Chunk* chunks, int64_t n_chunks,
            const OptimHyper& h) {
  const unsigned grid = static_cast<unsigned>(n_chunks);
  switch (kind) {
    case OptimKind::sgd:
      multi_tensor_kernel<T, OptimKind::sgd><<<grid, kThreads, 0, stream()>>>(tensors, chunks, h);
      break;
    case OptimKind::adagrad:
      multi_tensor_kernel<T, OptimKind::adagrad><<<grid, kThreads, 0, stream()>>>(tensors, chunks, h);
      break;
    case OptimKind::rmsprop:
      multi_tensor_kernel<T, OptimKind::rmsprop><<<grid, kThreads, 0, stream()>>>(tensors, chunks, h);
      break;
    case OptimKind::adam:
      multi_tensor_kernel<T, OptimKind::adam><<<grid, kThreads, 0, stream()>>>(tensors, chunks, h);
      break;
    case OptimKind::adadelta:
      multi_tensor_kernel<T, OptimKind::adadelta><<<grid, kThreads, 0, stream()>>>(tensors, chunks, h);
      break;
  }
  CC_CUDA_CHECK_LAUNCH("multi_tensor_kernel");
}

// The tables reach the device through pinned host buffers and asynchronous
// copies, so a step never waits for the GPU. The buffers form a ring of
// kSlots per device, used in turn; before a slot is rewritten, the event
// recorded after its last copy (kSlots calls earlier: with a few parameter
// groups, a whole training step or more ago) is waited for. Kept for the
// process' lifetime.
constexpr int kSlots = 8;
constexpr int kMaxDevices = 64;

struct Slot {
  void* host = nullptr;
  int64_t bytes = 0;
  cudaEvent_t copied = nullptr;
};

struct Staging {
  std::mutex mutex;
  Slot slots[kSlots];
  int next = 0;
};

Staging& staging(int device) {
  static Staging per_device[kMaxDevices];
  CC_CHECK_ARG(device >= 0 && device < kMaxDevices, "optimizer step: device ", device,
               " is out of range");
  return per_device[device];
}

// Copies bytes from src (host) to dst (device memory of `device`, the current
// device) on convcore's stream without synchronizing the stream.
void upload_async(void* dst, const void* src, int64_t bytes, int device) {
  Staging& st = staging(device);
  std::lock_guard<std::mutex> lock(st.mutex);
  Slot& slot = st.slots[st.next];
  st.next = (st.next + 1) % kSlots;
  if (slot.copied == nullptr) {
    CC_CUDA_CHECK(cudaEventCreateWithFlags(&slot.copied, cudaEventDisableTiming));
  } else {
    CC_CUDA_CHECK(cudaEventSynchronize(slot.copied));  // its last copy has read slot.host
  }
  if (slot.bytes < bytes) {
    if (slot.host != nullptr) CC_CUDA_CHECK(cudaFreeHost(slot.host));
    slot.host = nullptr;
    slot.bytes = 0;
    CC_CUDA_CHECK(cudaMallocHost(&slot.host, static_cast<size_t>(bytes)));
    slot.bytes = bytes;
  }
  std::memcpy(slot.host, src, static_cast<size_t>(bytes));
  CC_CUDA_CHECK(cudaMemcpyAsync(dst, slot.host, static_cast<size_t>(bytes),
                                cudaMemcpyHostToDevice, stream()));
  CC_CUDA_CHECK(cudaEventRecord(slot.copied, stream()));
}

}  // namespace

void multi_tensor_step(OptimKind kind, const OptimHyper& hyper,
                       const std::vector<OptimTensor>& tensors, DType dtype, int device) {
  CC_CHECK_ARG(dtype == DType::f32 || dtype == DType::f64,
               "optimizer step: parameters must be float32 or float64, got ", dtype_name(dtype));
  std::vector<Chunk> chunks;
  for (size_t t = 0; t < tensors.size(); ++t)
    for (int64_t start = 0; start < tensors[t].numel; start += kChunk)
      chunks.push_back({static_cast<int64_t>(t), start});
  if (chunks.empty()) return;
  CC_CHECK_ARG(chunks.size() <= 0x7fffffffULL, "optimizer step: too many elements");
  // One upload of both tables: the tensors, then the chunks (both 8-byte aligned).
  const int64_t table_bytes = static_cast<int64_t>(tensors.size() * sizeof(OptimTensor));
  const int64_t chunk_bytes = static_cast<int64_t>(chunks.size() * sizeof(Chunk));
  std::vector<unsigned char> host(static_cast<size_t>(table_bytes + chunk_bytes));
  std::memcpy(host.data(), tensors.data(), static_cast<size_t>(table_bytes));
  std::memcpy(host.data() + table_bytes, chunks.data(), static_cast<size_t>(chunk_bytes));
  DeviceGuard guard(device);
  auto table = allocate(device, table_bytes + chunk_bytes);
  upload_async(table.get(), host.data(), table_bytes + chunk_bytes, device);
  const auto* dev_tensors = static_cast<const OptimTensor*>(table.get());
  const auto* dev_chunks =
      reinterpret_cast<const Chunk*>(static_cast<const unsigned char*>(table.get()) + table_bytes);
  const int64_t n = static_cast<int64_t>(chunks.size());
  if (dtype == DType::f32) launch<float>(kind, dev_tensors, dev_chunks, n, hyper);
  else launch<double>(kind, dev_tensors, dev_chunks, n, hyper);
}

}  // namespace convcore::cuda

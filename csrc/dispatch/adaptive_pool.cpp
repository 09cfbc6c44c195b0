// SPDX-License-Identifier: MIT
#include "dispatch/adaptive_pool.h"

#include <cmath>

#include "core/error.h"
#include <utility>

#include "cpu/adaptive_pool.h"
#include "cuda/adaptive_pool.h"
#include "dispatch/device.h"

namespace convcore {
namespace {

std::string shape_str(const TensorView& t) {
  std::string s = "(";
  for (int i = 0; i < t.ndim; ++i) s += str_cat(i ? ", " : "", t.sizes[i]);
  return s + (t.ndim == 1 ? ",)" : ")");
}

std::string shape_str(const std::vector<int64_t>& v) {
  std::string s = "(";
  for (size_t i = 0; i < v.size(); ++i) s += str_cat(i ? ", " : "", v[i]);
  return s + ")";
}

void check_float_input(const std::string& op, const TensorView& x) {
  if (x.dtype == DType::i64) throw_dtype_error(op, ": input has dtype int64; expected float32 or float64");
  CC_CHECK_ARG(x.ndim == 4, op, ": input must be 4-D (batched, 2-D layout), got shape ",
               shape_str(x));
}

void check_same_dtype(const std::string& op, const char* name, const TensorView& t,
                      const TensorView& x) {
  if (t.dtype != x.dtype)
    throw_dtype_error(op, ": ", name, " has dtype ", dtype_name(t.dtype), " but input has ",
                      dtype_name(x.dtype));
}

void check_shape(const std::string& op, const char* name, const TensorView& t,
                 const std::vector<int64_t>& want) {
  bool same = t.ndim == static_cast<int>(want.size());
  for (int i = 0; same && i < t.ndim; ++i) same = t.sizes[i] == want[i];
  CC_CHECK_ARG(same, op, ": ", name, " has shape ", shape_str(t), ", expected ",
               shape_str(want));
}

void check_index_array(const std::string& op, const TensorView& ind,
                       const std::vector<int64_t>& want) {
  if (ind.dtype != DType::i64)
    throw_dtype_error(op, ": indices has dtype ", dtype_name(ind.dtype), "; expected int64");
  check_shape(op, "indices", ind, want);
}

std::vector<int64_t> layout_shape(int64_t n, int64_t c, int64_t h, int64_t w, bool nhwc) {
  return nhwc ? std::vector<int64_t>{n, h, w, c} : std::vector<int64_t>{n, c, h, w};
}

// An array the host can read: t itself, or a host copy of a device array
// (C-contiguous, as the bindings pass them).
struct HostReadable {
  std::vector<double> storage;
  TensorView view;
};

HostReadable host_readable(const TensorView& t) {
  HostReadable h;
  h.view = t;
  if (on_cuda(t)) {
    const int64_t bytes = t.numel() * static_cast<int64_t>(dtype_size(t.dtype));
    h.storage.resize(static_cast<size_t>((bytes + 7) / 8));
    if (bytes > 0) cuda::copy_device_to_host(h.storage.data(), t.data, bytes, t.device_index);
    h.view.data = h.storage.data();
    h.view.device = Device::cpu;
  }
  return h;
}

template <class Fn>
void for_dtype(DType dt, const Fn& fn) {
  if (dt == DType::f32)
    fn(float{});
  else
    fn(double{});
}

// The bin-pooling drivers of one device. cpu/adaptive_pool.h and its CUDA
// twin share their signatures, so each entry's choice among them is written
// once, for whichever device the arrays are on.
#define CC_BIN_DRIVER(name)                        \
  template <class... A>                            \
  static void name(A&&... a) {                     \
    NS::name(std::forward<A>(a)...);               \
  }
#define CC_BIN_DRIVERS                             \
  CC_BIN_DRIVER(copy_elements)                     \
  CC_BIN_DRIVER(global_avg_pool_planes)            \
  CC_BIN_DRIVER(global_avg_pool_planes_backward)   \
  CC_BIN_DRIVER(pool_bins_forward)                 \
  CC_BIN_DRIVER(pool_bins_backward)                \
  CC_BIN_DRIVER(max_unpool_forward)                \
  CC_BIN_DRIVER(max_unpool_backward)
struct CpuBins {
#define NS cpu
  CC_BIN_DRIVERS
#undef NS
};
struct CudaBins {
#define NS cuda
  CC_BIN_DRIVERS
#undef NS
};
#undef CC_BIN_DRIVERS
#undef CC_BIN_DRIVER

// body(T{}, Drivers{}) for x's float type and device.
template <class Body>
void with_bin_drivers(const TensorView& x, Body&& body) {
  on_device_of(
      x, x.dtype, [&](auto t) { body(t, CudaBins{}); }, [&](auto t) { body(t, CpuBins{}); });
}

cpu::PooledOutput adaptive_output(const Act4& xa, const TensorView& y, bool nhwc,
                                  int64_t* indices) {
  cpu::PooledOutput out;
  out.out = act4_of(y, nhwc);
  out.grids.push_back({adaptive_spans(xa.h, out.out.h), adaptive_spans(xa.w, out.out.w)});
  out.data = y.data;
  out.indices = indices;
  return out;
}

// Level l's part of the pyramid vector y (N, total): a (N, C, l, l) block at
// column `offset`, C-major whatever x's layout.
cpu::PooledOutput pyramid_level(const Act4& xa, const TensorView& y, const TensorView* indices,
                                int64_t l, int64_t offset) {
  cpu::PooledOutput out;
  const int64_t total = y.sizes[1];
  out.out = {xa.n, xa.c, l, l, total, l * l, l, 1};
  out.grids.push_back({adaptive_spans(xa.h, l), adaptive_spans(xa.w, l)});
  out.data = static_cast<char*>(y.data) + offset * dtype_size(y.dtype);
  if (indices) out.indices = indices->ptr<int64_t>() + offset;
  return out;
}

std::vector<cpu::PooledOutput> pyramid(const Act4& xa, const TensorView& y,
                                       const TensorView* indices,
                                       const std::vector<int64_t>& levels) {
  std::vector<cpu::PooledOutput> outs;
  int64_t offset = 0;
  for (int64_t l : levels) {
    outs.push_back(pyramid_level(xa, y, indices, l, offset));
    offset += xa.c * l * l;
  }
  return outs;
}

template <class T>
cpu::PooledOutput roi_output(const Act4& xa, const TensorView& boxes, const TensorView& y,
                             bool nhwc, double spatial_scale) {
  cpu::PooledOutput out;
  out.out = act4_of(y, nhwc);
  const T* b = boxes.ptr<T>();
  const T scale = static_cast<T>(spatial_scale);
  for (int64_t k = 0; k < boxes.sizes[0]; ++k, b += 5) {
    out.image.push_back(static_cast<int64_t>(b[0]));
    out.grids.push_back({roi_spans<T>(b[2], b[4], scale, out.out.h, xa.h),
                         roi_spans<T>(b[1], b[3], scale, out.out.w, xa.w)});
  }
  out.data = y.data;
  return out;
}

void check_pyramid_indices(const std::string& op, PoolReduce reduce, const TensorView* indices,
                           const TensorView& pooled) {
  if (!indices) return;
  CC_CHECK_ARG(reduce == PoolReduce::max, op, ": indices exist only for mode 'max'");
  check_index_array(op, *indices, {pooled.sizes[0], pooled.sizes[1]});
}

// Every bin is one pixel: pooling is a copy (without indices to fill).
bool one_pixel_bins(const Act4& xa, const Act4& ya) { return xa.h == ya.h && xa.w == ya.w; }

bool global_planes(PoolReduce reduce, const Act4& ya, bool nhwc) {
  return reduce == PoolReduce::avg && ya.h == 1 && ya.w == 1 && !nhwc;
}

}  // namespace

std::vector<int64_t> pooled_shape(const std::string& op, const TensorView& x, bool nhwc,
                                  int64_t oh, int64_t ow) {
  check_float_input(op, x);
  const Act4 xa = act4_of(x, nhwc);
  CC_CHECK_ARG(xa.c > 0 && xa.h > 0 && xa.w > 0, op,
               ": input must have non-zero channels and spatial sizes, got shape ", shape_str(x));
  check_pooled_size(oh, op, "output_size (height)");
  check_pooled_size(ow, op, "output_size (width)");
  return layout_shape(xa.n, xa.c, oh, ow, nhwc);
}

void adaptive_pool2d(const std::string& op, PoolReduce reduce, const TensorView& x, bool nhwc,
                     const TensorView& y, const TensorView* indices) {
  const Act4 xa = act4_of(x, nhwc), ya = act4_of(y, nhwc);
  check_same_dtype(op, "out", y, x);
  check_shape(op, "out", y, pooled_shape(op, x, nhwc, ya.h, ya.w));
  if (indices) check_index_array(op, *indices, layout_shape(ya.n, ya.c, ya.h, ya.w, nhwc));
  check_same_device(op, {{"input", &x}, {"out", &y}, {"indices", indices}});
  with_bin_drivers(x, [&](auto t, auto drivers) {
    using T = decltype(t);
    using D = decltype(drivers);
    if (one_pixel_bins(xa, ya) && !indices)
      D::copy_elements(x.ptr<T>(), x.numel(), y.ptr<T>());
    else if (global_planes(reduce, ya, nhwc) && !indices)
      D::global_avg_pool_planes(x.ptr<T>(), xa.n * xa.c, xa.h * xa.w, y.ptr<T>());
    else
      D::pool_bins_forward(reduce, x.ptr<T>(), xa,
                           adaptive_output(xa, y, nhwc, indices ? indices->ptr<int64_t>() : nullptr));
  });
}

void adaptive_pool2d_backward(const std::string& op, PoolReduce reduce,
                              const TensorView& grad_output, const TensorView& x,
                              const TensorView* indices, bool nhwc, int64_t oh, int64_t ow,
                              const TensorView& grad_input) {
  check_same_dtype(op, "grad_output", grad_output, x);
  check_shape(op, "grad_output", grad_output, pooled_shape(op, x, nhwc, oh, ow));
  const Act4 xa = act4_of(x, nhwc), ga = act4_of(grad_output, nhwc);
  if (indices) check_index_array(op, *indices, layout_shape(ga.n, ga.c, ga.h, ga.w, nhwc));
  check_same_dtype(op, "out", grad_input, x);
  check_shape(op, "out", grad_input, layout_shape(xa.n, xa.c, xa.h, xa.w, nhwc));
  check_same_device(op, {{"grad_output", &grad_output},
                         {"input", &x},
                         {"indices", indices},
                         {"out", &grad_input}});
  with_bin_drivers(x, [&](auto t, auto drivers) {
    using T = decltype(t);
    using D = decltype(drivers);
    if (one_pixel_bins(xa, ga) && !indices) {
      D::copy_elements(grad_output.ptr<T>(), x.numel(), grad_input.ptr<T>());
      return;
    }
    if (global_planes(reduce, ga, nhwc)) {
      D::global_avg_pool_planes_backward(grad_output.ptr<T>(), xa.n * xa.c, xa.h * xa.w,
                                         grad_input.ptr<T>());
      return;
    }
    cpu::PooledOutput g = adaptive_output(xa, grad_output, nhwc,
                                          indices ? indices->ptr<int64_t>() : nullptr);
    D::pool_bins_backward(reduce, std::vector<cpu::PooledOutput>{g}, x.ptr<T>(), xa,
                          grad_input.ptr<T>(), op);
  });
}

void spatial_pyramid_pool2d(const std::string& op, PoolReduce reduce, const TensorView& x,
                            bool nhwc, const std::vector<int64_t>& levels, const TensorView& y,
                            const TensorView* indices) {
  pooled_shape(op, x, nhwc, 1, 1);
  const Act4 xa = act4_of(x, nhwc);
  check_same_dtype(op, "out", y, x);
  check_shape(op, "out", y, {xa.n, xa.c * pyramid_bins(levels, op)});
  check_pyramid_indices(op, reduce, indices, y);
  check_same_device(op, {{"input", &x}, {"out", &y}, {"indices", indices}});
  with_bin_drivers(x, [&](auto t, auto drivers) {
    using T = decltype(t);
    using D = decltype(drivers);
    for (const cpu::PooledOutput& level : pyramid(xa, y, indices, levels))
      D::pool_bins_forward(reduce, x.ptr<T>(), xa, level);
  });
}

void spatial_pyramid_pool2d_backward(const std::string& op, PoolReduce reduce,
                                     const TensorView& grad_output, const TensorView& x,
                                     bool nhwc, const std::vector<int64_t>& levels,
                                     const TensorView* indices, const TensorView& grad_input) {
  pooled_shape(op, x, nhwc, 1, 1);
  const Act4 xa = act4_of(x, nhwc);
  check_same_dtype(op, "grad_output", grad_output, x);
  check_shape(op, "grad_output", grad_output, {xa.n, xa.c * pyramid_bins(levels, op)});
  check_pyramid_indices(op, reduce, indices, grad_output);
  check_same_dtype(op, "out", grad_input, x);
  check_shape(op, "out", grad_input, layout_shape(xa.n, xa.c, xa.h, xa.w, nhwc));
  check_same_device(op, {{"grad_output", &grad_output},
                         {"input", &x},
                         {"indices", indices},
                         {"out", &grad_input}});
  with_bin_drivers(x, [&](auto t, auto drivers) {
    using T = decltype(t);
    using D = decltype(drivers);
    D::pool_bins_backward(reduce, pyramid(xa, grad_output, indices, levels), x.ptr<T>(), xa,
                          grad_input.ptr<T>(), op);
  });
}

std::vector<int64_t> roi_pool_shape(const std::string& op, const TensorView& x,
                                    const TensorView& boxes, bool nhwc, int64_t ph, int64_t pw,
                                    double spatial_scale) {
  check_float_input(op, x);
  if (boxes.dtype == DType::i64)
    throw_dtype_error(op, ": boxes has dtype int64; expected ", dtype_name(x.dtype),
                      " (the input's dtype)");
  check_same_dtype(op, "boxes", boxes, x);
  CC_CHECK_ARG(boxes.ndim == 2 && boxes.sizes[1] == 5, op,
               ": boxes must have shape (K, 5) with rows (batch_index, x1, y1, x2, y2), got ",
               shape_str(boxes));
  check_pooled_size(ph, op, "output_size (height)");
  check_pooled_size(pw, op, "output_size (width)");
  CC_CHECK_ARG(std::isfinite(spatial_scale) && spatial_scale > 0, op,
               ": spatial_scale must be positive and finite, got ", spatial_scale);
  check_same_device(op, {{"input", &x}, {"boxes", &boxes}});
  const Act4 xa = act4_of(x, nhwc);
  const HostReadable host = host_readable(boxes);
  for_dtype(x.dtype, [&](auto t) {
    using T = decltype(t);
    const T* b = host.view.ptr<T>();
    for (int64_t k = 0; k < boxes.sizes[0]; ++k, b += 5) {
      const T i = b[0];
      CC_CHECK_ARG(std::floor(i) == i && i >= 0 && i < static_cast<T>(xa.n), op,
                   ": boxes[", k, ", 0] (batch index) must be an integer in [0, ", xa.n,
                   "), got ", i);
      for (int j = 1; j < 5; ++j)
        CC_CHECK_ARG(std::isfinite(b[j]), op, ": boxes[", k, ", ", j,
                     "] must be finite, got ", b[j]);
    }
  });
  return layout_shape(boxes.sizes[0], xa.c, ph, pw, nhwc);
}

void roi_pool(const std::string& op, const TensorView& x, const TensorView& boxes, bool nhwc,
              double spatial_scale, const TensorView& y) {
  const Act4 ya = act4_of(y, nhwc);
  check_same_dtype(op, "out", y, x);
  check_shape(op, "out", y, roi_pool_shape(op, x, boxes, nhwc, ya.h, ya.w, spatial_scale));
  check_same_device(op, {{"input", &x}, {"boxes", &boxes}, {"out", &y}});
  const Act4 xa = act4_of(x, nhwc);
  const HostReadable host = host_readable(boxes);
  with_bin_drivers(x, [&](auto t, auto drivers) {
    using T = decltype(t);
    using D = decltype(drivers);
    D::pool_bins_forward(PoolReduce::max, x.ptr<T>(), xa,
                         roi_output<T>(xa, host.view, y, nhwc, spatial_scale));
  });
}

void roi_pool_backward(const std::string& op, const TensorView& grad_output,
                       const TensorView& x, const TensorView& boxes, bool nhwc, int64_t ph,
                       int64_t pw, double spatial_scale, const TensorView& grad_input) {
  check_same_dtype(op, "grad_output", grad_output, x);
  check_shape(op, "grad_output", grad_output,
              roi_pool_shape(op, x, boxes, nhwc, ph, pw, spatial_scale));
  const Act4 xa = act4_of(x, nhwc);
  check_same_dtype(op, "out", grad_input, x);
  check_shape(op, "out", grad_input, layout_shape(xa.n, xa.c, xa.h, xa.w, nhwc));
  check_same_device(op, {{"grad_output", &grad_output},
                         {"input", &x},
                         {"boxes", &boxes},
                         {"out", &grad_input}});
  const HostReadable host = host_readable(boxes);
  with_bin_drivers(x, [&](auto t, auto drivers) {
    using T = decltype(t);
    using D = decltype(drivers);
    const cpu::PooledOutput bins = roi_output<T>(xa, host.view, grad_output, nhwc, spatial_scale);
    D::pool_bins_backward(PoolReduce::max, std::vector<cpu::PooledOutput>{bins}, x.ptr<T>(), xa,
                          grad_input.ptr<T>(), op);
  });
}

std::vector<int64_t> max_unpool_shape(const std::string& op, const TensorView& x,
                                      const TensorView& indices, bool nhwc,
                                      const std::vector<int64_t>& size) {
  check_float_input(op, x);
  check_index_array(op, indices, std::vector<int64_t>(x.sizes.begin(), x.sizes.begin() + 4));
  const Act4 xa = act4_of(x, nhwc);
  return layout_shape(xa.n, xa.c, size[0], size[1], nhwc);
}

void max_unpool2d(const std::string& op, const TensorView& x, const TensorView& indices,
                  bool nhwc, const TensorView& y) {
  const Act4 ya = act4_of(y, nhwc);
  check_same_dtype(op, "out", y, x);
  check_shape(op, "out", y, max_unpool_shape(op, x, indices, nhwc, {ya.h, ya.w}));
  check_same_device(op, {{"input", &x}, {"indices", &indices}, {"out", &y}});
  const Act4 xa = act4_of(x, nhwc);
  with_bin_drivers(x, [&](auto t, auto drivers) {
    using T = decltype(t);
    using D = decltype(drivers);
    D::max_unpool_forward(x.ptr<T>(), indices.ptr<int64_t>(), xa, y.ptr<T>(), ya, op);
  });
}

void max_unpool2d_backward(const std::string& op, const TensorView& grad_output,
                           const TensorView& x, const TensorView& indices, bool nhwc,
                           const std::vector<int64_t>& size, const TensorView& grad_input) {
  check_same_dtype(op, "grad_output", grad_output, x);
  check_shape(op, "grad_output", grad_output, max_unpool_shape(op, x, indices, nhwc, size));
  check_same_dtype(op, "out", grad_input, x);
  check_shape(op, "out", grad_input, std::vector<int64_t>(x.sizes.begin(), x.sizes.begin() + 4));
  check_same_device(op, {{"grad_output", &grad_output},
                         {"input", &x},
                         {"indices", &indices},
                         {"out", &grad_input}});
  const Act4 ga = act4_of(grad_output, nhwc), xa = act4_of(x, nhwc);
  with_bin_drivers(x, [&](auto t, auto drivers) {
    using T = decltype(t);
    using D = decltype(drivers);
    D::max_unpool_backward(grad_output.ptr<T>(), ga, indices.ptr<int64_t>(), grad_input.ptr<T>(),
                           xa, op);
  });
}

}  // namespace convcore

// SPDX-License-Identifier: MIT
#include "dispatch/dispatch.h"

#include "core/error.h"
#include "core/parallel.h"
#include "cpu/conv.h"
#include "dispatch/math_mode.h"
#include "cuda/conv.h"
#include "dispatch/device.h"

namespace convcore {
namespace {

void check_rank(const ConvParams& p, const char* what, const TensorView& t, int want) {
  const int shown = want == 4 && p.spatial_dims == 1 ? 3 : want;
  CC_CHECK_ARG(t.ndim == want, p.op, ": expected ", what, " to be ", shown, "-D, got a ",
               t.ndim, "-D array of shape ", shape_of(t));
}

void check_dtype(const ConvParams& p, const char* what, const TensorView& t, DType want) {
  if (t.dtype != want)
    throw_dtype_error(p.op, ": ", what, " has dtype ", dtype_name(t.dtype),
                      " but input has dtype ", dtype_name(want), "; they must match");
}

std::array<int64_t, 4> sizes4(const TensorView& t) {
  return {t.sizes[0], t.sizes[1], t.sizes[2], t.sizes[3]};
}

template <class T>
const T* bias_data(const TensorView* bias) {
  return bias ? bias->ptr<T>() : nullptr;
}

// The drivers of one device behind one interface, so that the passes below
// (and the transposed convolution's mapping onto them) are written once.
struct CpuDrivers {
  static constexpr Device device = Device::cpu;
  template <class T>
  static void forward(const ConvProblem& prob, const Choice& c, const TensorView& x,
                      const TensorView& w, const T* bias, const TensorView& y) {
    if (c.algo == Algo::depthwise_direct)
      cpu::conv_depthwise_forward<T>(prob, x, w, bias, y, c.threads);
    else
      cpu::conv_gemm_forward<T>(prob, c.algo == Algo::gemm_1x1, x, w, bias, y, c.threads);
  }
  template <class T>
  static void backward_input(const ConvProblem& prob, const Choice& c, const TensorView& gy,
                             const TensorView& w, const TensorView& gx) {
    if (c.algo == Algo::depthwise_direct)
      cpu::conv_depthwise_backward_input<T>(prob, gy, w, gx, c.threads);
    else
      cpu::conv_gemm_backward_input<T>(prob, c.algo == Algo::gemm_1x1, gy, w, gx, c.threads);
  }
  template <class T>
  static void backward_weight(const ConvProblem& prob, const Choice& c, const TensorView& x,
                              const TensorView& gy, const TensorView& gw) {
    if (c.algo == Algo::depthwise_direct)
      cpu::conv_depthwise_backward_weight<T>(prob, x, gy, gw, c.threads);
    else
      cpu::conv_gemm_backward_weight<T>(prob, x, gy, gw, c.threads);
  }
  template <class T>
  static void sum_per_channel(const TensorView& t, bool nhwc, T* sums) {
    cpu::sum_per_channel<T>(t, nhwc, sums, get_num_threads());
  }
  template <class T>
  static void add_per_channel(const TensorView& t, bool nhwc, const T* values) {
    cpu::add_per_channel<T>(t, nhwc, values, get_num_threads());
  }
};

struct CudaDrivers {
  static constexpr Device device = Device::cuda;
  template <class T>
  static void forward(const ConvProblem& prob, const Choice& c, const TensorView& x,
                      const TensorView& w, const T* bias, const TensorView& y) {
    if (c.algo == Algo::depthwise_direct)
      cuda::conv_depthwise_forward<T>(prob, x, w, bias, y);
    else
      cuda::conv_gemm_forward<T>(prob, c.algo == Algo::gemm_1x1, math_mode(), x, w, bias, y);
  }
  template <class T>
  static void backward_input(const ConvProblem& prob, const Choice& c, const TensorView& gy,
                             const TensorView& w, const TensorView& gx) {
    if (c.algo == Algo::depthwise_direct)
      cuda::conv_depthwise_backward_input<T>(prob, gy, w, gx);
    else
      cuda::conv_gemm_backward_input<T>(prob, c.algo == Algo::gemm_1x1, math_mode(), gy, w, gx);
  }
  template <class T>
  static void backward_weight(const ConvProblem& prob, const Choice& c, const TensorView& x,
                              const TensorView& gy, const TensorView& gw) {
    if (c.algo == Algo::depthwise_direct)
      cuda::conv_depthwise_backward_weight<T>(prob, x, gy, gw);
    else
      cuda::conv_gemm_backward_weight<T>(prob, c.algo == Algo::gemm_1x1, math_mode(), x, gy, gw);
  }
  template <class T>
  static void sum_per_channel(const TensorView& t, bool nhwc, T* sums) {
    cuda::sum_per_channel<T>(t, nhwc, sums);
  }
  template <class T>
  static void add_per_channel(const TensorView& t, bool nhwc, const T* values) {
    cuda::add_per_channel<T>(t, nhwc, values);
  }
};

template <class D, class T>
void run_backward(const ConvProblem& prob, std::optional<Algo> algo,
                  const TensorView& grad_output, const TensorView& input,
                  const TensorView& weight, const TensorView* grad_input,
                  const TensorView* grad_weight, const TensorView* grad_bias) {
  if (grad_input)
    D::template backward_input<T>(prob, select_conv(prob, ConvPass::backward_input, algo, D::device),
                                  grad_output, weight, *grad_input);
  if (grad_weight)
    D::template backward_weight<T>(prob,
                                   select_conv(prob, ConvPass::backward_weight, algo, D::device),
                                   input, grad_output, *grad_weight);
  if (grad_bias) D::template sum_per_channel<T>(grad_output, prob.p.nhwc, grad_bias->ptr<T>());
}

// A transposed convolution runs the passes of the convolution it is the
// adjoint of (ops/conv_params.h): its forward is that convolution's
// backward-input pass, its input gradient that convolution's forward, and
// its weight gradient the same weight-gradient pass with input and
// grad_output swapped.
template <class D, class T>
void run_transpose_forward(const ConvProblem& prob, const Choice& c, const TensorView& input,
                           const TensorView& weight, const TensorView* bias,
                           const TensorView& output) {
  D::template backward_input<T>(prob, c, input, weight, output);
  if (bias) D::template add_per_channel<T>(output, prob.p.nhwc, bias->ptr<T>());
}

template <class D, class T>
void run_transpose_backward(const ConvProblem& prob, std::optional<Algo> algo,
                            const TensorView& grad_output, const TensorView& input,
                            const TensorView& weight, const TensorView* grad_input,
                            const TensorView* grad_weight, const TensorView* grad_bias) {
  if (grad_input)
    D::template forward<T>(prob, select_conv(prob, ConvPass::forward, algo, D::device),
                           grad_output, weight, nullptr, *grad_input);
  if (grad_weight)
    D::template backward_weight<T>(prob,
                                   select_conv(prob, ConvPass::backward_weight, algo, D::device),
                                   grad_output, input, *grad_weight);
  if (grad_bias) D::template sum_per_channel<T>(grad_output, prob.p.nhwc, grad_bias->ptr<T>());
}

// Runs body(Drivers{}, T{}) for the call's device and dtype.
template <class Body>
void on_device(const TensorView& input, DType dtype, Body&& body) {
  on_device_of(
      input, dtype, [&](auto zero) { body(CudaDrivers{}, zero); },
      [&](auto zero) { body(CpuDrivers{}, zero); });
}

void check_operands(const ConvParams& p, const TensorView& input, const TensorView& weight,
                    const TensorView* bias) {
  check_rank(p, "input", input, 4);
  check_rank(p, "weight", weight, 4);
  check_dtype(p, "weight", weight, input.dtype);
  if (bias) {
    check_rank(p, "bias", *bias, 1);
    check_dtype(p, "bias", *bias, input.dtype);
  }
}

// The arrays of a backward call against the problem: grad_output shaped like
// the forward's output, the gradients like what they differentiate.
void check_gradients(const ConvProblem& prob, const TensorView& grad_output,
                     const std::array<int64_t, 4>& output_nchw, const TensorView* grad_input,
                     const std::array<int64_t, 4>& input_nchw, const TensorView* grad_weight,
                     const TensorView* grad_bias, int64_t channels) {
  const ConvParams& p = prob.p;
  check_dtype(p, "grad_output", grad_output, prob.dtype);
  check_rank(p, "grad_output", grad_output, 4);
  check_shape(prob, "grad_output", grad_output, output_nchw);
  if (grad_input) check_shape(prob, "grad_input", *grad_input, input_nchw);
  if (grad_weight) check_shape(prob, "grad_weight", *grad_weight, weight_shape(prob));
  if (grad_bias) {
    check_rank(p, "grad_bias", *grad_bias, 1);
    CC_CHECK_ARG(grad_bias->sizes[0] == channels, p.op, ": grad_bias has ", grad_bias->sizes[0],
                 " elements, expected ", channels);
  }
}

}  // namespace

ConvProblem conv_problem(const ConvParams& p, const TensorView& input, const TensorView& weight,
                         const TensorView* bias) {
  check_operands(p, input, weight, bias);
  return make_conv_problem(p, input.dtype, sizes4(input), sizes4(weight),
                           bias ? bias->sizes[0] : -1);
}

Choice conv2d_forward(const ConvParams& p, const TensorView& input, const TensorView& weight,
                      const TensorView* bias, const TensorView& output, std::optional<Algo> algo) {
  check_same_device(p.op, {{"input", &input}, {"weight", &weight}, {"bias", bias},
                           {"out", &output}});
  const ConvProblem prob = conv_problem(p, input, weight, bias);
  check_dtype(p, "output", output, input.dtype);
  check_shape(prob, "output", output, output_shape_nchw(prob));
  const Choice choice = select_conv(prob, ConvPass::forward, algo, input.device);
  on_device(input, prob.dtype, [&](auto drivers, auto zero) {
    using D = decltype(drivers);
    using T = decltype(zero);
    D::template forward<T>(prob, choice, input, weight, bias_data<T>(bias), output);
  });
  return choice;
}

void conv2d_backward(const ConvParams& p, const TensorView& grad_output,
                     const TensorView& input, const TensorView& weight,
                     const TensorView* grad_input, const TensorView* grad_weight,
                     const TensorView* grad_bias, std::optional<Algo> algo) {
  check_same_device(p.op, {{"input", &input}, {"weight", &weight}, {"grad_output", &grad_output},
                           {"grad_input", grad_input}, {"grad_weight", grad_weight},
                           {"grad_bias", grad_bias}});
  const ConvProblem prob = conv_problem(p, input, weight, nullptr);
  check_gradients(prob, grad_output, output_shape_nchw(prob), grad_input, input_shape_nchw(prob),
                  grad_weight, grad_bias, prob.cout);
  on_device(input, prob.dtype, [&](auto drivers, auto zero) {
    using D = decltype(drivers);
    using T = decltype(zero);
    run_backward<D, T>(prob, algo, grad_output, input, weight, grad_input, grad_weight,
                       grad_bias);
  });
}

ConvProblem conv_transpose_problem(const ConvParams& p, const TensorView& input,
                                   const TensorView& weight, const TensorView* bias) {
  check_operands(p, input, weight, bias);
  return make_conv_transpose_problem(p, input.dtype, sizes4(input), sizes4(weight),
                                     bias ? bias->sizes[0] : -1);
}

Choice conv_transpose2d_forward(const ConvParams& p, const TensorView& input,
                                const TensorView& weight, const TensorView* bias,
                                const TensorView& output, std::optional<Algo> algo) {
  check_same_device(p.op, {{"input", &input}, {"weight", &weight}, {"bias", bias},
                           {"out", &output}});
  const ConvProblem prob = conv_transpose_problem(p, input, weight, bias);
  check_dtype(p, "output", output, input.dtype);
  check_shape(prob, "output", output, input_shape_nchw(prob));
  const Choice choice = select_conv(prob, ConvPass::backward_input, algo, input.device);
  on_device(input, prob.dtype, [&](auto drivers, auto zero) {
    using D = decltype(drivers);
    using T = decltype(zero);
    run_transpose_forward<D, T>(prob, choice, input, weight, bias, output);
  });
  return choice;
}

void conv_transpose2d_backward(const ConvParams& p, const TensorView& grad_output,
                               const TensorView& input, const TensorView& weight,
                               const TensorView* grad_input, const TensorView* grad_weight,
                               const TensorView* grad_bias, std::optional<Algo> algo) {
  check_same_device(p.op, {{"input", &input}, {"weight", &weight}, {"grad_output", &grad_output},
                           {"grad_input", grad_input}, {"grad_weight", grad_weight},
                           {"grad_bias", grad_bias}});
  const ConvProblem prob = conv_transpose_problem(p, input, weight, nullptr);
  check_gradients(prob, grad_output, input_shape_nchw(prob), grad_input, output_shape_nchw(prob),
                  grad_weight, grad_bias, prob.cin);
  on_device(input, prob.dtype, [&](auto drivers, auto zero) {
    using D = decltype(drivers);
    using T = decltype(zero);
    run_transpose_backward<D, T>(prob, algo, grad_output, input, weight, grad_input,
                                 grad_weight, grad_bias);
  });
}

}  // namespace convcore

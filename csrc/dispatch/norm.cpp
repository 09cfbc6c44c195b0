// SPDX-License-Identifier: MIT
#include "dispatch/norm.h"

#include "core/error.h"
#include "core/parallel.h"
#include "cpu/norm.h"
#include "cuda/norm.h"
#include "dispatch/device.h"

namespace convcore {
namespace {

void check_dtype(const std::string& op, const char* what, const TensorView& t, DType want) {
  if (t.dtype != want)
    throw_dtype_error(op, ": ", what, " has dtype ", dtype_name(t.dtype), " but input has dtype ",
                      dtype_name(want), "; they must match");
}

void check_same_shape(const std::string& op, const char* what, const TensorView& t,
                      const TensorView& input) {
  bool same = t.ndim == input.ndim;
  for (int i = 0; same && i < t.ndim; ++i) same = t.sizes[i] == input.sizes[i];
  CC_CHECK_ARG(same, op, ": ", what, " has shape ", shape_of(t), ", expected the input's shape ",
               shape_of(input));
  check_dtype(op, what, t, input.dtype);
}

// A (C,) array of the input's dtype.
void check_per_channel(const std::string& op, const char* what, const TensorView* t,
                       int64_t channels, DType dtype) {
  if (!t) return;
  CC_CHECK_ARG(t->ndim == 1 && t->sizes[0] == channels, op, ": ", what,
               " must have shape [", channels, "] (one value per input channel), got ",
               shape_of(*t));
  check_dtype(op, what, *t, dtype);
}

template <class T>
T* data_of(const TensorView* t) {
  return t ? t->ptr<T>() : nullptr;
}

template <class T>
void run_forward(const BatchNormParams& p, const NormShape& s, const TensorView& input,
                 const BatchNormOperands& ops, const TensorView& output,
                 const TensorView* save_mean, const TensorView* save_invstd) {
  cpu::BatchNormForwardArgs<T> a;
  a.x = input.ptr<T>();
  a.y = output.ptr<T>();
  a.running_mean = data_of<T>(ops.running_mean);
  a.running_var = data_of<T>(ops.running_var);
  a.weight = data_of<T>(ops.weight);
  a.bias = data_of<T>(ops.bias);
  a.save_mean = data_of<T>(save_mean);
  a.save_invstd = data_of<T>(save_invstd);
  on_device_of(
      input, input.dtype, [&](auto) { cuda::batch_norm_forward(p, s, a, input.device_index); },
      [&](auto) { cpu::batch_norm_forward(p, s, a, get_num_threads()); });
}

template <class T>
void run_backward(const BatchNormParams& p, const NormShape& s, const TensorView& grad_output,
                  const TensorView& input, const BatchNormOperands& ops,
                  const TensorView* save_mean, const TensorView* save_invstd,
                  const TensorView* grad_input, const TensorView* grad_weight,
                  const TensorView* grad_bias) {
  cpu::BatchNormBackwardArgs<T> a;
  a.dy = grad_output.ptr<T>();
  a.x = input.ptr<T>();
  a.running_mean = data_of<T>(ops.running_mean);
  a.running_var = data_of<T>(ops.running_var);
  a.weight = data_of<T>(ops.weight);
  a.save_mean = data_of<T>(save_mean);
  a.save_invstd = data_of<T>(save_invstd);
  a.dx = data_of<T>(grad_input);
  a.dweight = data_of<T>(grad_weight);
  a.dbias = data_of<T>(grad_bias);
  on_device_of(
      input, input.dtype, [&](auto) { cuda::batch_norm_backward(p, s, a, input.device_index); },
      [&](auto) { cpu::batch_norm_backward(p, s, a, get_num_threads()); });
}

}  // namespace

NormShape batch_norm_check(const BatchNormParams& p, const TensorView& input,
                           const BatchNormOperands& ops) {
  validate(p);
  CC_CHECK_ARG(input.ndim >= 2 && input.ndim <= 4, p.op,
               ": expected input to be 2-D (N, C), 3-D or 4-D, got a ", input.ndim,
               "-D array of shape ", shape_of(input));
  CC_CHECK_ARG((ops.running_mean == nullptr) == (ops.running_var == nullptr), p.op,
               ": running_mean and running_var must both be given or both be None");
  CC_CHECK_ARG(p.training || ops.running_mean, p.op,
               ": running_mean and running_var are required when training=False");
  const NormShape s = norm_shape(input, p.channels_last);
  check_per_channel(p.op, "running_mean", ops.running_mean, s.channels, input.dtype);
  check_per_channel(p.op, "running_var", ops.running_var, s.channels, input.dtype);
  check_per_channel(p.op, "weight", ops.weight, s.channels, input.dtype);
  check_per_channel(p.op, "bias", ops.bias, s.channels, input.dtype);
  check_batch_norm_count(p, input, s.per_channel());
  return s;
}

void batch_norm_forward(const BatchNormParams& p, const TensorView& input,
                        const BatchNormOperands& ops, const TensorView& output,
                        const TensorView* save_mean, const TensorView* save_invstd) {
  const NormShape s = batch_norm_check(p, input, ops);
  check_same_shape(p.op, "output", output, input);
  check_per_channel(p.op, "save_mean", save_mean, s.channels, input.dtype);
  check_per_channel(p.op, "save_invstd", save_invstd, s.channels, input.dtype);
  check_same_device(p.op, {{"input", &input},
                           {"running_mean", ops.running_mean},
                           {"running_var", ops.running_var},
                           {"weight", ops.weight},
                           {"bias", ops.bias},
                           {"output", &output},
                           {"save_mean", save_mean},
                           {"save_invstd", save_invstd}});
  if (input.dtype == DType::f32)
    run_forward<float>(p, s, input, ops, output, save_mean, save_invstd);
  else
    run_forward<double>(p, s, input, ops, output, save_mean, save_invstd);
}

void batch_norm_backward(const BatchNormParams& p, const TensorView& grad_output,
                         const TensorView& input, const BatchNormOperands& ops,
                         const TensorView* save_mean, const TensorView* save_invstd,
                         const TensorView* grad_input, const TensorView* grad_weight,
                         const TensorView* grad_bias) {
  const NormShape s = batch_norm_check(p, input, ops);
  check_same_shape(p.op, "grad_output", grad_output, input);
  CC_CHECK_ARG((save_mean == nullptr) == (save_invstd == nullptr), p.op,
               ": save_mean and save_invstd must both be given or both be None");
  check_per_channel(p.op, "save_mean", save_mean, s.channels, input.dtype);
  check_per_channel(p.op, "save_invstd", save_invstd, s.channels, input.dtype);
  if (grad_input) check_same_shape(p.op, "grad_input", *grad_input, input);
  check_per_channel(p.op, "grad_weight", grad_weight, s.channels, input.dtype);
  check_per_channel(p.op, "grad_bias", grad_bias, s.channels, input.dtype);
  check_same_device(p.op, {{"input", &input},
                           {"grad_output", &grad_output},
                           {"running_mean", ops.running_mean},
                           {"running_var", ops.running_var},
                           {"weight", ops.weight},
                           {"save_mean", save_mean},
                           {"save_invstd", save_invstd},
                           {"grad_input", grad_input},
                           {"grad_weight", grad_weight},
                           {"grad_bias", grad_bias}});
  if (input.dtype == DType::f32)
    run_backward<float>(p, s, grad_output, input, ops, save_mean, save_invstd, grad_input,
                        grad_weight, grad_bias);
  else
    run_backward<double>(p, s, grad_output, input, ops, save_mean, save_invstd, grad_input,
                         grad_weight, grad_bias);
}

NormShape lrn_check(const LrnParams& p, const TensorView& input) {
  validate(p);
  CC_CHECK_ARG(input.ndim == 3 || input.ndim == 4, p.op,
               ": expected input to be 3-D or 4-D, got a ", input.ndim, "-D array of shape ",
               shape_of(input));
  return norm_shape(input, p.channels_last);
}

void local_response_norm(const LrnParams& p, const TensorView& input, const TensorView& output) {
  const NormShape s = lrn_check(p, input);
  check_same_shape(p.op, "output", output, input);
  check_same_device(p.op, {{"input", &input}, {"output", &output}});
  on_device_of(
      input, input.dtype,
      [&](auto t) {
        using T = decltype(t);
        cuda::lrn_forward<T>(p, s, input.ptr<T>(), output.ptr<T>(), input.device_index);
      },
      [&](auto t) {
        using T = decltype(t);
        cpu::lrn_forward<T>(p, s, input.ptr<T>(), output.ptr<T>(), get_num_threads());
      });
}

void local_response_norm_backward(const LrnParams& p, const TensorView& grad_output,
                                  const TensorView& input, const TensorView& grad_input) {
  const NormShape s = lrn_check(p, input);
  check_same_shape(p.op, "grad_output", grad_output, input);
  check_same_shape(p.op, "grad_input", grad_input, input);
  check_same_device(p.op,
                    {{"input", &input}, {"grad_output", &grad_output}, {"grad_input", &grad_input}});
  on_device_of(
      input, input.dtype,
      [&](auto t) {
        using T = decltype(t);
        cuda::lrn_backward<T>(p, s, grad_output.ptr<T>(), input.ptr<T>(), grad_input.ptr<T>(),
                              input.device_index);
      },
      [&](auto t) {
        using T = decltype(t);
        cpu::lrn_backward<T>(p, s, grad_output.ptr<T>(), input.ptr<T>(), grad_input.ptr<T>(),
                             get_num_threads());
      });
}

}  // namespace convcore

// SPDX-License-Identifier: MIT
#include "dispatch/layers.h"

#include "core/error.h"
#include "core/parallel.h"
#include "cpu/layers.h"
#include "cuda/dropout.h"
#include "cuda/layers.h"
#include "cuda/linear.h"
#include "dispatch/device.h"
#include "dispatch/math_mode.h"

namespace convcore {
namespace {

void check_same_dtype(const char* op, const TensorView& ref, const char* ref_name,
                      const TensorView& t, const char* name) {
  if (t.dtype != ref.dtype)
    throw_dtype_error(op, ": ", name, " has dtype ", dtype_name(t.dtype), " but ", ref_name,
                      " has dtype ", dtype_name(ref.dtype), "; they must match");
}

void check_numel(const char* op, const TensorView& ref, const char* ref_name, const TensorView& t,
                 const char* name) {
  CC_CHECK_ARG(t.numel() == ref.numel(), op, ": ", name, " has ", t.numel(), " elements but ",
               ref_name, " has ", ref.numel(), "; they must have the same shape");
}

// Same dtype and element count as ref.
void check_like(const char* op, const TensorView& ref, const char* ref_name, const TensorView& t,
                const char* name) {
  check_same_dtype(op, ref, ref_name, t, name);
  check_numel(op, ref, ref_name, t, name);
}

// The arrays of an elementwise backward pass (activations, softmax): alike in
// dtype and size, all on one device; output (the forward's result) may be null.
void check_elementwise_backward(const char* op, const TensorView& grad_output,
                                const TensorView& x, const TensorView* output,
                                const TensorView& grad_input) {
  check_like(op, grad_output, "grad_output", x, "input");
  if (output) check_like(op, grad_output, "grad_output", *output, "output");
  check_like(op, grad_output, "grad_output", grad_input, "grad_input");
  check_same_device(op, {{"grad_output", &grad_output},
                         {"input", &x},
                         {"output", output},
                         {"grad_input", &grad_input}});
}

template <class T>
const T* data_or_null(const TensorView* t) {
  return t ? t->ptr<T>() : nullptr;
}

[[noreturn]] void throw_bad_target(const char* op, int64_t value, int64_t index, int64_t classes,
                                   int64_t ignore_index) {
  throw_argument_error(op, ": target value ", value, " (at flat index ", index, ") is out of range for ",
                       classes, " classes; expected 0 <= target < ", classes, " or ignore_index (",
                       ignore_index, ")");
}

// Host targets are checked here; device ones by a kernel whose answer is read
// back (cuda::find_bad_target), with the same message.
void check_targets(const char* op, const TensorView& target, int64_t classes, int64_t ignore_index) {
  if (target.dtype != DType::i64)
    throw_dtype_error(op, ": target has dtype ", dtype_name(target.dtype), "; expected int64");
#if CONVCORE_WITH_CUDA
  if (on_cuda(target)) {
    cuda::DeviceGuard guard(target.device_index);
    const cuda::BadTarget bad =
        cuda::find_bad_target(target.ptr<int64_t>(), target.numel(), classes, ignore_index);
    if (bad.index >= 0) throw_bad_target(op, bad.value, bad.index, classes, ignore_index);
    return;
  }
#endif
  const int64_t* t = target.ptr<int64_t>();
  for (int64_t i = 0; i < target.numel(); ++i)
    if (!(t[i] == ignore_index || (t[i] >= 0 && t[i] < classes)))
      throw_bad_target(op, t[i], i, classes, ignore_index);
}

int64_t loss_elements(Reduction r, int64_t per_position) {
  return r == Reduction::none ? per_position : 1;
}

}  // namespace

void activation_forward(const char* op, Activation f, const TensorView& x, const TensorView& y,
                        double param) {
  check_like(op, x, "input", y, "output");
  check_same_device(op, {{"input", &x}, {"output", &y}});
  on_device_of(
      x, x.dtype,
      [&](auto t) {
        using T = decltype(t);
        cuda::activation_forward<T>(f, x.numel(), x.ptr<T>(), y.ptr<T>(), static_cast<T>(param));
      },
      [&](auto t) {
        using T = decltype(t);
        cpu::activation_forward<T>(f, x.numel(), x.ptr<T>(), y.ptr<T>(), static_cast<T>(param),
                                   get_num_threads());
      });
}

void activation_backward(const char* op, Activation f, const TensorView& grad_output,
                         const TensorView& x, const TensorView* output,
                         const TensorView& grad_input, double param) {
  check_elementwise_backward(op, grad_output, x, output, grad_input);
  on_device_of(
      x, x.dtype,
      [&](auto t) {
        using T = decltype(t);
        cuda::activation_backward<T>(f, x.numel(), grad_output.ptr<T>(), x.ptr<T>(), data_or_null<T>(output),
                                     grad_input.ptr<T>(), static_cast<T>(param));
      },
      [&](auto t) {
        using T = decltype(t);
        cpu::activation_backward<T>(f, x.numel(), grad_output.ptr<T>(), x.ptr<T>(), data_or_null<T>(output),
                                    grad_input.ptr<T>(), static_cast<T>(param), get_num_threads());
      });
}

void softmax_forward(const char* op, bool log, const SoftmaxShape& s, const TensorView& x,
                     const TensorView& y) {
  check_like(op, x, "input", y, "output");
  check_same_device(op, {{"input", &x}, {"output", &y}});
  on_device_of(
      x, x.dtype,
      [&](auto t) {
        using T = decltype(t);
        cuda::softmax_forward<T>(log, s, x.ptr<T>(), y.ptr<T>());
      },
      [&](auto t) {
        using T = decltype(t);
        cpu::softmax_forward<T>(log, s, x.ptr<T>(), y.ptr<T>(), get_num_threads());
      });
}

void softmax_backward(const char* op, bool log, const SoftmaxShape& s,
                      const TensorView& grad_output, const TensorView& x, const TensorView* output,
                      const TensorView& grad_input) {
  check_elementwise_backward(op, grad_output, x, output, grad_input);
  on_device_of(
      x, x.dtype,
      [&](auto t) {
        using T = decltype(t);
        cuda::softmax_backward<T>(log, s, grad_output.ptr<T>(), x.ptr<T>(), data_or_null<T>(output),
                                  grad_input.ptr<T>());
      },
      [&](auto t) {
        using T = decltype(t);
        cpu::softmax_backward<T>(log, s, grad_output.ptr<T>(), x.ptr<T>(), data_or_null<T>(output),
                                 grad_input.ptr<T>(), get_num_threads());
      });
}

void cross_entropy_forward(const char* op, const SoftmaxShape& s, const TensorView& logits,
                           const TensorView& target, const TensorView* weight,
                           const CrossEntropyParams& p, const TensorView& loss) {
  if (weight) check_same_dtype(op, logits, "input", *weight, "weight");
  check_same_dtype(op, logits, "input", loss, "output");
  check_label_smoothing(op, p.label_smoothing);
  CC_CHECK_ARG(loss.numel() == loss_elements(p.reduction, s.outer * s.inner), op,
               ": output has ", loss.numel(), " elements, expected ",
               loss_elements(p.reduction, s.outer * s.inner));
  check_same_device(op, {{"input", &logits}, {"target", &target}, {"weight", weight}, {"output", &loss}});
  check_targets(op, target, s.classes, p.ignore_index);
  on_device_of(
      logits, logits.dtype,
      [&](auto t) {
        using T = decltype(t);
        cuda::cross_entropy_forward<T>(s, logits.ptr<T>(), target.ptr<int64_t>(), data_or_null<T>(weight), p,
                                       loss.ptr<T>());
      },
      [&](auto t) {
        using T = decltype(t);
        cpu::cross_entropy_forward<T>(s, logits.ptr<T>(), target.ptr<int64_t>(), data_or_null<T>(weight),
                                      p, loss.ptr<T>(), get_num_threads());
      });
}

void cross_entropy_backward(const char* op, const SoftmaxShape& s, const TensorView& grad_output,
                            const TensorView& logits, const TensorView& target,
                            const TensorView* weight, const CrossEntropyParams& p,
                            const TensorView& grad_logits) {
  if (weight) check_same_dtype(op, logits, "input", *weight, "weight");
  check_same_dtype(op, logits, "input", grad_output, "grad_output");
  check_like(op, logits, "input", grad_logits, "grad_input");
  check_label_smoothing(op, p.label_smoothing);
  CC_CHECK_ARG(grad_output.numel() == loss_elements(p.reduction, s.outer * s.inner), op,
               ": grad_output has ", grad_output.numel(), " elements, expected ",
               loss_elements(p.reduction, s.outer * s.inner), " (the loss's shape)");
  check_same_device(op, {{"grad_output", &grad_output},
                         {"input", &logits},
                         {"target", &target},
                         {"weight", weight},
                         {"grad_input", &grad_logits}});
  check_targets(op, target, s.classes, p.ignore_index);
  on_device_of(
      logits, logits.dtype,
      [&](auto t) {
        using T = decltype(t);
        cuda::cross_entropy_backward<T>(s, grad_output.ptr<T>(), logits.ptr<T>(), target.ptr<int64_t>(),
                                        data_or_null<T>(weight), p, grad_logits.ptr<T>());
      },
      [&](auto t) {
        using T = decltype(t);
        cpu::cross_entropy_backward<T>(s, grad_output.ptr<T>(), logits.ptr<T>(), target.ptr<int64_t>(),
                                       data_or_null<T>(weight), p, grad_logits.ptr<T>(), get_num_threads());
      });
}

void mse_forward(const char* op, const TensorView& input, const TensorView& target, Reduction r,
                 const TensorView& loss) {
  check_like(op, input, "input", target, "target");
  check_same_dtype(op, input, "input", loss, "output");
  check_same_device(op, {{"input", &input}, {"target", &target}, {"output", &loss}});
  on_device_of(
      input, input.dtype,
      [&](auto t) {
        using T = decltype(t);
        cuda::mse_forward<T>(input.numel(), input.ptr<T>(), target.ptr<T>(), r, loss.ptr<T>());
      },
      [&](auto t) {
        using T = decltype(t);
        cpu::mse_forward<T>(input.numel(), input.ptr<T>(), target.ptr<T>(), r, loss.ptr<T>(), get_num_threads());
      });
}

void mse_backward(const char* op, const TensorView& grad_output, const TensorView& input,
                  const TensorView& target, Reduction r, const TensorView& grad_input) {
  check_like(op, input, "input", target, "target");
  check_like(op, input, "input", grad_input, "grad_input");
  check_same_dtype(op, input, "input", grad_output, "grad_output");
  CC_CHECK_ARG(grad_output.numel() == loss_elements(r, input.numel()), op, ": grad_output has ",
               grad_output.numel(), " elements, expected ", loss_elements(r, input.numel()),
               " (the loss's shape)");
  check_same_device(op, {{"grad_output", &grad_output},
                         {"input", &input},
                         {"target", &target},
                         {"grad_input", &grad_input}});
  on_device_of(
      input, input.dtype,
      [&](auto t) {
        using T = decltype(t);
        cuda::mse_backward<T>(input.numel(), grad_output.ptr<T>(), input.ptr<T>(), target.ptr<T>(), r,
                              grad_input.ptr<T>());
      },
      [&](auto t) {
        using T = decltype(t);
        cpu::mse_backward<T>(input.numel(), grad_output.ptr<T>(), input.ptr<T>(), target.ptr<T>(), r,
                             grad_input.ptr<T>(), get_num_threads());
      });
}

void dropout_forward(const char* op, const TensorView& x, double p, uint64_t seed,
                     const TensorView& y, uint8_t* keep) {
  check_dropout_p(op, p);
  check_like(op, x, "input", y, "output");
  check_same_device(op, {{"input", &x}, {"output", &y}});
  on_device_of(
      x, x.dtype,
      [&](auto t) {
        using T = decltype(t);
        cuda::dropout_forward<T>(x.numel(), x.ptr<T>(), p, seed, y.ptr<T>(), keep, x.device_index);
      },
      [&](auto t) {
        using T = decltype(t);
        cpu::dropout_forward<T>(x.numel(), x.ptr<T>(), p, seed, y.ptr<T>(), keep, get_num_threads());
      });
}

void dropout_backward(const char* op, const TensorView& grad_output, const uint8_t* keep, double p,
                      uint64_t seed, const TensorView& grad_input) {
  check_dropout_p(op, p);
  check_like(op, grad_output, "grad_output", grad_input, "grad_input");
  check_same_device(op, {{"grad_output", &grad_output}, {"grad_input", &grad_input}});
  on_device_of(
      grad_output, grad_output.dtype,
      [&](auto t) {
        using T = decltype(t);
        cuda::dropout_backward<T>(grad_output.numel(), grad_output.ptr<T>(), keep, p, seed,
                                  grad_input.ptr<T>(), grad_output.device_index);
      },
      [&](auto t) {
        using T = decltype(t);
        cpu::dropout_backward<T>(grad_output.numel(), grad_output.ptr<T>(), keep, p, seed,
                                 grad_input.ptr<T>(), get_num_threads());
      });
}

void linear_forward(const char* op, const LinearShape& s, const TensorView& input,
                    const TensorView& weight, const TensorView* bias, const TensorView& output) {
  check_same_dtype(op, input, "input", weight, "weight");
  if (bias) check_same_dtype(op, input, "input", *bias, "bias");
  check_same_dtype(op, input, "input", output, "output");
  check_same_device(op, {{"input", &input}, {"weight", &weight}, {"bias", bias}, {"output", &output}});
  on_device_of(
      input, input.dtype,
      [&](auto t) {
        using T = decltype(t);
        cuda::linear_forward<T>(s, input.ptr<T>(), weight.ptr<T>(), data_or_null<T>(bias),
                                output.ptr<T>(), math_mode(), input.device_index);
      },
      [&](auto t) {
        using T = decltype(t);
        cpu::linear_forward<T>(s, input.ptr<T>(), weight.ptr<T>(), data_or_null<T>(bias), output.ptr<T>(),
                               get_num_threads());
      });
}

void linear_backward(const char* op, const LinearShape& s, const TensorView& grad_output,
                     const TensorView& input, const TensorView& weight,
                     const TensorView* grad_input, const TensorView* grad_weight,
                     const TensorView* grad_bias) {
  check_same_dtype(op, input, "input", weight, "weight");
  check_same_dtype(op, input, "input", grad_output, "grad_output");
  CC_CHECK_ARG(grad_output.numel() == s.rows * s.out_features, op, ": grad_output has ",
               grad_output.numel(), " elements, expected ", s.rows * s.out_features,
               " (input's rows x out_features)");
  check_same_device(op, {{"input", &input},
                         {"grad_output", &grad_output},
                         {"weight", &weight},
                         {"grad_input", grad_input},
                         {"grad_weight", grad_weight},
                         {"grad_bias", grad_bias}});
  on_device_of(
      input, input.dtype,
      [&](auto t) {
        using T = decltype(t);
        cuda::linear_backward<T>(s, grad_output.ptr<T>(), input.ptr<T>(), weight.ptr<T>(),
                                 grad_input ? grad_input->ptr<T>() : nullptr,
                                 grad_weight ? grad_weight->ptr<T>() : nullptr,
                                 grad_bias ? grad_bias->ptr<T>() : nullptr, math_mode(),
                                 input.device_index);
      },
      [&](auto t) {
        using T = decltype(t);
        cpu::linear_backward<T>(s, grad_output.ptr<T>(), input.ptr<T>(), weight.ptr<T>(),
                                grad_input ? grad_input->ptr<T>() : nullptr,
                                grad_weight ? grad_weight->ptr<T>() : nullptr,
                                grad_bias ? grad_bias->ptr<T>() : nullptr, get_num_threads());
      });
}

}  // namespace convcore

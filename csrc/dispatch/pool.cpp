// SPDX-License-Identifier: MIT
#include "dispatch/pool.h"

#include "core/error.h"
#include "core/parallel.h"
#include "cpu/pool.h"
#include "cuda/pool.h"
#include "dispatch/device.h"

namespace convcore {
namespace {

void check_rank4(const PoolParams& p, const char* what, const TensorView& t) {
  CC_CHECK_ARG(t.ndim == 4, p.op, ": expected ", what, " to be ", p.spatial_dims + 2,
               "-D, got a ", t.ndim, "-D array of shape ", shape_of(t));
}

void check_dtype(const PoolParams& p, const char* what, const TensorView& t, DType want) {
  if (t.dtype != want)
    throw_dtype_error(p.op, ": ", what, " has dtype ", dtype_name(t.dtype), ", expected ",
                      dtype_name(want));
}

void check_shape(const PoolParams& p, const char* what, const TensorView& t,
                 const std::array<int64_t, 4>& want) {
  check_rank4(p, what, t);
  const std::array<int64_t, 4> got{t.sizes[0], t.sizes[1], t.sizes[2], t.sizes[3]};
  CC_CHECK_ARG(got == want, p.op, ": ", what, " has shape ", shape_of(t), ", expected [",
               want[0], ", ", want[1], ", ", want[2], ", ", want[3], "]");
}

}  // namespace

PoolProblem pool_problem(const PoolParams& p, const TensorView& input) {
  check_rank4(p, "input", input);
  if (input.dtype != DType::f32 && input.dtype != DType::f64)
    throw_dtype_error(p.op, ": input has dtype ", dtype_name(input.dtype),
                      "; expected float32 or float64");
  return make_pool_problem(p, input.dtype, {input.sizes[0], input.sizes[1], input.sizes[2],
                                            input.sizes[3]});
}

void pool2d_forward(const PoolParams& p, const TensorView& input, const TensorView& output,
                    const TensorView* indices) {
  const PoolProblem prob = pool_problem(p, input);
  check_dtype(p, "output", output, prob.dtype);
  check_shape(p, "output", output, pool_output_shape(prob));
  if (indices) {
    check_dtype(p, "indices", *indices, DType::i64);
    check_shape(p, "indices", *indices, pool_output_shape(prob));
  }
  check_same_device(p.op, {{"input", &input}, {"output", &output}, {"indices", indices}});
  int64_t* idx = indices && p.kind == PoolKind::max ? indices->ptr<int64_t>() : nullptr;
  on_device_of(
      input, prob.dtype,
      [&](auto t) { cuda::pool_forward<decltype(t)>(prob, input, output, idx); },
      [&](auto t) {
        cpu::pool_forward<decltype(t)>(prob, input, output, idx, get_num_threads());
      });
}

void pool2d_backward(const PoolParams& p, const TensorView& grad_output,
                     const TensorView& input, const TensorView* indices,
                     const TensorView& grad_input) {
  const PoolProblem prob = pool_problem(p, input);
  check_dtype(p, "grad_output", grad_output, prob.dtype);
  check_shape(p, "grad_output", grad_output, pool_output_shape(prob));
  check_dtype(p, "grad_input", grad_input, prob.dtype);
  check_shape(p, "grad_input", grad_input, pool_input_shape(prob));
  if (indices) {
    CC_CHECK_ARG(p.kind == PoolKind::max, p.op, ": indices are only taken by max pooling");
    check_dtype(p, "indices", *indices, DType::i64);
    check_shape(p, "indices", *indices, pool_output_shape(prob));
  }
  check_same_device(p.op, {{"grad_output", &grad_output},
                           {"input", &input},
                           {"indices", indices},
                           {"grad_input", &grad_input}});
  const int64_t* idx = indices ? indices->ptr<int64_t>() : nullptr;
  on_device_of(
      input, prob.dtype,
      [&](auto t) { cuda::pool_backward<decltype(t)>(prob, grad_output, input, idx, grad_input); },
      [&](auto t) {
        cpu::pool_backward<decltype(t)>(prob, grad_output, input, idx, grad_input,
                                        get_num_threads());
      });
}

}  // namespace convcore

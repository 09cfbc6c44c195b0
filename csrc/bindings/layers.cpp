// SPDX-License-Identifier: MIT
// Bindings of the layer operators. Arrays of any rank, NumPy arrays on the
// host or DeviceArrays on a GPU, are reshaped (views of C-contiguous arrays,
// no copies) into the flat / [outer, C, inner] / [rows, features] forms the
// core works on; shapes are validated by ops/layers_params. Results are
// allocated on the inputs' device.
#include <pybind11/stl.h>

#include <cstring>

#include "bindings/arrays.h"
#include "bindings/device_array.h"
#include "core/error.h"
#include "cuda/runtime.h"
#include "dispatch/layers.h"

namespace convcore::bindings {
namespace {

using Shape = std::vector<int64_t>;

// The shape of a NumPy array or a DeviceArray.
Shape shape_of(const py::object& a) {
  Shape s;
  for (const py::handle v : py::tuple(a.attr("shape"))) s.push_back(v.cast<int64_t>());
  return s;
}

int64_t size_of(const py::object& a) { return a.attr("size").cast<int64_t>(); }

bool writeable(const py::object& a) { return a.attr("flags").attr("writeable").cast<bool>(); }

int64_t numel_of(const Shape& s) {
  int64_t n = 1;
  for (int64_t v : s) n *= v;
  return n;
}

// a viewed with `sizes` (same number of elements, C-contiguous: no copy);
// a.reshape(*sizes), which NumPy arrays and DeviceArrays both take.
py::object reshaped(const py::object& a, const Shape& sizes) {
  py::tuple dims(sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) dims[i] = py::int_(sizes[i]);
  return a.attr("reshape")(*dims);
}

// TypeError naming `name` unless a is a NumPy array or a DeviceArray.
void check_is_array(const py::object& a, const char* op, const char* name) {
  if (!py::isinstance<py::array>(a) && !py::isinstance<DeviceArray>(a)) view_of(a, op, name);  // throws
}

// Arrays of any rank are checked (dtype, layout) through such views, since
// TensorView holds at most 4 dimensions.
TensorView flat_view(const py::object& a, const char* op, const char* name) {
  check_is_array(a, op, name);
  return view_of(reshaped(a, {size_of(a)}), op, name);
}

// Output shaped like `like`, on its device: a new array, or out after checks.
py::object output_like(const char* op, const char* name, const py::object& like,
                       const std::optional<py::object>& out) {
  const TensorView v = flat_view(like, op, "input");
  return output_array(op, name, v.dtype, shape_of(like), out, &v);
}

// Any integer host array as a C-contiguous int64 array; a device array must
// already be int64 (no conversion on the device); TypeError otherwise.
py::object int64_target(const char* op, const py::object& target) {
  check_is_array(target, op, "target");
  const py::dtype dtype = py::dtype::from_args(target.attr("dtype"));
  const char kind = dtype.kind();
  if (kind != 'i' && kind != 'u')
    throw_dtype_error(op, ": target has dtype ", std::string(py::str(dtype)),
                      "; expected an integer dtype (class indices)");
  if (!py::isinstance<py::array>(target)) {
    if (!dtype.is(py::dtype::of<int64_t>()))
      throw_dtype_error(op, ": target has dtype ", std::string(py::str(dtype)),
                        "; a target on the GPU must be int64");
    return target;
  }
  return py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(target);
}

std::optional<TensorView> optional_view(const std::optional<py::object>& a, const char* op,
                                        const char* name) {
  if (!a) return std::nullopt;
  return view_of(*a, op, name);
}

template <class V>
const V* ptr_or_null(const std::optional<V>& v) {
  return v ? &*v : nullptr;
}

// --- activations ---

py::object activation(const char* op, Activation f, const py::object& input, double param, bool inplace,
                      const std::optional<py::object>& out) {
  const TensorView x = flat_view(input, op, "input");
  if (inplace) CC_CHECK_ARG(writeable(input), op, ": inplace=True needs a writeable input");
  py::object y = inplace ? input : output_like(op, "output", input, out);
  const TensorView yv = flat_view(y, op, "output");
  py::gil_scoped_release release;
  activation_forward(op, f, x, yv, param);
  return y;
}

py::object activation_grad(const char* op, Activation f, const py::object& grad_output,
                           const py::object& input, double param, const std::optional<py::object>& output,
                           const std::optional<py::object>& out) {
  check_is_array(grad_output, op, "grad_output");
  check_is_array(input, op, "input");
  if (output) check_is_array(*output, op, "output");
  check_same_shape(op, "grad_output", shape_of(grad_output), "input", shape_of(input));
  if (output) check_same_shape(op, "output", shape_of(*output), "input", shape_of(input));
  const TensorView g = flat_view(grad_output, op, "grad_output"), x = flat_view(input, op, "input");
  std::optional<TensorView> yv;
  if (output) yv = flat_view(*output, op, "output");
  py::object gx = output_like(op, "grad_input", input, out);
  const TensorView gxv = flat_view(gx, op, "grad_input");
  py::gil_scoped_release release;
  activation_backward(op, f, g, x, ptr_or_null(yv), gxv, param);
  return gx;
}

// --- softmax ---

TensorView softmax_view(const py::object& a, const SoftmaxShape& s, const char* op, const char* name) {
  return view_of(reshaped(a, {s.outer, s.classes, s.inner}), op, name);
}

py::object softmax(const char* op, bool log, const py::object& input, int64_t dim,
                   const std::optional<py::object>& out) {
  check_is_array(input, op, "input");
  const SoftmaxShape s = softmax_shape(op, shape_of(input), dim);
  const TensorView x = softmax_view(input, s, op, "input");
  py::object y = output_like(op, "output", input, out);
  const TensorView yv = softmax_view(y, s, op, "output");
  py::gil_scoped_release release;
  softmax_forward(op, log, s, x, yv);
  return y;
}

py::object softmax_grad(const char* op, bool log, const py::object& grad_output, const py::object& input,
                        int64_t dim, const std::optional<py::object>& output,
                        const std::optional<py::object>& out) {
  check_is_array(grad_output, op, "grad_output");
  check_is_array(input, op, "input");
  if (output) check_is_array(*output, op, "output");
  const SoftmaxShape s = softmax_shape(op, shape_of(input), dim);
  check_same_shape(op, "grad_output", shape_of(grad_output), "input", shape_of(input));
  if (output) check_same_shape(op, "output", shape_of(*output), "input", shape_of(input));
  const TensorView g = softmax_view(grad_output, s, op, "grad_output");
  const TensorView x = softmax_view(input, s, op, "input");
  std::optional<TensorView> yv;
  if (output) yv = softmax_view(*output, s, op, "output");
  py::object gx = output_like(op, "grad_input", input, out);
  const TensorView gxv = softmax_view(gx, s, op, "grad_input");
  py::gil_scoped_release release;
  softmax_backward(op, log, s, g, x, ptr_or_null(yv), gxv);
  return gx;
}

// --- losses ---

struct CrossEntropyCall {
  const char* op;
  SoftmaxShape s;
  CrossEntropyParams p;
  py::object target;  // int64
  TensorView logits, target_view;
  std::optional<TensorView> weight;

  CrossEntropyCall(const char* name, const py::object& input, const py::object& target_in,
                   const std::optional<py::object>& weight_in, int64_t ignore_index,
                   const std::string& reduction, double label_smoothing, bool channels_last)
      : op(name) {
    flat_view(input, op, "input");
    target = int64_target(op, target_in);
    if (weight_in) check_is_array(*weight_in, op, "weight");
    const Shape weight_shape = weight_in ? shape_of(*weight_in) : Shape{};
    s = cross_entropy_shape(op, shape_of(input), shape_of(target), weight_in ? &weight_shape : nullptr,
                            channels_last);
    p = {ignore_index, parse_reduction(op, reduction), label_smoothing};
    check_label_smoothing(op, label_smoothing);
    logits = view_of(reshaped(input, {s.outer, s.classes, s.inner}), op, "input");
    target_view = index_view_of(reshaped(target, {s.outer, s.inner}), op, "target");
    weight = optional_view(weight_in, op, "weight");
  }
  Shape loss_shape() const { return p.reduction == Reduction::none ? shape_of(target) : Shape{}; }
};

py::object cross_entropy(const py::object& input, const py::object& target,
                         const std::optional<py::object>& weight, int64_t ignore_index,
                         const std::string& reduction, double label_smoothing, bool channels_last) {
  const CrossEntropyCall c("cross_entropy", input, target, weight, ignore_index, reduction,
                           label_smoothing, channels_last);
  py::object loss = output_array(c.op, "output", c.logits.dtype, c.loss_shape(), std::nullopt, &c.logits);
  const TensorView lv = flat_view(loss, c.op, "output");
  py::gil_scoped_release release;
  cross_entropy_forward(c.op, c.s, c.logits, c.target_view, ptr_or_null(c.weight), c.p, lv);
  return loss;
}

py::object cross_entropy_grad(const py::object& grad_output, const py::object& input,
                              const py::object& target, const std::optional<py::object>& weight,
                              int64_t ignore_index, const std::string& reduction,
                              double label_smoothing, bool channels_last,
                              const std::optional<py::object>& out) {
  const CrossEntropyCall c("cross_entropy_backward", input, target, weight, ignore_index, reduction,
                           label_smoothing, channels_last);
  check_is_array(grad_output, c.op, "grad_output");
  CC_CHECK_ARG(shape_of(grad_output) == c.loss_shape() ||
                   (c.p.reduction != Reduction::none && size_of(grad_output) == 1),
               c.op, ": grad_output has shape ", shape_string(shape_of(grad_output)),
               ", expected the loss's shape ", shape_string(c.loss_shape()));
  const TensorView g = flat_view(grad_output, c.op, "grad_output");
  py::object gx = output_like(c.op, "grad_input", input, out);
  const TensorView gxv = view_of(reshaped(gx, {c.s.outer, c.s.classes, c.s.inner}), c.op, "grad_input");
  py::gil_scoped_release release;
  cross_entropy_backward(c.op, c.s, g, c.logits, c.target_view, ptr_or_null(c.weight), c.p, gxv);
  return gx;
}

py::object mse_loss(const py::object& input, const py::object& target, const std::string& reduction) {
  const char* op = "mse_loss";
  check_is_array(input, op, "input");
  check_is_array(target, op, "target");
  const Reduction r = parse_reduction(op, reduction);
  check_same_shape(op, "input", shape_of(input), "target", shape_of(target));
  const TensorView x = flat_view(input, op, "input"), t = flat_view(target, op, "target");
  py::object loss = output_array(op, "output", x.dtype, r == Reduction::none ? shape_of(input) : Shape{},
                                 std::nullopt, &x);
  const TensorView lv = flat_view(loss, op, "output");
  py::gil_scoped_release release;
  mse_forward(op, x, t, r, lv);
  return loss;
}

py::object mse_loss_grad(const py::object& grad_output, const py::object& input, const py::object& target,
                         const std::string& reduction, const std::optional<py::object>& out) {
  const char* op = "mse_loss_backward";
  check_is_array(grad_output, op, "grad_output");
  check_is_array(input, op, "input");
  check_is_array(target, op, "target");
  const Reduction r = parse_reduction(op, reduction);
  check_same_shape(op, "input", shape_of(input), "target", shape_of(target));
  if (r == Reduction::none)
    check_same_shape(op, "grad_output", shape_of(grad_output), "input", shape_of(input));
  const TensorView g = flat_view(grad_output, op, "grad_output");
  const TensorView x = flat_view(input, op, "input"), t = flat_view(target, op, "target");
  py::object gx = output_like(op, "grad_input", input, out);
  const TensorView gxv = flat_view(gx, op, "grad_input");
  py::gil_scoped_release release;
  mse_backward(op, g, x, t, r, gxv);
  return gx;
}

// --- dropout ---

// training=False is the identity: a copy, or input itself for inplace.
py::object dropout(const py::object& input, double p, uint64_t seed, bool training, bool inplace,
                   bool return_mask, const std::optional<py::object>& out) {
  const char* op = "dropout";
  check_dropout_p(op, p);
  const Shape shape = shape_of(input);
  const TensorView x = flat_view(input, op, "input");
  if (inplace)
    CC_CHECK_ARG(input.attr("flags").attr("writeable").cast<bool>(), op,
                 ": inplace=True needs a writeable input");
  py::object y = inplace ? input : output_array(op, "output", x.dtype, shape, out, &x);
  const TensorView yv = flat_view(y, op, "output");
  py::object mask = py::none();
  std::optional<TensorView> keep_view;
  if (return_mask) {
    mask = output_array(op, "mask", DType::b8, shape, std::nullopt, &x);
    keep_view = mask_view_of(reshaped(mask, {x.numel()}), op, "mask");
  }
  uint8_t* keep = keep_view ? keep_view->ptr<uint8_t>() : nullptr;
  {
    py::gil_scoped_release release;
    if (training) {
      dropout_forward(op, x, p, seed, yv, keep);
    } else if (on_cuda(x)) {
      check_same_device(op, {{"input", &x}, {"output", &yv}});
      if (!inplace)
        cuda::copy_device_to_device(yv.data, x.data, x.numel() * dtype_size(x.dtype),
                                    x.device_index);
      if (keep) cuda::fill(keep, 1, DType::b8, x.numel(), x.device_index);
    } else {
      check_same_device(op, {{"input", &x}, {"output", &yv}});
      if (!inplace) std::memcpy(yv.data, x.data, static_cast<size_t>(x.numel() * dtype_size(x.dtype)));
      if (keep) std::memset(keep, 1, static_cast<size_t>(x.numel()));
    }
  }
  if (return_mask) return py::make_tuple(y, mask);
  return y;
}

py::object dropout_grad(const py::object& grad_output, double p, uint64_t seed,
                        const std::optional<py::object>& mask,
                        const std::optional<py::object>& out) {
  const char* op = "dropout_backward";
  check_dropout_p(op, p);
  const Shape shape = shape_of(grad_output);
  const TensorView g = flat_view(grad_output, op, "grad_output");
  std::optional<TensorView> keep_view;
  if (mask) {
    const py::object dt = mask->attr("dtype");
    if (!dt.equal(py::dtype::of<bool>()))
      throw_dtype_error(op, ": mask has dtype ", std::string(py::str(dt)), "; expected bool");
    check_same_shape(op, "mask", shape_of(*mask), "grad_output", shape);
    keep_view = mask_view_of(reshaped(*mask, {g.numel()}), op, "mask");
    check_same_device(op, {{"grad_output", &g}, {"mask", &*keep_view}});
  }
  const uint8_t* keep_data = keep_view ? keep_view->ptr<const uint8_t>() : nullptr;
  py::object gx = output_array(op, "grad_input", g.dtype, shape, out, &g);
  const TensorView gxv = flat_view(gx, op, "grad_input");
  py::gil_scoped_release release;
  dropout_backward(op, g, keep_data, p, seed, gxv);
  return gx;
}

// --- linear ---

Shape linear_output_shape(const Shape& input, int64_t out_features) {
  Shape s(input.begin(), input.end() - 1);
  s.push_back(out_features);
  return s;
}

py::object linear(const py::object& input, const py::object& weight,
                  const std::optional<py::object>& bias, const std::optional<py::object>& out) {
  const char* op = "linear";
  const Shape bias_shape = bias ? shape_of(*bias) : Shape{};
  flat_view(input, op, "input");
  const LinearShape s =
      linear_shape(op, shape_of(input), shape_of(weight), bias ? &bias_shape : nullptr);
  const TensorView x = view_of(reshaped(input, {s.rows, s.in_features}), op, "input");
  const TensorView w = view_of(weight, op, "weight");
  const std::optional<TensorView> b = optional_view(bias, op, "bias");
  py::object y = output_array(op, "output", x.dtype,
                              linear_output_shape(shape_of(input), s.out_features), out, &x);
  const TensorView yv = view_of(reshaped(y, {s.rows, s.out_features}), op, "output");
  py::gil_scoped_release release;
  linear_forward(op, s, x, w, ptr_or_null(b), yv);
  return y;
}

// grad_bias is computed only when bias is given (its shape is checked).
py::tuple linear_grad(const py::object& grad_output, const py::object& input,
                      const py::object& weight, const std::optional<py::object>& bias,
                      bool need_input, bool need_weight, bool need_bias) {
  const char* op = "linear_backward";
  flat_view(input, op, "input");
  const Shape bias_shape = bias ? shape_of(*bias) : Shape{};
  const LinearShape s =
      linear_shape(op, shape_of(input), shape_of(weight), bias ? &bias_shape : nullptr);
  need_bias = need_bias && bias;
  check_same_shape(op, "grad_output", shape_of(grad_output), "the output",
                   linear_output_shape(shape_of(input), s.out_features));
  const TensorView x = view_of(reshaped(input, {s.rows, s.in_features}), op, "input");
  const TensorView w = view_of(weight, op, "weight");
  flat_view(grad_output, op, "grad_output");
  const TensorView g =
      view_of(reshaped(grad_output, {s.rows, s.out_features}), op, "grad_output");
  py::object gx = py::none(), gw = py::none(), gb = py::none();
  std::optional<TensorView> gxv, gwv, gbv;
  if (need_input) {
    gx = output_array(op, "grad_input", x.dtype, shape_of(input), std::nullopt, &x);
    gxv = view_of(reshaped(gx, {s.rows, s.in_features}), op, "grad_input");
  }
  if (need_weight) {
    gw = output_array(op, "grad_weight", x.dtype, shape_of(weight), std::nullopt, &x);
    gwv = view_of(gw, op, "grad_weight");
  }
  if (need_bias) {
    gb = output_array(op, "grad_bias", x.dtype, {s.out_features}, std::nullopt, &x);
    gbv = view_of(gb, op, "grad_bias");
  }
  {
    py::gil_scoped_release release;
    linear_backward(op, s, g, x, w, ptr_or_null(gxv), ptr_or_null(gwv), ptr_or_null(gbv));
  }
  return py::make_tuple(gx, gw, gb);
}

struct ActivationDef {
  const char* name;
  const char* backward_name;
  Activation f;
};
constexpr ActivationDef kActivations[] = {
    {"relu", "relu_backward", Activation::relu},
    {"leaky_relu", "leaky_relu_backward", Activation::leaky_relu},
    {"elu", "elu_backward", Activation::elu},
    {"sigmoid", "sigmoid_backward", Activation::sigmoid},
    {"tanh", "tanh_backward", Activation::tanh},
};

}  // namespace

void bind_layers(py::module_& m) {
  for (const ActivationDef& d : kActivations) {
    m.def(d.name,
          [d](const py::object& input, double param, bool inplace, const std::optional<py::object>& out) {
            return activation(d.name, d.f, input, param, inplace, out);
          },
          py::arg("input"), py::arg("param") = 0.0, py::arg("inplace") = false, py::arg("out") = py::none());
    m.def(d.backward_name,
          [d](const py::object& grad_output, const py::object& input, double param,
              const std::optional<py::object>& output, const std::optional<py::object>& out) {
            return activation_grad(d.backward_name, d.f, grad_output, input, param, output, out);
          },
          py::arg("grad_output"), py::arg("input"), py::arg("param") = 0.0,
          py::arg("output") = py::none(), py::arg("out") = py::none());
  }
  for (bool log : {false, true}) {
    const char* name = log ? "log_softmax" : "softmax";
    const char* bname = log ? "log_softmax_backward" : "softmax_backward";
    m.def(name,
          [name, log](const py::object& input, int64_t dim, const std::optional<py::object>& out) {
            return softmax(name, log, input, dim, out);
          },
          py::arg("input"), py::arg("dim"), py::arg("out") = py::none());
    m.def(bname,
          [bname, log](const py::object& grad_output, const py::object& input, int64_t dim,
                       const std::optional<py::object>& output, const std::optional<py::object>& out) {
            return softmax_grad(bname, log, grad_output, input, dim, output, out);
          },
          py::arg("grad_output"), py::arg("input"), py::arg("dim"), py::arg("output") = py::none(),
          py::arg("out") = py::none());
  }
  m.def("cross_entropy", &cross_entropy, py::arg("input"), py::arg("target"), py::arg("weight"),
        py::arg("ignore_index"), py::arg("reduction"), py::arg("label_smoothing"),
        py::arg("channels_last") = false);
  m.def("cross_entropy_backward", &cross_entropy_grad, py::arg("grad_output"), py::arg("input"),
        py::arg("target"), py::arg("weight"), py::arg("ignore_index"), py::arg("reduction"),
        py::arg("label_smoothing"), py::arg("channels_last") = false, py::arg("out") = py::none());
  m.def("mse_loss", &mse_loss, py::arg("input"), py::arg("target"), py::arg("reduction"));
  m.def("mse_loss_backward", &mse_loss_grad, py::arg("grad_output"), py::arg("input"),
        py::arg("target"), py::arg("reduction"), py::arg("out") = py::none());
  m.def("dropout", &dropout, py::arg("input"), py::arg("p"), py::arg("seed"), py::arg("training"),
        py::arg("inplace"),
        py::arg("return_mask"), py::arg("out") = py::none());
  m.def("dropout_backward", &dropout_grad, py::arg("grad_output"), py::arg("p"), py::arg("seed"),
        py::arg("mask") = py::none(), py::arg("out") = py::none());
  m.def("linear", &linear, py::arg("input"), py::arg("weight"), py::arg("bias") = py::none(),
        py::arg("out") = py::none());
  m.def("linear_backward", &linear_grad, py::arg("grad_output"), py::arg("input"), py::arg("weight"),
        py::arg("bias"), py::arg("need_input"), py::arg("need_weight"), py::arg("need_bias"));
}

}  // namespace convcore::bindings

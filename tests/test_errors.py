"""The bad-input catalogue (TESTING.md 3.4 / 6.6): every bad argument raises the
documented exception type (ValueError for values and shapes, TypeError for dtypes
and types) with a message that names the argument and the offending values; plus
the shape arithmetic helpers ``conv_output_size`` and ``same_padding``."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import convcore
import convcore.functional as F

f32 = np.float32


@contextlib.contextmanager
def raises(exc, *parts):
    """pytest.raises(exc) and every string of ``parts`` in the message."""
    with pytest.raises(exc) as info:
        yield info
    msg = str(info.value)
    for p in parts:
        assert p in msg, f"{p!r} not in message {msg!r}"


def z(*shape, dtype=f32):
    return np.zeros(shape, dtype)


X = z(1, 4, 5, 5)
W = z(4, 4, 3, 3)
G = z(1, 4, 3, 3)
X1 = z(1, 4, 5)
W1 = z(4, 4, 3)


# ============================================================================ ranks


def test_wrong_input_rank():
    with raises(ValueError, "conv2d", "3-D (unbatched) or 4-D (batched)", "2-D", "(4, 5)"):
        F.conv2d(z(4, 5), W)
    with raises(ValueError, "conv2d", "5-D", "(1, 1, 4, 5, 5)"):
        F.conv2d(z(1, 1, 4, 5, 5), W)
    with raises(ValueError, "conv1d", "2-D (unbatched) or 3-D (batched)", "1-D", "(4,)"):
        F.conv1d(z(4), W1)
    with raises(ValueError, "conv1d", "4-D", "(1, 4, 5, 5)"):
        F.conv1d(X, W1)
    with raises(ValueError, "conv2d", "2-D", "(4, 5)"):
        F.conv2d_backward(G, z(4, 5), W)
    with raises(ValueError, "conv2d", "2-D", "(4, 5)"):
        convcore.explain("conv2d", (4, 5), (4, 4, 3, 3))


def test_wrong_weight_rank():
    with raises(ValueError, "conv2d", "weight to be 4-D", "3-D", "(4, 4, 3)"):
        F.conv2d(X, z(4, 4, 3))
    with raises(ValueError, "conv2d", "weight to be 4-D", "5-D"):
        F.conv2d(X, z(4, 4, 3, 3, 1))
    with raises(ValueError, "conv1d", "weight to be 3-D", "2-D", "(4, 4)"):
        F.conv1d(X1, z(4, 4))
    with raises(ValueError, "conv2d", "weight to be 4-D", "(4, 4, 3)"):
        F.conv2d_backward(G, X, z(4, 4, 3))


def test_bias_rank_and_length():
    with raises(ValueError, "conv2d", "bias", "4 elements", "got 3"):
        F.conv2d(X, W, z(3))
    with raises(ValueError, "conv2d", "bias", "1-D", "[4, 1]"):
        F.conv2d(X, W, z(4, 1))
    with raises(ValueError, "conv1d", "bias", "4 elements", "got 5"):
        F.conv1d(X1, W1, z(5))


def test_grad_output_shape():
    with raises(ValueError, "conv2d", "grad_output", "[1, 4, 4, 3]", "[1, 4, 3, 3]"):
        F.conv2d_backward(z(1, 4, 4, 3), X, W)
    with raises(ValueError, "conv2d", "grad_output", "3 dimensions", "(1, 4, 3)"):
        F.conv2d_backward(z(1, 4, 3), X, W)
    with raises(ValueError, "conv1d", "grad_output"):
        F.conv1d_backward(z(1, 4, 4), X1, W1)


# ============================================================================ channels and groups


def test_channel_mismatch():
    with raises(ValueError, "conv2d", "groups=1", "[4, 4, 3, 3]", "[1, 5, 5, 5]", "4 channels",
                "got 5 channels"):
        F.conv2d(z(1, 5, 5, 5), W)
    # NHWC: the channel axis is last, and the message shows the array as given
    with raises(ValueError, "to have 4 channels", "got 5 channels", "[1, 5, 5, 5]"):
        F.conv2d(z(1, 5, 5, 5), W, data_format="NHWC")
    with raises(ValueError, "conv2d", "groups=2", "to have 8 channels", "got 4 channels"):
        F.conv2d(X, W, groups=2)
    with raises(ValueError, "conv1d", "to have 4 channels", "got 5 channels"):
        F.conv1d(z(1, 5, 5), W1)


def test_groups_not_dividing_out_channels():
    with raises(ValueError, "conv2d", "groups=4", "divisible by 4", "[6, 2, 3, 3]"):
        F.conv2d(z(1, 8, 5, 5), z(6, 2, 3, 3), groups=4)
    with raises(ValueError, "groups=2", "divisible by 2", "[3, 2, 3, 3]"):
        F.conv2d(X, z(3, 2, 3, 3), groups=2)
    # fewer weight rows than groups
    with raises(ValueError, "groups=4", "[2, 1, 3, 3]"):
        F.conv2d(X, z(2, 1, 3, 3), groups=4)


@pytest.mark.parametrize("groups", [0, -1, -4])
def test_non_positive_groups(groups):
    with raises(ValueError, "conv2d", "groups must be a positive integer", f"got {groups}"):
        F.conv2d(X, W, groups=groups)
    with raises(ValueError, "groups must be a positive integer", f"got {groups}"):
        convcore.explain("conv2d", (1, 4, 5, 5), (4, 4, 3, 3), groups=groups)


@pytest.mark.parametrize("groups", [2.0, "2", True, None])
def test_groups_type(groups):
    with raises(TypeError, "groups must be an int", repr(groups)):
        F.conv2d(X, W, groups=groups)


# ============================================================================ kernel vs input


def test_kernel_larger_than_padded_input():
    with raises(ValueError, "conv2d", "padded input size per channel (4 x 4)", "dilated kernel size (5 x 5)",
                "[1, 4, 4, 4]", "[4, 4, 5, 5]"):
        F.conv2d(z(1, 4, 4, 4), z(4, 4, 5, 5))
    with raises(ValueError, "(5 x 5)", "dilated kernel size (7 x 7)"):
        F.conv2d(X, W, dilation=3)
    with raises(ValueError, "(5 x 7)", "dilated kernel size (7 x 7)"):
        F.conv2d(X, z(4, 4, 3, 3), dilation=3, padding=(0, 1))
    with raises(ValueError, "conv1d", "padded input size per channel (5)", "dilated kernel size (7)"):
        F.conv1d(X1, z(4, 4, 7))
    # padding makes it fit
    assert F.conv2d(z(1, 4, 4, 4), z(4, 4, 5, 5), padding=1).shape == (1, 4, 2, 2)


def test_zero_size_spatial_dim():
    with raises(ValueError, "conv2d", "[1, 4, 0, 5]"):
        F.conv2d(z(1, 4, 0, 5), W, padding=2)
    with raises(ValueError, "conv1d", "[1, 4, 0]"):
        F.conv1d(z(1, 4, 0), W1, padding=2)


def test_empty_kernel():
    with raises(ValueError, "conv2d", "[4, 4, 0, 3]", "empty kernel"):
        F.conv2d(X, z(4, 4, 0, 3))


# ============================================================================ stride, dilation, padding values


@pytest.mark.parametrize("stride,value,axis", [(0, 0, "height"), ((1, 0), 0, "width"), ((1, -2), -2, "width"),
                                               (-1, -1, "height")])
def test_bad_stride(stride, value, axis):
    with raises(ValueError, "conv2d", "stride must be positive", f"got {value} ({axis})"):
        F.conv2d(X, W, stride=stride)
    with raises(ValueError, "stride must be positive", f"got {value}"):
        F.conv2d_backward(G, X, W, stride=stride)


def test_bad_stride_1d():
    with raises(ValueError, "conv1d", "stride must be positive", "got 0"):
        F.conv1d(X1, W1, stride=0)


@pytest.mark.parametrize("dilation,value,axis", [(0, 0, "height"), ((1, 0), 0, "width"), (-3, -3, "height")])
def test_bad_dilation(dilation, value, axis):
    with raises(ValueError, "conv2d", "dilation must be positive", f"got {value} ({axis})"):
        F.conv2d(X, W, dilation=dilation)


@pytest.mark.parametrize("padding,value,side", [(-1, -1, "top"), ((0, -1), -1, "left"), ((0, 0, 0, -2), -2, "right"),
                                                ((0, -3, 0, 0), -3, "bottom")])
def test_negative_padding(padding, value, side):
    with raises(ValueError, "conv2d", "padding must be non-negative", f"got {value} ({side})"):
        F.conv2d(X, W, padding=padding)


def test_negative_padding_1d():
    with raises(ValueError, "conv1d", "padding must be non-negative", "got -1 (left)"):
        F.conv1d(X1, W1, padding=-1)
    with raises(ValueError, "conv1d", "padding must be non-negative", "got -2 (right)"):
        F.conv1d(X1, W1, padding=(0, -2))


@pytest.mark.parametrize("padding,side,size", [(5, "top", 5), ((0, 0, 5, 0), "left", 5), ((0, 6, 0, 0), "bottom", 5),
                                               ((0, 0, 0, 7), "right", 5)])
def test_reflect_padding_too_large(padding, side, size):
    pad = max(padding) if isinstance(padding, tuple) else padding
    with raises(ValueError, "conv2d", "padding_mode='reflect'", "smaller than the input size",
                f"got padding {pad} ({side})", f"input size {size}"):
        F.conv2d(X, W, padding=padding, padding_mode="reflect")
    # one less is fine
    ok = tuple(min(p, size - 1) for p in padding) if isinstance(padding, tuple) else size - 1
    F.conv2d(X, W, padding=ok, padding_mode="reflect")


def test_reflect_padding_too_large_1d_and_same():
    with raises(ValueError, "conv1d", "padding_mode='reflect'", "got padding 5 (left)", "input size 5"):
        F.conv1d(X1, W1, padding=5, padding_mode="reflect")
    # 'same' on a 2x2 input with a 5x5 kernel needs padding 2 per side
    with raises(ValueError, "padding_mode='reflect'", "got padding 2", "input size 2"):
        F.conv2d(z(1, 4, 2, 2), z(4, 4, 5, 5), padding="same", padding_mode="reflect")


@pytest.mark.parametrize("mode,name", [("circular", "circular"), ("wrap", "circular"), ("symmetric", "symmetric")])
def test_circular_and_symmetric_padding_too_large(mode, name):
    with raises(ValueError, f"padding_mode='{name}'", "at most the input size", "got padding 6 (top)",
                "input size 5"):
        F.conv2d(X, W, padding=6, padding_mode=mode)
    with raises(ValueError, f"padding_mode='{name}'", "got padding 6 (right)"):
        F.conv2d(X, W, padding=(0, 0, 0, 6), padding_mode=mode)
    # equal to the input size is allowed
    assert F.conv2d(X, W, padding=5, padding_mode=mode).shape == (1, 4, 13, 13)


def test_replicate_and_constant_allow_any_padding():
    assert F.conv2d(X, W, padding=9, padding_mode="replicate").shape == (1, 4, 21, 21)
    assert F.conv2d(X, W, padding=9, padding_mode=("constant", 1.0)).shape == (1, 4, 21, 21)


@pytest.mark.parametrize("padding", ["foo", "SAME", "Valid", ""])
def test_unknown_padding_string(padding):
    with raises(ValueError, "conv2d", "padding must be 'valid', 'same', 'full'", repr(padding)):
        F.conv2d(X, W, padding=padding)
    with raises(ValueError, "conv1d", repr(padding)):
        F.conv1d(X1, W1, padding=padding)


@pytest.mark.parametrize("padding", [(1, 2, 3), (1, 2, 3, 4, 5), 1.5, None, (1.0, 2.0), [1, "a"]])
def test_bad_padding_type(padding):
    with raises(TypeError, "conv2d", "padding must be", repr(padding)):
        F.conv2d(X, W, padding=padding)


def test_bad_padding_type_1d():
    with raises(TypeError, "conv1d", "(p,) or (left, right)", "(1, 2, 3)"):
        F.conv1d(X1, W1, padding=(1, 2, 3))


@pytest.mark.parametrize("mode", ["foo", "Zeros", "constant", ("constant",), ("constant", "a"), ("reflect", 1),
                                  None, 0])
def test_unknown_padding_mode(mode):
    with raises(ValueError, "conv2d", "padding_mode must be one of", repr(mode)):
        F.conv2d(X, W, padding=1, padding_mode=mode)


@pytest.mark.parametrize("name,value", [("stride", (1, 2, 3)), ("stride", 2.0), ("stride", True), ("stride", "2"),
                                        ("dilation", (1,)), ("dilation", 1.0), ("stride", None)])
def test_bad_int_argument_types(name, value):
    with raises(TypeError, "conv2d", f"{name} must be an int or a sequence of 2 ints", repr(value)):
        F.conv2d(X, W, **{name: value})


def test_bad_int_argument_types_1d():
    with raises(TypeError, "conv1d", "stride must be an int or a sequence of 1 ints", "(1, 2)"):
        F.conv1d(X1, W1, stride=(1, 2))


# ============================================================================ layouts and dtypes


@pytest.mark.parametrize("fmt", ["NCWH", "nchw", "NLC", "", None])
def test_bad_data_format(fmt):
    with raises(ValueError, "conv2d", "data_format must be 'NCHW' or 'NHWC'", repr(fmt)):
        F.conv2d(X, W, data_format=fmt)


def test_bad_data_format_1d():
    with raises(ValueError, "conv1d", "data_format must be 'NCL' or 'NLC'", "'NCHW'"):
        F.conv1d(X1, W1, data_format="NCHW")
    with raises(ValueError, "conv1d", "'NHWC'"):
        F.conv1d_backward(z(1, 4, 3), X1, W1, data_format="NHWC")


def test_dtype_mismatch():
    with raises(TypeError, "conv2d", "weight has dtype float64", "input has dtype float32", "must match"):
        F.conv2d(X, W.astype(np.float64))
    with raises(TypeError, "weight has dtype float32", "input has dtype float64"):
        F.conv2d(X.astype(np.float64), W)
    with raises(TypeError, "bias has dtype float64", "input has dtype float32"):
        F.conv2d(X, W, z(4, dtype=np.float64))
    with raises(TypeError, "grad_output has dtype float64", "input has dtype float32"):
        F.conv2d_backward(G.astype(np.float64), X, W)
    with raises(TypeError, "conv1d", "weight has dtype float64"):
        F.conv1d(X1, W1.astype(np.float64))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float16, np.complex64, np.complex128, object, bool,
                                   np.uint8, np.longdouble])
def test_unsupported_dtypes(dtype):
    name = np.dtype(dtype).name
    with raises(TypeError, "conv2d", f"input has dtype {name}", "expected float32 or float64"):
        F.conv2d(X.astype(dtype), W)
    with raises(TypeError, f"weight has dtype {name}"):
        F.conv2d(X, W.astype(dtype))
    with raises(TypeError, f"bias has dtype {name}"):
        F.conv2d(X, W, z(4).astype(dtype))
    with raises(TypeError, f"grad_output has dtype {name}"):
        F.conv2d_backward(G.astype(dtype), X, W)
    with raises(TypeError, "conv1d", f"input has dtype {name}"):
        F.conv1d(X1.astype(dtype), W1)


def test_none_operands():
    with raises(TypeError, "conv2d", "input must be an array, got None"):
        F.conv2d(None, W)
    with raises(TypeError, "weight must be an array, got None"):
        F.conv2d(X, None)
    with raises(TypeError, "grad_output must be an array, got None"):
        F.conv2d_backward(None, X, W)


def test_explain_dtype_and_op_and_pass():
    with raises(ValueError, "explain", "dtype must be 'float32' or 'float64'", "'float16'"):
        convcore.explain("conv2d", (1, 4, 5, 5), (4, 4, 3, 3), dtype=np.float16)
    with raises(ValueError, "explain", "op must be one of", "'conv3d'"):
        convcore.explain("conv3d", (1, 4, 5, 5), (4, 4, 3, 3))
    with raises(ValueError, "explain", "pass must be", "'bogus'"):
        convcore.explain("conv2d", (1, 4, 5, 5), (4, 4, 3, 3), pass_="bogus")


# ============================================================================ huge sizes


def test_element_count_overflow():
    """Element counts past int64 are rejected by the shape check: explain() needs no
    arrays, so nothing is allocated."""
    big = 2**40
    with raises(ValueError, "conv2d", "element count", "overflows int64", f"[{big}, {big}, 1, 1]"):
        convcore.explain("conv2d", (big, big, 1, 1), (1, big, 1, 1))
    with raises(ValueError, "element count", "overflows int64"):
        convcore.explain("conv2d", (2**31, 2**31, 2, 2), (1, 2**31, 1, 1))
    # the output alone overflowing: 2^40 x 2^40 padding on a small input
    with raises(ValueError, "overflows int64"):
        convcore.explain("conv2d", (4, 4, 5, 5), (4, 4, 3, 3), padding=2**40)
    with raises(ValueError, "overflows int64"):
        convcore.explain("conv2d", (1, 4, 2**31, 2**31), (4, 4, 3, 3), padding=2**39, dilation=2**39)


@pytest.mark.parametrize("shape", [(2**41, 1, 1, 1), (1, 1, 1, 2**62), (1, 2**63 - 1, 1, 1)])
def test_dimension_too_large(shape):
    with raises(ValueError, "conv2d", "input size", "too large", str(max(shape))):
        convcore.explain("conv2d", shape, (1, 1, 1, 1))


@pytest.mark.parametrize("k", [2**31 - 1, 2**31, 2**63 - 1])
def test_huge_kernel(k):
    with raises(ValueError, "conv2d", str(k)):
        convcore.explain("conv2d", (1, 1, 4, 4), (1, 1, k, 1))


def test_huge_kernel_within_limits_reports_sizes():
    with raises(ValueError, "padded input size per channel (2147483647 x 1)",
                "dilated kernel size (2147483648 x 1)"):
        convcore.explain("conv2d", (1, 1, 2**31 - 1, 1), (1, 1, 2**31, 1))


@pytest.mark.parametrize("name,value", [("stride", 2**41), ("stride", 2**63 - 1), ("dilation", 2**62),
                                        ("padding", 2**62), ("padding", 2**63 - 1)])
def test_huge_option_values(name, value):
    with raises(ValueError, "conv2d", name, str(value)):
        F.conv2d(X, W, **{name: value})


@pytest.mark.parametrize("name,value", [("stride", 2**64), ("dilation", 2**64), ("padding", 2**64),
                                        ("stride", 2**63), ("groups", 2**63)])
def test_option_values_past_int64(name, value):
    """Values that do not even fit int64 must still get convcore's own error naming the
    argument (ValueError or OverflowError), not a binding-internal TypeError."""
    with pytest.raises((ValueError, OverflowError)) as info:
        F.conv2d(X, W, **{name: value})
    assert name in str(info.value) and str(value) in str(info.value), str(info.value)


def test_dilated_kernel_size_overflow():
    """dilation * (k - 1) + 1 past 2^63 must be rejected, not wrapped (TESTING.md 6.6 /
    PyTorch's 'effective kernel size overflows')."""
    with pytest.raises(ValueError) as info:
        convcore.explain("conv2d", (1, 1, 4, 4), (1, 1, 2**40, 1), dilation=2**40)
    assert "dilat" in str(info.value) or "kernel" in str(info.value), str(info.value)
    # reachable with real arrays: a 2^23 + 1 tap kernel (32 MiB) dilated by 2^40
    with pytest.raises(ValueError) as info:
        convcore.explain("conv2d", (1, 1, 1, 4), (1, 1, 1, 2**23 + 1), dilation=2**40)
    assert "dilat" in str(info.value) or "kernel" in str(info.value), str(info.value)
    w = np.ones((1, 1, 1, 2**23 + 1), f32)
    with pytest.raises(ValueError) as info:
        F.conv2d(np.ones((1, 1, 1, 4), f32), w, dilation=2**40)
    assert "dilat" in str(info.value) or "kernel" in str(info.value), str(info.value)


# ============================================================================ needs / out / algorithm


@pytest.mark.parametrize("needs", [("input", "foo"), ("grad_input",), "input", ("Input",), "weight"])
def test_bad_needs(needs):
    with raises(ValueError, "conv2d_backward", "needs must be a subset of ('input', 'weight', 'bias')", repr(needs)):
        F.conv2d_backward(G, X, W, needs=needs)
    with raises(ValueError, "conv1d_backward", "needs must be a subset"):
        F.conv1d_backward(z(1, 4, 3), X1, W1, needs=needs)


def test_out_forward_errors():
    with raises(ValueError, "conv2d", "out (output) has shape (1, 4, 4, 3)", "expected (1, 4, 3, 3)"):
        F.conv2d(X, W, out=z(1, 4, 4, 3))
    with raises(ValueError, "out (output) has shape (1, 4, 3, 3)", "expected (1, 3, 3, 4)"):
        F.conv2d(z(1, 5, 5, 4), W, out=z(1, 4, 3, 3), data_format="NHWC")
    with raises(TypeError, "conv2d", "out (output) has dtype float64", "expected float32"):
        F.conv2d(X, W, out=z(1, 4, 3, 3, dtype=np.float64))
    with raises(TypeError, "out (output) has dtype int32"):
        F.conv2d(X, W, out=z(1, 4, 3, 3, dtype=np.int32))
    with raises(ValueError, "conv2d", "out must be C-contiguous"):
        F.conv2d(X, W, out=z(1, 4, 3, 6)[..., ::2])
    ro = z(1, 4, 3, 3)
    ro.flags.writeable = False
    with raises(ValueError, "out (output) is read-only"):
        F.conv2d(X, W, out=ro)
    with raises(TypeError, "conv2d", "out must be a numpy.ndarray", "list"):
        F.conv2d(X, W, out=[0.0])
    with raises(ValueError, "conv1d", "out has 4 dimensions", "expected 3"):
        F.conv1d(X1, W1, out=z(1, 4, 1, 3))
    with raises(ValueError, "conv2d", "out has 5 dimensions", "expected 4"):
        F.conv2d(X, W, out=z(1, 4, 3, 3, 1))


def test_out_shape_errors_show_the_callers_shapes():
    """A wrong-shaped out= for conv1d or an unbatched call is reported with the shapes
    the caller uses, not the internal 4-D view's."""
    with raises(ValueError, "conv1d", "has shape (1, 4, 4)", "expected (1, 4, 3)"):
        F.conv1d(X1, W1, out=z(1, 4, 4))
    with raises(ValueError, "conv1d", "has shape (4, 4, 2)", "expected (4, 4, 3)"):
        F.conv1d_backward(z(1, 4, 3), X1, W1, out=(None, z(4, 4, 2), None))
    with raises(ValueError, "conv2d", "has shape (4, 3, 4)", "expected (4, 3, 3)"):
        F.conv2d(z(4, 5, 5), W, out=z(4, 3, 4))


def test_out_must_not_alias_inputs():
    x = z(1, 4, 5, 5)
    with raises(ValueError, "conv2d", "out must not overlap an input array"):
        F.conv2d(x, z(4, 4, 1, 1), out=x)
    w = z(4, 4, 3, 3)
    with raises(ValueError, "must not overlap"):
        F.conv2d_backward(G, X, w, out=(None, w, None))
    g = z(1, 4, 5, 5)
    with raises(ValueError, "must not overlap"):
        F.conv2d_backward(g, X, z(4, 4, 1, 1), out=(g, None, None))


def test_out_backward_errors():
    with raises(ValueError, "conv2d_backward", "out must be a tuple (grad_input, grad_weight, grad_bias)"):
        F.conv2d_backward(G, X, W, out=(None, None))
    with raises(ValueError, "out (grad_input) has shape (1, 4, 5, 4)", "expected (1, 4, 5, 5)"):
        F.conv2d_backward(G, X, W, out=(z(1, 4, 5, 4), None, None))
    with raises(ValueError, "out (grad_weight) has shape (4, 4, 3, 2)", "expected (4, 4, 3, 3)"):
        F.conv2d_backward(G, X, W, out=(None, z(4, 4, 3, 2), None))
    with raises(ValueError, "out (grad_bias) has shape (3,)", "expected (4,)"):
        F.conv2d_backward(G, X, W, out=(None, None, z(3)))
    with raises(TypeError, "out (grad_input) has dtype float64", "expected float32"):
        F.conv2d_backward(G, X, W, out=(z(1, 4, 5, 5, dtype=np.float64), None, None))
    with raises(TypeError, "out (grad_bias) has dtype float64"):
        F.conv2d_backward(G, X, W, out=(None, None, z(4, dtype=np.float64)))
    with raises(TypeError, "out[2] must be a numpy.ndarray"):
        F.conv2d_backward(G, X, W, out=(None, None, [0.0] * 4))


@pytest.mark.parametrize("algo", ["winograd", "fft", "IM2COL_GEMM", ""])
def test_unknown_algorithm_name(algo):
    with raises(ValueError, "algorithm must be one of", f"got '{algo}'"):
        F.conv2d(X, W, algorithm=algo)
    with raises(ValueError, "algorithm must be one of", f"got '{algo}'"):
        F.conv2d_backward(G, X, W, algorithm=algo)
    with raises(ValueError, "algorithm must be one of", f"got '{algo}'"):
        convcore.explain("conv2d", (1, 4, 5, 5), (4, 4, 3, 3), algorithm=algo)


def test_set_num_threads_bounds():
    for n in (0, -1, 1025):
        with raises(ValueError, "set_num_threads", "[1, 1024]", f"got {n}"):
            convcore.set_num_threads(n)


# ============================================================================ shape arithmetic


@pytest.mark.parametrize("n,k,s,d,want", [
    (224, 7, 2, 1, (2, 3)), (10, 4, 1, 3, (4, 5)), (5, 3, 1, 1, (1, 1)), (5, 4, 1, 1, (1, 2)),
    (7, 4, 2, 1, (1, 2)), (8, 4, 2, 1, (1, 1)), (10, 3, 3, 2, (2, 2)), (7, 2, 2, 1, (0, 1)),
    (6, 1, 2, 1, (0, 0)), (5, 1, 5, 1, (0, 0)), (4, 3, 5, 1, (0, 0)), (1, 5, 1, 1, (2, 2)),
    (0, 3, 1, 1, (1, 1)), (9, 2, 3, 4, (1, 1)), (11, 2, 3, 4, (1, 2)),
])
def test_same_padding_values(n, k, s, d, want):
    assert convcore.same_padding(n, k, s, d) == want
    # output is ceil(n / s) for any n >= 1
    if n >= 1:
        before, after = want
        assert convcore.conv_output_size(n, k, s, (before, after), d) == -(-n // s)


def test_same_padding_matches_tensorflow_formula():
    for n in range(1, 12):
        for k in range(1, 6):
            for s in range(1, 4):
                for d in range(1, 4):
                    out = -(-n // s)
                    total = max(0, (out - 1) * s + d * (k - 1) + 1 - n)
                    assert convcore.same_padding(n, k, s, d) == (total // 2, total - total // 2)


@pytest.mark.parametrize("args,want", [
    ((5, 3), 3), ((5, 3, 1, 1), 5), ((5, 3, 2, 1), 3), ((224, 7, 2, 3), 112), ((5, 3, 1, (0, 2)), 5),
    ((10, 3, 3, 0, 2), 2), ((5, 5), 1), ((4, 3, 2, 4), 5), ((1, 1), 1), ((0, 1, 1, 1), 2),
    ((2**62, 3), 2**62 - 2), ((2**40, 2**20, 1, 0, 2**10), 2**40 - 2**30 + 2**10),
])
def test_conv_output_size_values(args, want):
    assert convcore.conv_output_size(*args) == want


@pytest.mark.parametrize("args,parts", [
    ((-1, 3), ["n=-1"]), ((5, 0), ["kernel=0"]), ((5, 3, 0), ["stride=0"]), ((5, 3, -1), ["stride=-1"]),
    ((5, 3, 1, -1), ["padding=(-1, -1)"]), ((5, 3, 1, (1, -1)), ["padding=(1, -1)"]), ((5, 3, 1, 0, 0), ["dilation=0"]),
])
def test_conv_output_size_errors(args, parts):
    with raises(ValueError, "conv_output_size", *parts):
        convcore.conv_output_size(*args)


def test_conv_output_size_kernel_does_not_fit():
    with raises(ValueError, "conv_output_size", "padded input size 5", "dilated kernel size 7"):
        convcore.conv_output_size(5, 7)
    with raises(ValueError, "padded input size 5", "dilated kernel size 9"):
        convcore.conv_output_size(5, 3, dilation=4)
    with raises(ValueError, "padded input size 0"):
        convcore.conv_output_size(0, 1)


@pytest.mark.parametrize("kwargs,name", [(dict(n=5.0, kernel=3), "n"), (dict(n=5, kernel=3.0), "kernel"),
                                         (dict(n=5, kernel=3, stride=True), "stride"),
                                         (dict(n=5, kernel=3, dilation=None), "dilation")])
def test_conv_output_size_types(kwargs, name):
    with raises(TypeError, "conv_output_size", f"{name} must be an int"):
        convcore.conv_output_size(**kwargs)


def test_conv_output_size_bad_padding_tuple():
    with pytest.raises((ValueError, TypeError)) as info:
        convcore.conv_output_size(5, 3, padding=(1, 2, 3))
    assert "conv_output_size" in str(info.value) and "padding" in str(info.value), str(info.value)


def test_conv_output_size_no_silent_overflow():
    """n + padding past int64 must not wrap to a wrong (small) size."""
    try:
        got = convcore.conv_output_size(2**63 - 1, 3, padding=2**62)
    except (ValueError, OverflowError):
        return
    assert got == 2**63 - 1 + 2**63 - 3 + 1, got


@pytest.mark.parametrize("args,parts", [((-1, 3), ["n=-1"]), ((5, 0), ["kernel=0"]), ((5, 3, 0), ["stride=0"]),
                                        ((5, 3, 1, 0), ["dilation=0"]), ((5, 3, -2, 1), ["stride=-2"])])
def test_same_padding_errors(args, parts):
    with raises(ValueError, "same_padding", *parts):
        convcore.same_padding(*args)


def test_same_padding_types():
    with raises(TypeError, "same_padding", "kernel must be an int", "3.0"):
        convcore.same_padding(5, 3.0)
    with raises(TypeError, "same_padding", "n must be an int"):
        convcore.same_padding("5", 3)

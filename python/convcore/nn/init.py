"""Initializers (He/Kaiming, Xavier/Glorot, Gaussian, uniform, constant) and
PyTorch's default initialization of convolution and linear layers.

Every initializer fills a NumPy array (or a :class:`~convcore.nn.Parameter`'s
``data``) IN PLACE, in the array's own dtype, and returns what it was given.
Random ones draw from ``rng`` when given, else from this module's generator,
which starts seeded with 0 and is reseeded by :func:`manual_seed`: building the
same model twice after ``manual_seed(s)`` gives the same weights.

Fans follow PyTorch: for an array of shape ``(a, b, *kernel)``,
``fan_in = b * prod(kernel)`` and ``fan_out = a * prod(kernel)`` (a conv weight
``(Cout, Cin / groups, kh, kw)`` has ``fan_in = Cin / groups * kh * kw``; a
transposed conv's ``(Cin, Cout / groups, kh, kw)`` has ``fan_in = Cout / groups * kh * kw``,
as PyTorch computes it).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional, TypeVar, Union

import numpy as np

from .. import _ops
from .layer import Parameter

__all__ = [
    "calculate_gain",
    "constant_",
    "default_init_",
    "fan_in_and_fan_out",
    "get_generator",
    "kaiming_normal_",
    "kaiming_uniform_",
    "manual_seed",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

T = TypeVar("T", np.ndarray, Parameter)

_generator = np.random.default_rng(0)

_UNIT_GAIN = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")


def manual_seed(seed: int) -> np.random.Generator:
    """Reseeds the module's default generator (and returns it)."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def get_generator() -> np.random.Generator:
    """The default generator every initializer draws from when ``rng`` is None."""
    return _generator


def _target(arr: Union[np.ndarray, Parameter], op: str) -> np.ndarray:
    data = arr.data if isinstance(arr, Parameter) else arr
    if not _ops.is_array(data):
        raise TypeError(f"{op}: expected a numpy.ndarray or Parameter, got {type(arr).__name__}")
    return data


def _fill(arr: T, values: np.ndarray) -> T:
    """Writes host values into arr (drawn on the host, copied to a GPU array's device)."""
    data: Any = arr.data if isinstance(arr, Parameter) else arr
    _ops.assign_(data, values)
    return arr


def calculate_gain(nonlinearity: str, param: Optional[float] = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table): 1 for
    'linear', the conv names and 'sigmoid'; 5/3 for 'tanh'; sqrt(2) for
    'relu'; ``sqrt(2 / (1 + slope ** 2))`` for 'leaky_relu' (``param`` = the
    negative slope, default 0.01); 3/4 for 'selu'."""
    if nonlinearity in _UNIT_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def fan_in_and_fan_out(arr: Union[np.ndarray, Parameter]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of at least 2 dimensions (see the module doc)."""
    data = _target(arr, "fan_in_and_fan_out")
    if data.ndim < 2:
        raise ValueError("fan_in_and_fan_out: fan in and fan out can not be computed for an "
                         f"array with fewer than 2 dimensions (shape {data.shape})")
    receptive = int(np.prod(data.shape[2:], dtype=np.int64))
    return data.shape[1] * receptive, data.shape[0] * receptive


def _fan(arr: Union[np.ndarray, Parameter], mode: str, op: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{op}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(arr)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        raise ValueError(f"{op}: {mode} of an array of shape {arr.shape} is 0")
    return fan


def _rng(rng: Optional[np.random.Generator]) -> np.random.Generator:
    return _generator if rng is None else rng


def uniform_(arr: T, a: float = 0.0, b: float = 1.0,
             rng: Optional[np.random.Generator] = None) -> T:
    """Fills with U(a, b)."""
    data = _target(arr, "uniform_")
    return _fill(arr, _rng(rng).uniform(a, b, size=data.shape))


def normal_(arr: T, mean: float = 0.0, std: float = 1.0,
            rng: Optional[np.random.Generator] = None) -> T:
    """Fills with N(mean, std ** 2)."""
    data = _target(arr, "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    return _fill(arr, _rng(rng).normal(mean, std, size=data.shape))


def constant_(arr: T, value: float) -> T:
    """Fills with ``value``."""
    _target(arr, "constant_")[...] = value
    return arr


def zeros_(arr: T) -> T:
    return constant_(arr, 0.0)


def ones_(arr: T) -> T:
    return constant_(arr, 1.0)


def _kaiming_std(arr: Union[np.ndarray, Parameter], a: float, mode: str,
                 nonlinearity: str, op: str) -> float:
    return calculate_gain(nonlinearity, a) / math.sqrt(_fan(arr, mode, op))


def kaiming_uniform_(arr: T, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     rng: Optional[np.random.Generator] = None) -> T:
    """He uniform: U(-bound, bound) with ``bound = gain * sqrt(3 / fan)``
    (``gain = calculate_gain(nonlinearity, a)``, ``fan`` by ``mode``)."""
    bound = math.sqrt(3.0) * _kaiming_std(arr, a, mode, nonlinearity, "kaiming_uniform_")
    return uniform_(arr, -bound, bound, rng)


def kaiming_normal_(arr: T, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    rng: Optional[np.random.Generator] = None) -> T:
    """He normal: N(0, std ** 2) with ``std = gain / sqrt(fan)``."""
    return normal_(arr, 0.0, _kaiming_std(arr, a, mode, nonlinearity, "kaiming_normal_"), rng)


def _xavier_std(arr: Union[np.ndarray, Parameter], gain: float) -> float:
    fan_in, fan_out = fan_in_and_fan_out(arr)
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def xavier_uniform_(arr: T, gain: float = 1.0, rng: Optional[np.random.Generator] = None) -> T:
    """Glorot uniform: U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    bound = math.sqrt(3.0) * _xavier_std(arr, gain)
    return uniform_(arr, -bound, bound, rng)


def xavier_normal_(arr: T, gain: float = 1.0, rng: Optional[np.random.Generator] = None) -> T:
    """Glorot normal: N(0, std ** 2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    return normal_(arr, 0.0, _xavier_std(arr, gain), rng)


def default_init_(weight: Parameter, bias: Optional[Parameter] = None,
                  rng: Optional[np.random.Generator] = None) -> None:
    """PyTorch's default for conv and linear layers: weight
    ``kaiming_uniform_(a=sqrt(5))`` (that is U(+-1/sqrt(fan_in))), bias
    U(+-1/sqrt(fan_in)) with the weight's fan_in."""
    kaiming_uniform_(weight, a=math.sqrt(5.0), rng=rng)
    if bias is not None:
        bound = 1.0 / math.sqrt(fan_in_and_fan_out(weight)[0])
        uniform_(bias, -bound, bound, rng)

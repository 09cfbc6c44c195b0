"""Losses as objects: CrossEntropyLoss (logits, integer labels) and MSELoss.

``loss(prediction, target)`` (= ``forward``) computes the loss and keeps its
inputs; ``backward()`` returns the gradient of the loss with respect to the
prediction (for a unit upstream gradient; for reduction='none', of the sum of
the elementwise losses). Predictions and targets may be convcore DeviceArrays
(on one device): the gradient is then a DeviceArray, and so is the loss for
reduction='none'; a reduced loss is still returned as a float (one read back
from the device)."""

from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np

from .. import cuda
from .. import functional as F
from .._args import is_device_array, is_int
from ._scalars import real, reduction as check_reduction

__all__ = ["CrossEntropyLoss", "Loss", "MSELoss"]


class Loss:
    """Base of the losses: ``forward(prediction, target)`` returns a float (an
    array for reduction='none') and saves both; ``backward()`` the gradient of
    the prediction, shaped and typed like it."""

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = check_reduction(type(self).__name__, reduction)
        self._saved: Optional[tuple[Any, Any]] = None  # ndarrays or DeviceArrays

    def _loss(self, prediction: Any, target: Any) -> Any:
        raise NotImplementedError

    def _grad(self, grad_output: Any, prediction: Any, target: Any) -> Any:
        raise NotImplementedError

    def _target(self, prediction: Any, target: Any) -> Any:
        return target if is_device_array(target) else np.asarray(target)

    def forward(self, prediction: Any, target: Any) -> Union[float, Any]:
        target = self._target(prediction, target)
        value = self._loss(prediction, target)
        self._saved = (prediction, target)
        if self.reduction == "none":
            return value
        return float(value.numpy()) if is_device_array(value) else float(value)

    def __call__(self, prediction: Any, target: Any) -> Union[float, Any]:
        return self.forward(prediction, target)

    def backward(self) -> Any:
        if self._saved is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        prediction, target = self._saved
        shape = self._loss(prediction, target).shape if self.reduction == "none" else ()
        ones: Any = np.ones(shape, prediction.dtype)
        if is_device_array(prediction):
            ones = cuda.asarray(ones, device=prediction.device_index)
        return self._grad(ones, prediction, target)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class CrossEntropyLoss(Loss):
    """Cross-entropy of logits (N, C) or (N, C, d1, ...) against integer class
    indices (N,) or (N, d1, ...), as torch.nn.CrossEntropyLoss: ``weight`` (C,)
    rescales the classes, targets equal to ``ignore_index`` are skipped,
    ``label_smoothing`` mixes in the uniform distribution. data_format
    'NHWC' / 'NLC': dense logits with the classes last."""

    def __init__(self, weight: Optional[np.ndarray] = None, *, ignore_index: int = -100,
                 reduction: str = "mean", label_smoothing: float = 0.0, data_format: str = "NCHW") -> None:
        super().__init__(reduction)
        if weight is not None and not isinstance(weight, np.ndarray):
            raise TypeError(f"CrossEntropyLoss: weight must be a numpy.ndarray or None, got {weight!r}")
        if not is_int(ignore_index):
            raise TypeError(f"CrossEntropyLoss: ignore_index must be an int, got {ignore_index!r}")
        self.weight, self.ignore_index = weight, int(ignore_index)
        self.label_smoothing = real("CrossEntropyLoss", "label_smoothing", label_smoothing, 0.0, 1.0)
        self.data_format = data_format

    def _options(self, prediction: Any) -> tuple:
        weight: Any = None if self.weight is None else self.weight.astype(prediction.dtype, copy=False)
        if weight is not None and is_device_array(prediction):  # a fresh copy: self.weight may change
            weight = cuda.asarray(weight, device=prediction.device_index)
        return weight, self.ignore_index, self.reduction, self.label_smoothing

    def _loss(self, prediction: Any, target: Any) -> Any:
        return F.cross_entropy(prediction, target, *self._options(prediction), data_format=self.data_format)

    def _grad(self, grad_output: Any, prediction: Any, target: Any) -> Any:
        return F.cross_entropy_backward(grad_output, prediction, target, *self._options(prediction),
                                        data_format=self.data_format)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, label_smoothing={self.label_smoothing}"


class MSELoss(Loss):
    """Mean (or summed, or elementwise) squared error; target shaped like the
    prediction (converted to its dtype)."""

    def _target(self, prediction: Any, target: Any) -> Any:
        if is_device_array(target):
            return target
        return np.asarray(target, dtype=prediction.dtype)

    def _loss(self, prediction: Any, target: Any) -> Any:
        return F.mse_loss(prediction, target, self.reduction)

    def _grad(self, grad_output: Any, prediction: Any, target: Any) -> Any:
        return F.mse_loss_backward(grad_output, prediction, target, self.reduction)

"""Losses as objects: CrossEntropyLoss (logits, integer labels) and MSELoss.

``loss(prediction, target)`` (= ``forward``) computes the loss and keeps its
inputs; ``backward()`` returns the gradient of the loss with respect to the
prediction (for a unit upstream gradient; for reduction='none', of the sum of
the elementwise losses).

On a GPU (prediction a DeviceArray) host targets are copied to its device;
``forward`` still returns a float (one small copy to the host), and the
gradient is a DeviceArray."""

from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np

from .. import _ops
from .. import functional as F
from .._args import is_int
from ._scalars import real, reduction as check_reduction

__all__ = ["CrossEntropyLoss", "Loss", "MSELoss"]


def _on_device_of(prediction: Any, target: Any) -> Any:
    """target on the prediction's device (a host integer target as int64 on a GPU)."""
    device = _ops.device_of(prediction)
    if device == _ops.device_of(target):
        return target
    if not _ops.is_device(target) and target.dtype.kind in "iub" and target.dtype != np.int64:
        target = target.astype(np.int64)
    return _ops.to_device(target, device)


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

    def _target(self, prediction: np.ndarray, target: Any) -> np.ndarray:
        return _on_device_of(prediction, target if _ops.is_device(target) else np.asarray(target))

    def _forward_array(self, prediction: Any, target: Any) -> Any:
        """The loss as an array on the prediction's device (0-d unless
        reduction='none'), with no copy to the host; saves for backward."""
        target = self._target(prediction, target)
        value = self._loss(prediction, target)
        self._saved = (prediction, target)
        return value

    def forward(self, prediction: np.ndarray, target: Any) -> Union[float, np.ndarray]:
        value = self._forward_array(prediction, target)
        return value if self.reduction == "none" else _ops.item(value)

    def __call__(self, prediction: Any, target: Any) -> Union[float, Any]:
        return self.forward(prediction, target)

    def backward(self) -> Any:
        if self._saved is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        prediction, target = self._saved
        shape = self._loss(prediction, target).shape if self.reduction == "none" else ()
        ones = _ops.full(shape, 1.0, prediction.dtype, _ops.device_of(prediction))
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
        self._weights: dict[tuple[str, str], Any] = {}
        self.label_smoothing = real("CrossEntropyLoss", "label_smoothing", label_smoothing, 0.0, 1.0)
        self.data_format = data_format

    def _options(self, prediction: np.ndarray) -> tuple:
        weight = None
        if self.weight is not None:
            key = (_ops.device_of(prediction), str(prediction.dtype))
            if key not in self._weights:  # the weight per device and dtype, copied once
                self._weights[key] = _ops.to_device(self.weight.astype(prediction.dtype, copy=False), key[0])
            weight = self._weights[key]
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

    def _target(self, prediction: np.ndarray, target: Any) -> np.ndarray:
        if _ops.is_device(target):
            return _on_device_of(prediction, _ops.astype(target, prediction.dtype))
        return _on_device_of(prediction, np.asarray(target, dtype=prediction.dtype))

    def _loss(self, prediction: Any, target: Any) -> Any:
        return F.mse_loss(prediction, target, self.reduction)

    def _grad(self, grad_output: Any, prediction: Any, target: Any) -> Any:
        return F.mse_loss_backward(grad_output, prediction, target, self.reduction)

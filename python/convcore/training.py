"""Training loop for :mod:`convcore.nn` models: ``fit``, ``evaluate`` and
``predict`` (also reachable as ``model.fit(...)`` etc.).

A loss object follows the contract of ``convcore.nn.CrossEntropyLoss`` /
``MSELoss``: ``forward(prediction, target) -> float`` keeps what
``backward() -> d loss / d prediction`` needs. Accuracy is reported when the
targets are integer class labels (argmax of the prediction over axis 1).

On a GPU (a model moved with ``model.to('cuda')``): the data stay NumPy
arrays on the host and each batch is copied to the model's device
(``convcore.cuda.asarray``); the loss and the correct-prediction count are
accumulated on the device, and the only copies back to the host are those
running totals: once per batch while a progress bar is shown (``verbose``),
otherwise once per epoch (``fit``) or per call (``evaluate``). ``predict``
returns a NumPy array by default (``to_numpy=False``: a DeviceArray on the
model's device).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional, Union

import numpy as np

from . import _C, _ops
from . import functional as F
from . import nn, optim
from .nn.layer import Layer

__all__ = ["History", "evaluate", "fit", "predict"]

_LOSSES = {"cross_entropy": "CrossEntropyLoss", "mse": "MSELoss"}


class History(dict):
    """Per-epoch metrics by name ('loss', 'accuracy', 'val_loss', 'val_accuracy'),
    each a list with one value per epoch."""

    @property
    def epochs(self) -> int:
        return len(self.get("loss", []))


def _make_loss(loss: Any) -> Any:
    if loss is None:
        loss = "cross_entropy"
    if isinstance(loss, str):
        if loss not in _LOSSES:
            raise ValueError(f"loss must be one of {sorted(_LOSSES)} or a loss object, got {loss!r}")
        return getattr(nn, _LOSSES[loss])()
    if not (callable(getattr(loss, "forward", None)) and callable(getattr(loss, "backward", None))):
        raise TypeError(f"loss must be a name or an object with forward and backward, got {loss!r}")
    return loss


def _check_data(x: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y) or len(x) == 0:
        raise ValueError(f"{what}: x and y must have the same number (> 0) of samples, "
                         f"got shapes {x.shape} and {y.shape}")
    return x, y


def _as_model_dtype(model: Layer, x: np.ndarray) -> np.ndarray:
    """x in the dtype of the model's parameters (a float32 model takes float64 or integer data)."""
    first = next(model.parameters(), None)
    return x if first is None else np.asarray(x, dtype=first.data.dtype)


def _check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _layers(model: Layer) -> Iterator[Layer]:
    yield model
    for _, child in model.children():
        yield from _layers(child)


@contextlib.contextmanager
def _mode(model: Layer, training: bool) -> Iterator[None]:
    """Puts the model in train / eval mode and restores every layer's own flag after."""
    before = [(layer, layer.training) for layer in _layers(model)]
    model.train(training)
    try:
        yield
    finally:
        for layer, flag in before:
            object.__setattr__(layer, "training", flag)


def _is_labels(y: np.ndarray) -> bool:
    return bool(np.issubdtype(y.dtype, np.integer))


def _target(y: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    return y if _is_labels(y) else y.astype(prediction.dtype, copy=False)


def _correct(prediction: np.ndarray, y: np.ndarray) -> int:
    return int((prediction.argmax(axis=1) == y).sum())


def _host_target(y: np.ndarray, dtype: Any) -> np.ndarray:
    """A batch's targets as the device gets them: int64 labels, else the model's dtype."""
    return np.ascontiguousarray(y, dtype=np.int64 if _is_labels(y) else dtype)


class _Totals:
    """A loop's running loss sum (weighted by batch size) and correct count.
    On a GPU they are accumulated on the device and copied to the host only
    when read."""

    def __init__(self, device: str, labels: bool) -> None:
        self.device, self.labels = device, labels
        self.loss, self.correct = 0.0, 0
        self._acc = None if device == "cpu" else _ops.full((2,), 0.0, np.float64, device)

    def add_cpu(self, loss: float, n: int, prediction: np.ndarray, y: np.ndarray) -> None:
        self.loss += loss * n
        if self.labels:
            self.correct += _correct(prediction, y)

    def add_device(self, loss: Any, n: int, prediction: Any, y: Any) -> None:
        """loss: an array on the device (no copy) or a float."""
        on_device = _ops.is_device(loss)
        if not on_device:
            self.loss += float(loss) * n
        if on_device or self.labels:
            _C.accumulate_metrics(self._acc, loss if on_device else None, float(n), prediction,
                                  y if self.labels else None)

    def read(self) -> tuple[float, int]:
        """(loss sum, correct count); one small copy from a GPU."""
        if self._acc is None:
            return self.loss, self.correct
        acc = self._acc.numpy()
        return self.loss + float(acc[0]), self.correct + int(round(float(acc[1])))


def _loss_array(loss_fn: Any, prediction: Any, target: Any) -> Any:
    """The batch loss without a host copy where the loss object allows it."""
    forward_array = getattr(loss_fn, "_forward_array", None)
    if forward_array is not None and getattr(loss_fn, "reduction", "mean") != "none":
        return forward_array(prediction, target)
    return float(loss_fn.forward(prediction, target))


def _progress(batches: range, desc: str, verbose: bool) -> Any:
    try:
        from tqdm.auto import tqdm  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - tqdm is an optional dependency
        return None
    return tqdm(total=len(batches), desc=desc, unit="batch", disable=not verbose, leave=True)


def fit(model: Layer, x: Any, y: Any, epochs: int = 1, batch_size: int = 32,
        validation_data: Optional[tuple[Any, Any]] = None, optimizer: Optional[optim.Optimizer] = None,
        loss: Union[str, Any, None] = None, scheduler: Any = None, shuffle: bool = True,
        seed: Optional[int] = None, verbose: bool = True) -> History:
    """Trains ``model`` on (x, y) with mini-batches and returns the per-epoch History.

    x: (N, ...) inputs (converted to the dtype of the model's parameters); y: (N,) integer labels (classification) or targets
    shaped like the model's output. optimizer defaults to SGD(lr=0.01,
    momentum=0.9); loss to cross-entropy ('cross_entropy', 'mse' or a loss
    object). A ``ReduceLROnPlateau`` scheduler is stepped each epoch with the
    validation loss (the training loss without validation data), any other
    scheduler with ``step()``. ``seed`` makes the shuffling and dropout (and
    later initializations) reproducible. One progress bar per epoch when
    ``verbose``, showing the running loss and accuracy."""
    x, y = _check_data(x, y, "fit")
    x = _as_model_dtype(model, x)
    epochs = _check_positive_int("epochs", epochs, 0)
    batch_size = _check_positive_int("batch_size", batch_size)
    if validation_data is not None:
        val_x, val_y = _check_data(*validation_data, "fit validation_data")
        val_x = _as_model_dtype(model, val_x)
    loss_fn = _make_loss(loss)
    if optimizer is None:
        optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    if seed is not None:
        F.manual_seed(seed)
        nn.init.manual_seed(seed)
    rng = np.random.default_rng(seed)
    labels = _is_labels(y)
    history = History(loss=[], **({"accuracy": []} if labels else {}))
    if validation_data is not None:
        history.update(val_loss=[], **({"val_accuracy": []} if labels else {}))
    n = len(x)
    batches = range(0, n, batch_size)
    device = model.device
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n) if shuffle else np.arange(n)
        totals, seen = _Totals(device, labels), 0
        bar = _progress(batches, f"epoch {epoch}/{epochs}", verbose)
        live = bar is not None and verbose  # the bar shows running metrics: read them per batch
        metrics: dict[str, float] = {}
        with _mode(model, True):
            for start in batches:
                idx = order[start:start + batch_size]
                xb, yb = x[idx], y[idx]
                optimizer.zero_grad()
                if device == "cpu":
                    prediction = model(xb)
                    value = float(loss_fn.forward(prediction, _target(yb, prediction)))
                    model.backward(loss_fn.backward())
                    optimizer.step()
                    totals.add_cpu(value, len(idx), prediction, yb)
                else:
                    prediction = model(_ops.to_device(xb, device))
                    tb = _ops.to_device(_host_target(yb, prediction.dtype), device)
                    loss_value = _loss_array(loss_fn, prediction, tb)
                    model.backward(loss_fn.backward())
                    optimizer.step()
                    totals.add_device(loss_value, len(idx), prediction, tb)
                seen += len(idx)
                if device == "cpu" or live or start + batch_size >= n:
                    loss_sum, correct = totals.read()
                    metrics = {"loss": loss_sum / seen}
                    if labels:
                        metrics["accuracy"] = correct / seen
                if bar is not None:
                    if metrics:
                        bar.set_postfix({k: f"{v:.4f}" for k, v in metrics.items()}, refresh=False)
                    bar.update()
        if validation_data is not None:
            metrics.update({f"val_{k}": v for k, v in
                            evaluate(model, val_x, val_y, loss=loss_fn).items()})
        for key, value in metrics.items():
            history[key].append(value)
        if bar is not None:
            bar.set_postfix({k: f"{v:.4f}" for k, v in metrics.items()})
            bar.close()
        if isinstance(scheduler, optim.ReduceLROnPlateau):
            scheduler.step(metrics.get("val_loss", metrics["loss"]))
        elif scheduler is not None:
            scheduler.step()
    return history


def predict(model: Layer, x: Any, batch_size: int = 256, to_numpy: bool = True) -> Any:
    """The model's outputs for x, computed in eval mode in batches of
    ``batch_size`` and concatenated; every layer's mode is restored after.
    x is host data; on a GPU model each batch is copied to its device and the
    result is a NumPy array (one copy at the end), or with ``to_numpy=False``
    a DeviceArray on the model's device."""
    x = _as_model_dtype(model, np.asarray(x))
    batch_size = _check_positive_int("batch_size", batch_size)
    device = model.device
    with _mode(model, False):
        outputs = [model(_ops.to_device(x[i:i + batch_size], device))
                   for i in range(0, len(x), batch_size)]
    if not outputs:
        raise ValueError("predict: x has no samples")
    result = _ops.concat(outputs, 0) if len(outputs) > 1 or device == "cpu" else outputs[0]
    return _ops.to_host(result) if to_numpy else result


def evaluate(model: Layer, x: Any, y: Any, batch_size: int = 256, loss: Any = None) -> dict[str, float]:
    """{'loss': mean loss, 'accuracy': fraction correct (integer labels only)} over
    (x, y), in eval mode and in batches (the batch losses weighted by size, so
    the result matches one big batch for mean-reduced losses)."""
    x, y = _check_data(x, y, "evaluate")
    x = _as_model_dtype(model, x)
    batch_size = _check_positive_int("batch_size", batch_size)
    loss_fn = _make_loss(loss)
    labels = _is_labels(y)
    device = model.device
    totals = _Totals(device, labels)
    with _mode(model, False):
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            if device == "cpu":
                prediction = model(xb)
                totals.add_cpu(float(loss_fn.forward(prediction, _target(yb, prediction))), len(xb),
                               prediction, yb)
            else:
                prediction = model(_ops.to_device(xb, device))
                tb = _ops.to_device(_host_target(yb, prediction.dtype), device)
                totals.add_device(_loss_array(loss_fn, prediction, tb), len(xb), prediction, tb)
    loss_sum, correct = totals.read()
    result = {"loss": loss_sum / len(x)}
    if labels:
        result["accuracy"] = correct / len(x)
    return result

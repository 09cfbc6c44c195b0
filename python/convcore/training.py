"""Training loop for :mod:`convcore.nn` models: ``fit``, ``evaluate`` and
``predict`` (also reachable as ``model.fit(...)`` etc.).

A loss object follows the contract of ``convcore.nn.CrossEntropyLoss`` /
``MSELoss``: ``forward(prediction, target) -> float`` keeps what
``backward() -> d loss / d prediction`` needs. Accuracy is reported when the
targets are integer class labels (argmax of the prediction over axis 1).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional, Union

import numpy as np

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
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n) if shuffle else np.arange(n)
        total, correct, seen = 0.0, 0, 0
        bar = _progress(batches, f"epoch {epoch}/{epochs}", verbose)
        metrics: dict[str, float] = {}
        with _mode(model, True):
            for start in batches:
                idx = order[start:start + batch_size]
                xb, yb = x[idx], y[idx]
                optimizer.zero_grad()
                prediction = model(xb)
                total += float(loss_fn.forward(prediction, _target(yb, prediction))) * len(idx)
                model.backward(loss_fn.backward())
                optimizer.step()
                seen += len(idx)
                metrics = {"loss": total / seen}
                if labels:
                    correct += _correct(prediction, yb)
                    metrics["accuracy"] = correct / seen
                if bar is not None:
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


def predict(model: Layer, x: Any, batch_size: int = 256) -> np.ndarray:
    """The model's outputs for x, computed in eval mode in batches of
    ``batch_size`` and concatenated; every layer's mode is restored after."""
    x = _as_model_dtype(model, np.asarray(x))
    batch_size = _check_positive_int("batch_size", batch_size)
    with _mode(model, False):
        outputs = [model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    if not outputs:
        raise ValueError("predict: x has no samples")
    return np.concatenate(outputs)


def evaluate(model: Layer, x: Any, y: Any, batch_size: int = 256, loss: Any = None) -> dict[str, float]:
    """{'loss': mean loss, 'accuracy': fraction correct (integer labels only)} over
    (x, y), in eval mode and in batches (the batch losses weighted by size, so
    the result matches one big batch for mean-reduced losses)."""
    x, y = _check_data(x, y, "evaluate")
    x = _as_model_dtype(model, x)
    batch_size = _check_positive_int("batch_size", batch_size)
    loss_fn = _make_loss(loss)
    total, correct = 0.0, 0
    with _mode(model, False):
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            prediction = model(xb)
            total += float(loss_fn.forward(prediction, _target(yb, prediction))) * len(xb)
            if _is_labels(y):
                correct += _correct(prediction, yb)
    result = {"loss": total / len(x)}
    if _is_labels(y):
        result["accuracy"] = correct / len(x)
    return result

"""The ``Layer`` base class and ``Parameter``: what every layer, container and
model in :mod:`convcore.nn` is built from.

A layer computes ``forward(x)`` on a batch, keeps what its ``backward`` needs,
and ``backward(grad_output)`` returns the gradient for its input while adding
the gradients of its parameters into ``param.grad`` (as PyTorch accumulates;
``zero_grad()`` clears them). Parameters, sub-layers and buffers (such as
batch-norm running statistics) assigned as attributes are registered in
assignment order, so ``parameters()``, ``state_dict()`` and the summary walk a
model in the order it was built.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional, Sequence

import numpy as np

__all__ = ["Layer", "Parameter"]


class Parameter:
    """A trainable array and its gradient (same shape and dtype).

    ``lr_mult`` and ``decay_mult`` scale the optimizer's learning rate and
    weight decay for this parameter (Caffe's per-blob multipliers; optimizers
    group parameters by them)."""

    def __init__(self, data: np.ndarray, lr_mult: float = 1.0, decay_mult: float = 1.0) -> None:
        self.data = np.ascontiguousarray(data)
        self.grad = np.zeros_like(self.data)
        self.lr_mult = float(lr_mult)
        self.decay_mult = float(decay_mult)

    @property
    def shape(self) -> tuple:
        return self.data.shape

    def zero_grad(self) -> None:
        self.grad[...] = 0

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Layer:
    """Base class of every layer and container.

    Subclasses implement ``forward`` and ``backward``; layers that change the
    shape or the receptive field also describe their arithmetic for
    :func:`convcore.summary` through ``output_shape``, ``macs`` and
    ``receptive_field`` (all per sample, without the batch axis)."""

    training: bool
    _params: dict[str, Parameter]
    _children: dict[str, "Layer"]
    _buffers: dict[str, np.ndarray]

    def __init__(self) -> None:
        object.__setattr__(self, "_params", {})
        object.__setattr__(self, "_children", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_params" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                                 f"before assigning {name!r}")
        for registry in (self._params, self._children, self._buffers):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            self._params[name] = value
        elif isinstance(value, Layer):
            self._children[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, value: Optional[np.ndarray]) -> None:
        """A non-trainable array saved in ``state_dict`` (e.g. running statistics)."""
        setattr(self, name, value)
        if value is not None:
            self._buffers[name] = value

    # ------------------------------------------------------------ computation
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # ------------------------------------------------------------ traversal
    def children(self) -> Iterator[tuple[str, "Layer"]]:
        yield from self._children.items()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        for name, p in self._params.items():
            yield prefix + name, p
        for name, child in self._children.items():
            yield from child.named_parameters(f"{prefix}{name}.")

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for name in self._buffers:
            yield prefix + name, getattr(self, name)
        for name, child in self._children.items():
            yield from child.named_buffers(f"{prefix}{name}.")

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode: bool = True) -> "Layer":
        object.__setattr__(self, "training", bool(mode))
        for _, child in self.children():
            child.train(mode)
        return self

    def eval(self) -> "Layer":
        return self.train(False)

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, by dotted name."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update({name: b.copy() for name, b in self.named_buffers()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Loads every parameter and buffer; checks all names, shapes and dtypes
        first and raises ValueError naming each mismatch, so a failed load
        changes nothing."""
        targets = dict(self.named_parameters())
        buffers = dict(self.named_buffers())
        problems = []
        expected = {name: p.data for name, p in targets.items()} | buffers
        for name in sorted(set(expected) - set(state)):
            problems.append(f"missing {name!r}")
        for name in sorted(set(state) - set(expected)):
            problems.append(f"unexpected {name!r}")
        for name in sorted(set(state) & set(expected)):
            got, want = np.asarray(state[name]), expected[name]
            if got.shape != want.shape:
                problems.append(f"{name!r} has shape {got.shape}, the model expects {want.shape}")
        if problems:
            raise ValueError("load_state_dict: " + "; ".join(problems))
        for name, arr in expected.items():
            arr[...] = np.asarray(state[name], dtype=arr.dtype)

    # ------------------------------------------------------------ conv arithmetic
    def output_shape(self, input_shape: Sequence[int]) -> tuple:
        """The output's per-sample shape for a per-sample input shape; the
        default is an elementwise layer's (unchanged)."""
        return tuple(input_shape)

    def macs(self, input_shape: Sequence[int]) -> int:
        """Multiply-accumulates of one sample's forward pass."""
        return 0

    def receptive_field(self, input_shape: Sequence[int]) -> Optional[list[tuple[int, int, int]]]:
        """Per spatial axis ``(k_eff, stride, pad_before)`` of a sliding-window
        layer (conv, pooling), or None for a layer that does not move the
        receptive field (elementwise, normalization)."""
        return None

    # ------------------------------------------------------------ model conveniences
    # Keras-like entry points; the work lives in training.py, io.py, summary.py.
    def fit(self, x: np.ndarray, y: np.ndarray, epochs: int = 1, batch_size: int = 32,
            **kwargs: Any) -> Any:
        """Trains the model: see :func:`convcore.training.fit`."""
        from ..training import fit

        return fit(self, x, y, epochs=epochs, batch_size=batch_size, **kwargs)

    def evaluate(self, x: np.ndarray, y: np.ndarray, **kwargs: Any) -> Any:
        """Loss and accuracy on (x, y): see :func:`convcore.training.evaluate`."""
        from ..training import evaluate

        return evaluate(self, x, y, **kwargs)

    def predict(self, x: np.ndarray, **kwargs: Any) -> np.ndarray:
        """Batched forward pass in eval mode: see :func:`convcore.training.predict`."""
        from ..training import predict

        return predict(self, x, **kwargs)

    def summary(self, input_shape: Sequence[int], **kwargs: Any) -> Any:
        """Prints and returns :func:`convcore.summary` of this model."""
        from ..summary import summary

        result = summary(self, input_shape, **kwargs)
        print(result)
        return result

    def save(self, path: str) -> None:
        """Atomically writes the weights and buffers to ``path`` (.npz): see :func:`convcore.io.save`."""
        from ..io import save

        save(self, path)

    def load(self, path: str) -> "Layer":
        """Loads weights saved by :meth:`save` (all or nothing): see :func:`convcore.io.load`."""
        from ..io import load

        load(self, path)
        return self

    # ------------------------------------------------------------ display
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = list(self.children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            lines += ["  " + ln for ln in f"({name}): {child!r}".splitlines()]
        return "\n".join(lines + [")"])

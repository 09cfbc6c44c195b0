"""The ``Layer`` base class and ``Parameter``: what every layer, container and
model in :mod:`convcore.nn` is built from.

A layer computes ``forward(x)`` on a batch, keeps what its ``backward`` needs,
and ``backward(grad_output)`` returns the gradient for its input while adding
the gradients of its parameters into ``param.grad`` (as PyTorch accumulates;
``zero_grad()`` clears them). Parameters, sub-layers and buffers (such as
batch-norm running statistics) assigned as attributes are registered in
assignment order, so ``parameters()``, ``state_dict()`` and the summary walk a
model in the order it was built.

Devices: ``model.to('cuda')`` (or ``'cuda:N'``, ``'cpu'``) moves every
parameter's data and gradient, every buffer and every array a layer keeps
(its last forward's saved inputs, indices, ...) to that device and returns
the model, as PyTorch's ``Module.to``; ``model.device`` tells where it is.
Layers then run on whatever device their input is on (the functional ops
accept convcore DeviceArrays). ``state_dict()`` always returns host (NumPy)
copies, so a model saved from one device loads on the other;
``load_state_dict`` copies the values to the model's device.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional, Sequence

import numpy as np

from .. import _ops

__all__ = ["Layer", "Parameter"]


class Parameter:
    """A trainable array and its gradient (same shape and dtype).

    ``lr_mult`` and ``decay_mult`` scale the optimizer's learning rate and
    weight decay for this parameter (Caffe's per-blob multipliers; optimizers
    group parameters by them)."""

    def __init__(self, data: Any, lr_mult: float = 1.0, decay_mult: float = 1.0) -> None:
        self.data: Any = data if _ops.is_device(data) else np.ascontiguousarray(data)
        self.grad: Any = _ops.zeros_like(self.data)
        self.lr_mult = float(lr_mult)
        self.decay_mult = float(decay_mult)

    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)

    @property
    def device(self) -> str:
        """'cpu' or 'cuda:N': where data and grad are."""
        return _ops.device_of(self.data)

    def to(self, device: str) -> "Parameter":
        """Moves data and grad to ``device`` (no copy when they are there); returns self."""
        name = _ops.require_device(device)
        self.data = _ops.to_device(self.data, name)
        self.grad = _ops.to_device(self.grad, name)
        return self

    def zero_grad(self) -> None:
        _ops.zero_(self.grad)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


def _host_copy(x: Any) -> np.ndarray:
    return x.numpy() if _ops.is_device(x) else np.array(x, copy=True)


def _move_value(value: Any, device: str) -> Any:
    """value with its arrays (also inside tuples and lists) on device; value
    itself when nothing moves."""
    if _ops.is_array(value):
        return _ops.to_device(value, device)
    if isinstance(value, (tuple, list)):
        items = [_move_value(v, device) for v in value]
        if all(a is b for a, b in zip(items, value)):
            return value
        return type(value)(items)
    return value


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

    # ------------------------------------------------------------ devices
    def to(self, device: str) -> "Layer":
        """Moves the model to ``device`` ('cpu', 'cuda' or 'cuda:N') and returns
        it: every parameter's data and grad, every buffer (batch-norm running
        statistics) and every array a layer keeps as an attribute (saved
        forward inputs, pooling indices, also inside tuples). ValueError for a
        malformed device string or a missing ordinal, RuntimeError for 'cuda'
        when no GPU can be used. Arrays already there are not copied (so
        ``to('cpu')`` on a CPU model changes nothing). An optimizer's state
        follows its parameters lazily, on its next step."""
        name = _ops.require_device(device)
        for p in self.parameters():
            p.to(name)
        for layer in self._layers():
            layer._move_arrays(name)
        return self

    def _layers(self) -> Iterator["Layer"]:
        yield self
        for _, child in self._children.items():
            yield from child._layers()

    def _move_arrays(self, device: str) -> None:
        """This layer's own array attributes (not its children's) on device."""
        for key, value in list(self.__dict__.items()):
            if key in ("_params", "_children", "_buffers") or isinstance(value, (Layer, Parameter)):
                continue
            moved = _move_value(value, device)
            if moved is not value:
                object.__setattr__(self, key, moved)
                if key in self._buffers:
                    self._buffers[key] = moved

    @property
    def device(self) -> str:
        """Where the model's parameters (else its buffers) are: 'cpu' or
        'cuda:N'; 'cpu' for a model with neither."""
        for p in self.parameters():
            return p.device
        for _, b in self.named_buffers():
            return _ops.device_of(b)
        return "cpu"

    def train(self, mode: bool = True) -> "Layer":
        object.__setattr__(self, "training", bool(mode))
        for _, child in self.children():
            child.train(mode)
        return self

    def eval(self) -> "Layer":
        return self.train(False)

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict[str, np.ndarray]:
        """Host (NumPy) copies of every parameter and buffer, by dotted name,
        whatever the model's device."""
        state = {name: _host_copy(p.data) for name, p in self.named_parameters()}
        state.update({name: _host_copy(b) for name, b in self.named_buffers()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Loads every parameter and buffer (NumPy or device arrays, copied to
        the model's device and converted to its dtypes, in place); checks all
        names and shapes first and raises ValueError naming each mismatch, so
        a failed load changes nothing."""
        targets = dict(self.named_parameters())
        buffers = dict(self.named_buffers())
        problems = []
        expected = {name: p.data for name, p in targets.items()} | buffers
        for name in sorted(set(expected) - set(state)):
            problems.append(f"missing {name!r}")
        for name in sorted(set(state) - set(expected)):
            problems.append(f"unexpected {name!r}")
        for name in sorted(set(state) & set(expected)):
            value = state[name]
            got = tuple(value.shape) if _ops.is_array(value) else np.shape(value)
            want = tuple(expected[name].shape)
            if got != want:
                problems.append(f"{name!r} has shape {got}, the model expects {want}")
        if problems:
            raise ValueError("load_state_dict: " + "; ".join(problems))
        for name, arr in expected.items():
            value = state[name]
            _ops.assign_(arr, value if _ops.is_array(value) else np.asarray(value))

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

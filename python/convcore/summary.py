"""``summary(model, input_shape)``: a per-layer table of output shapes,
parameters, activations, multiply-accumulates and receptive fields.

The walk uses only the layer protocol of :class:`convcore.nn.Layer`
(``output_shape``, ``macs``, ``receptive_field`` and ``parameters()``), all per
sample. ``Sequential`` containers are expanded recursively (rows named by the
dotted path, as in ``state_dict``); every other layer, blocks such as
``Residual`` and ``Concat`` included, is one row whose parameters and MACs are
the block's totals and whose receptive field is the block's own window.

Receptive-field arithmetic per spatial axis, for a layer window
``(k_eff, s, p_before)`` over an input with receptive field ``r``, jump ``j``
(distance between adjacent outputs, in input pixels) and ``start`` (centre of
the first output's field, pixel ``i`` spanning ``[i, i + 1)``)::

    j_out     = j * s
    r_out     = r + (k_eff - 1) * j
    start_out = start + ((k_eff - 1) / 2 - p_before) * j

starting from ``r = 1, j = 1, start = 0.5`` at the input. Layers that do not
move the window (elementwise, normalization, and everything after a
``Flatten``) report the receptive field of the last spatial layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence, Union

import numpy as np

from .nn.containers import Sequential
from .nn.layer import Layer

__all__ = ["Summary", "summary"]

#: A per-axis quantity: one number when every spatial axis agrees, else a tuple.
AxisValue = Union[None, int, float, tuple]


@dataclass
class Summary:
    """The result of :func:`summary`; ``str()`` of it is the printed table.

    ``rows``: one dict per layer with keys ``name``, ``type``, ``output_shape``,
    ``params``, ``activations`` (output elements per sample), ``macs``, ``rf``,
    ``jump`` and ``start``. ``total_activations`` sums the rows' outputs (the
    input is not counted); a backward pass keeps about as much again in
    gradients, hence the table's forward + backward figure of twice the bytes."""

    input_shape: tuple
    rows: list[dict[str, Any]]
    itemsize: int
    total_params: int = field(init=False)
    total_macs: int = field(init=False)
    total_activations: int = field(init=False)

    def __post_init__(self) -> None:
        self.total_params = sum(r["params"] for r in self.rows)
        self.total_macs = sum(r["macs"] for r in self.rows)
        self.total_activations = sum(r["activations"] for r in self.rows)

    @property
    def activation_bytes(self) -> int:
        """Bytes of every layer's output for one sample's forward pass."""
        return self.total_activations * self.itemsize

    def __str__(self) -> str:
        header = ("Layer", "Type", "Output shape", "Params", "MACs", "RF", "Jump", "Start")
        body = [(r["name"], r["type"], str(r["output_shape"]), f"{r['params']:,}",
                 f"{r['macs']:,}", _fmt(r["rf"]), _fmt(r["jump"]), _fmt(r["start"]))
                for r in self.rows]
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
        left = 3  # name, type and shape are left-aligned, numbers right-aligned

        def line(cells: Sequence[str]) -> str:
            return "  ".join(c.ljust(w) if i < left else c.rjust(w)
                             for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

        rule = "-" * len(line(header))
        act = self.total_activations
        totals = [
            f"Input shape: {self.input_shape} (per sample)",
            f"Total params: {self.total_params:,}",
            f"Activations (forward): {act:,} elements, {_bytes(act * self.itemsize)} per sample",
            f"Activations (forward + backward): {_bytes(2 * act * self.itemsize)} per sample",
            f"Total MACs: {self.total_macs:,} ({_si(self.total_macs)}MACs) per sample",
        ]
        return "\n".join([rule, line(header), rule, *map(line, body), rule, *totals])


def summary(model: Layer, input_shape: Sequence[int], dtype: Any = np.float32) -> Summary:
    """Walks ``model`` for one sample of shape ``input_shape`` (no batch axis,
    e.g. ``(3, 224, 224)``); ``dtype`` sets the bytes per activation."""
    given = tuple(int(d) for d in input_shape)
    if not given or any(d <= 0 for d in given):
        raise ValueError(f"summary: input_shape must be positive sizes, got {tuple(input_shape)}")
    shape, axes = given, len(given) - 1  # spatial axes: everything but the channel axis
    state = _Field([1] * axes, [1] * axes, [0.5] * axes)
    rows = []
    for name, layer in _leaves(model, ""):
        window = layer.receptive_field(shape)
        if window is not None:
            state.advance(window, name)
        out = tuple(layer.output_shape(shape))
        rows.append({
            "name": name or type(layer).__name__,
            "type": type(layer).__name__,
            "output_shape": out,
            "params": sum(int(p.data.size) for p in layer.parameters()),
            "activations": math.prod(out),
            "macs": int(layer.macs(shape)),
            "rf": _collapse(state.rf),
            "jump": _collapse(state.jump),
            "start": _collapse(state.start),
        })
        shape = out
    return Summary(given, rows, np.dtype(dtype).itemsize)


@dataclass
class _Field:
    """The running receptive field, jump and start of every spatial axis."""

    rf: list[int]
    jump: list[int]
    start: list[float]

    def advance(self, window: Sequence[tuple[int, int, int]], name: str) -> None:
        if len(window) != len(self.rf):
            raise ValueError(f"summary: layer {name!r} reports a window over {len(window)} "
                             f"spatial axes, the input has {len(self.rf)}")
        for i, (k, s, p) in enumerate(window):
            j = self.jump[i]
            self.start[i] += ((k - 1) / 2 - p) * j
            self.rf[i] += (k - 1) * j
            self.jump[i] = j * s


def _leaves(layer: Layer, name: str) -> Iterator[tuple[str, Layer]]:
    """Sequential containers expanded depth-first; anything else is one row."""
    if isinstance(layer, Sequential):
        for child_name, child in layer.children():
            yield from _leaves(child, f"{name}.{child_name}" if name else child_name)
    else:
        yield name, layer


def _collapse(values: list) -> AxisValue:
    if not values:
        return None
    return values[0] if all(v == values[0] for v in values) else tuple(values)


def _fmt(value: AxisValue) -> str:
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return "x".join(_fmt(v) for v in value)
    return f"{value:g}"


def _si(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n:g} "


def _bytes(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n:,} B ({n / scale:.2f} {unit})"
    return f"{n:,} B"

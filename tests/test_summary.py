"""convcore.summary: rows, totals and receptive-field arithmetic against hand
computations. The protocol stand-ins below describe only the conv arithmetic
(no forward), so these tests pin the walk itself; the zoo tests cover the real
layers."""

from __future__ import annotations

import numpy as np
import pytest

from convcore import Summary, summary
from convcore.nn import Layer, Parameter, Sequential


class Window(Layer):
    """A conv (out_channels > 0) or pool (out_channels = 0) window, square, NCHW."""

    def __init__(self, in_ch: int, out_ch: int, k: int, s: int = 1, p: int = 0) -> None:
        super().__init__()
        self.k, self.s, self.p, self.out_ch, self.in_ch = k, s, p, out_ch, in_ch
        if out_ch:
            self.weight = Parameter(np.zeros((out_ch, in_ch, k, k), np.float32))
            self.bias = Parameter(np.zeros(out_ch, np.float32))

    def output_shape(self, input_shape):
        c, *spatial = input_shape
        return (self.out_ch or c, *[(n + 2 * self.p - self.k) // self.s + 1 for n in spatial])

    def macs(self, input_shape):
        out = self.output_shape(input_shape)
        return int(np.prod(out)) * self.in_ch * self.k * self.k if self.out_ch else 0

    def receptive_field(self, input_shape):
        return [(self.k, self.s, self.p)] * (len(input_shape) - 1)


class Flat(Layer):
    def output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)


class Dense(Layer):
    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.weight = Parameter(np.zeros((n_out, n_in), np.float32))
        self.bias = Parameter(np.zeros(n_out, np.float32))

    def output_shape(self, input_shape):
        return (self.weight.shape[0],)

    def macs(self, input_shape):
        return self.weight.data.size


class Block(Layer):
    """A two-branch block: like Residual / Concat, one row with summed totals."""

    def __init__(self, a: Layer, b: Layer, concat: bool) -> None:
        super().__init__()
        self.a, self.b, self.concat = a, b, concat

    def output_shape(self, input_shape):
        oa, ob = self.a.output_shape(input_shape), self.b.output_shape(input_shape)
        return (oa[0] + ob[0], *oa[1:]) if self.concat else oa

    def macs(self, input_shape):
        return self.a.macs(input_shape) + self.b.macs(input_shape)

    def receptive_field(self, input_shape):
        windows = [w for w in (self.a.receptive_field(input_shape),
                               self.b.receptive_field(input_shape)) if w is not None]
        return max(windows, key=lambda w: w[0][0]) if windows else None


def alexnet_head() -> Sequential:
    return Sequential(Window(3, 96, 11, 4), Layer(), Window(96, 0, 3, 2),
                      Sequential(Window(96, 256, 5, 1, 2), Window(256, 0, 3, 2)),
                      Flat(), Dense(256 * 13 * 13, 10))


def test_alexnet_rows_by_hand():
    s = summary(alexnet_head(), (3, 227, 227))
    assert isinstance(s, Summary)
    names = [r["name"] for r in s.rows]
    assert names == ["0", "1", "2", "3.0", "3.1", "4", "5"]
    conv1, relu, pool1, conv2, pool2, flat, fc = s.rows
    assert conv1["type"] == "Window" and conv1["output_shape"] == (96, 55, 55)
    assert (conv1["rf"], conv1["jump"], conv1["start"]) == (11, 4, 5.5)
    assert conv1["params"] == 96 * 3 * 121 + 96
    assert conv1["macs"] == 96 * 55 * 55 * 3 * 121
    assert conv1["activations"] == 96 * 55 * 55
    # An elementwise layer keeps the field.
    assert (relu["rf"], relu["jump"], relu["start"], relu["params"]) == (11, 4, 5.5, 0)
    assert pool1["output_shape"] == (96, 27, 27)
    assert (pool1["rf"], pool1["jump"], pool1["start"]) == (19, 8, 9.5)
    # conv2 5x5 pad 2 at jump 8: r = 19 + 4 * 8, start = 9.5 + (2 - 2) * 8.
    assert (conv2["rf"], conv2["jump"], conv2["start"]) == (51, 8, 9.5)
    assert (pool2["rf"], pool2["jump"], pool2["start"]) == (67, 16, 17.5)
    assert pool2["output_shape"] == (256, 13, 13)
    # After the Flatten: the last spatial layer's field.
    assert (flat["rf"], flat["jump"], flat["start"]) == (67, 16, 17.5)
    assert (fc["rf"], fc["output_shape"], fc["params"]) == (67, (10,), 256 * 169 * 10 + 10)
    assert s.total_params == sum(p.data.size for p in alexnet_head().parameters())
    assert s.total_macs == sum(r["macs"] for r in s.rows)
    assert s.total_activations == sum(int(np.prod(r["output_shape"])) for r in s.rows)


def test_padding_moves_start_before_the_image():
    s = summary(Sequential(Window(1, 1, 3, 1, 1), Window(1, 1, 3, 2, 1)), (1, 8, 8))
    # 3x3 pad 1: start 0.5 + (1 - 1) = 0.5; then 3x3/2 pad 1: start 0.5, r 5, j 2.
    assert [(r["rf"], r["jump"], r["start"]) for r in s.rows] == [(3, 1, 0.5), (5, 2, 0.5)]
    s = summary(Window(1, 1, 3, 1, 2), (1, 8, 8))
    assert (s.rows[0]["start"], s.rows[0]["name"]) == (-0.5, "Window")


class Rect(Window):
    """A 3x5 window with strides 1 and 2."""

    def receptive_field(self, input_shape):
        return [(3, 1, 0), (5, 2, 0)]

    def output_shape(self, input_shape):
        return (1, input_shape[1] - 2, (input_shape[2] - 5) // 2 + 1)


def test_axes_that_differ_give_pairs():
    row = summary(Rect(1, 1, 3), (1, 9, 9)).rows[0]
    assert (row["rf"], row["jump"], row["start"]) == ((3, 5), (1, 2), (1.5, 2.5))
    assert row["output_shape"] == (1, 7, 3)


def test_blocks_are_one_row():
    body = Sequential(Window(8, 8, 3, 1, 1), Window(8, 8, 3, 1, 1))
    shortcut = Window(8, 8, 1)
    s = summary(Sequential(Window(3, 8, 3, 1, 1), Block(body, shortcut, concat=False),
                           Block(Window(8, 4, 1), Window(8, 6, 5, 1, 2), concat=True)), (3, 16, 16))
    assert [r["name"] for r in s.rows] == ["0", "1", "2"]
    res, cat = s.rows[1], s.rows[2]
    assert res["params"] == 2 * (8 * 8 * 9 + 8) + 8 * 8 + 8
    assert res["macs"] == 256 * 8 * 8 * (9 + 9 + 1)
    # The block's window is the body's composed 5x5: r = 3 + 4.
    assert (res["rf"], res["jump"], res["start"]) == (7, 1, 0.5)
    assert cat["output_shape"] == (10, 16, 16) and cat["activations"] == 2560
    assert cat["params"] == 8 * 4 + 4 + 8 * 6 * 25 + 6
    assert cat["rf"] == 11


def test_printed_table_and_totals():
    s = summary(alexnet_head(), (3, 227, 227), dtype=np.float64)
    text = str(s)
    act = s.total_activations
    assert f"Total params: {s.total_params:,}" in text
    assert f"{act:,} elements, {act * 8:,} B" in text
    assert f"(forward + backward): {2 * act * 8:,} B" in text
    assert f"Total MACs: {s.total_macs:,}" in text
    assert "3.0" in text and "19" in text and "9.5" in text
    assert s.activation_bytes == act * 8


def test_layer_summary_prints(capsys):
    result = alexnet_head().summary((3, 227, 227))
    assert isinstance(result, Summary) and "Total params" in capsys.readouterr().out


@pytest.mark.parametrize("shape", [(), (3, 0, 4), (3, -1)])
def test_bad_input_shape(shape):
    with pytest.raises(ValueError, match="input_shape"):
        summary(alexnet_head(), shape)


def test_window_axes_mismatch_is_named():
    with pytest.raises(ValueError, match="'0'.*2 spatial axes.*has 1"):
        summary(Sequential(Rect(1, 1, 3)), (1, 9))

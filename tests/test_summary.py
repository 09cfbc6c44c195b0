"""convcore.summary: rows, totals and receptive-field arithmetic against hand
computations, on the real layers (the zoo's summaries are in test_models)."""

from __future__ import annotations

import numpy as np
import pytest

from convcore import Summary, summary
from convcore.nn import (Concat, Conv1d, Conv2d, Flatten, Layer, Linear, LocalResponseNorm, MaxPool2d, ReLU,
                         Residual, Sequential)


def alexnet_head() -> Sequential:
    """AlexNet's first two stages, conv2 in a nested Sequential, and a head."""
    return Sequential(Conv2d(3, 96, 11, 4), ReLU(), MaxPool2d(3, 2),
                      Sequential(Conv2d(96, 256, 5, 1, 2), MaxPool2d(3, 2)),
                      Flatten(), Linear(256 * 13 * 13, 10))


def test_alexnet_rows_by_hand():
    s = summary(alexnet_head(), (3, 227, 227))
    assert isinstance(s, Summary)
    names = [r["name"] for r in s.rows]
    assert names == ["0", "1", "2", "3.0", "3.1", "4", "5"]
    conv1, relu, pool1, conv2, pool2, flat, fc = s.rows
    assert conv1["type"] == "Conv2d" and conv1["output_shape"] == (96, 55, 55)
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
    assert s.total_macs == 105_415_200 + 256 * 27 * 27 * 96 * 25 + 256 * 169 * 10 == 553_745_440
    assert s.total_activations == 2 * 96 * 55 * 55 + 96 * 27 * 27 + 256 * 27 * 27 + 2 * 256 * 169 + 10


def test_padding_moves_start_before_the_image():
    s = summary(Sequential(Conv2d(1, 1, 3, 1, 1), Conv2d(1, 1, 3, 2, 1)), (1, 8, 8))
    # 3x3 pad 1: start 0.5 + (1 - 1) = 0.5; then 3x3/2 pad 1: start 0.5, r 5, j 2.
    assert [(r["rf"], r["jump"], r["start"]) for r in s.rows] == [(3, 1, 0.5), (5, 2, 0.5)]
    s = summary(Conv2d(1, 1, 3, 1, 2), (1, 8, 8))
    assert (s.rows[0]["start"], s.rows[0]["name"]) == (-0.5, "Conv2d")
    # One spatial axis (Conv1d): plain numbers.
    row = summary(Conv1d(2, 4, 5, stride=2), (2, 21)).rows[0]
    assert (row["rf"], row["jump"], row["start"], row["output_shape"]) == (5, 2, 2.5, (4, 9))
    # Dilation 2: k_eff 5.
    row = summary(Conv2d(1, 1, 3, dilation=2), (1, 9, 9)).rows[0]
    assert (row["rf"], row["start"], row["output_shape"]) == (5, 2.5, (1, 5, 5))


def test_axes_that_differ_give_pairs():
    row = summary(Conv2d(1, 2, (3, 5), stride=(1, 2)), (1, 9, 9)).rows[0]
    assert (row["rf"], row["jump"], row["start"]) == ((3, 5), (1, 2), (1.5, 2.5))
    assert row["output_shape"] == (2, 7, 3)
    assert row["macs"] == 2 * 7 * 3 * 15


def test_blocks_are_one_row():
    body = Sequential(Conv2d(8, 8, 3, 1, 1), ReLU(), Conv2d(8, 8, 3, 1, 1))
    s = summary(Sequential(Conv2d(3, 8, 3, 1, 1), Residual(body, Conv2d(8, 8, 1)),
                           Concat(Conv2d(8, 4, 1), Conv2d(8, 6, 5, 1, 2)), LocalResponseNorm(3)),
                (3, 16, 16))
    assert [r["name"] for r in s.rows] == ["0", "1", "2", "3"]
    assert [r["type"] for r in s.rows] == ["Conv2d", "Residual", "Concat", "LocalResponseNorm"]
    res, cat, lrn = s.rows[1:]
    assert res["params"] == 2 * (8 * 8 * 9 + 8) + 8 * 8 + 8
    assert res["macs"] == 256 * 8 * 8 * (9 + 9 + 1)
    # The block's window is the body's composed 5x5: r = 3 + 4.
    assert (res["rf"], res["jump"], res["start"]) == (7, 1, 0.5)
    assert cat["output_shape"] == (10, 16, 16) and cat["activations"] == 2560
    assert cat["params"] == 8 * 4 + 4 + 8 * 6 * 25 + 6
    assert cat["macs"] == 256 * (8 * 4 + 8 * 6 * 25)
    assert (cat["rf"], lrn["rf"], lrn["params"]) == (11, 11, 0)
    assert s.total_params == sum(r["params"] for r in s.rows)


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


class TwoAxisWindow(Layer):
    """A test-local layer that claims a 2-D window whatever its input."""

    def receptive_field(self, input_shape):
        return [(3, 1, 0), (3, 1, 0)]


def test_window_axes_mismatch_is_named():
    with pytest.raises(ValueError, match="'1'.*2 spatial axes.*has 1"):
        summary(Sequential(ReLU(), TwoAxisWindow()), (1, 9))

"""ShuffleNet's ShuffleChannel (farmingyard/ShuffleNet shuffle_channel_layer.cpp): the channel
permutation, the fork's legacy 4-D top, and the fork's aborts as typed errors. Every target is
checked in tests/test_mobile_targets.py."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from one_layer import reference

import caffe2x
from caffe2x.cli import main
from caffe2x.errors import ShapeError
from caffe2x.families.mobile.shuffle_channel import channel_order
from caffe2x.io.prototxt import parse_prototxt_text


def fork_forward(x: np.ndarray, group: int) -> np.ndarray:
    """Forward_cpu as the fork writes it: Resize_cpu copies input channel block (i, j) of the
    group_row x group_column grid to output block (j, i), item by item."""
    num, channels = x.shape[:2]
    rows, columns = group, channels // group
    flat_in = x.reshape(num, channels, -1)
    out = np.empty_like(flat_in)
    for n in range(num):
        for i in range(rows):
            for j in range(columns):
                out[n, j * rows + i] = flat_in[n, i * columns + j]
    return out.reshape(x.shape)


def _layer(group_block: str) -> str:
    return f'layer {{ name: "shuffle" type: "ShuffleChannel" bottom: "in0" top: "out" {group_block} }}'


def test_the_permutation_by_hand():
    assert channel_order(6, 2) == [0, 3, 1, 4, 2, 5]
    assert channel_order(6, 3) == [0, 2, 4, 1, 3, 5]
    assert channel_order(6, 1) == [0, 1, 2, 3, 4, 5]
    assert channel_order(6, 6) == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize("group", [1, 2, 3, 4, 8])
def test_the_reference_moves_values_as_the_forks_loops(group):
    x = np.random.default_rng(group).standard_normal((2, 24, 3, 5)).astype(np.float32)
    got, _ = reference(_layer(f"shuffle_channel_param {{ group: {group} }}"), x)
    assert np.array_equal(got, fork_forward(x, group))


def test_the_default_group_is_one_and_a_2d_bottom_gets_the_forks_4d_top():
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    got, _ = reference(_layer(""), x)
    assert got.shape == (2, 6, 1, 1) and np.array_equal(got.reshape(2, 6), x)
    got, _ = reference(_layer("shuffle_channel_param { group: 2 }"), x)
    assert np.array_equal(got.reshape(2, 6), x[:, [0, 3, 1, 4, 2, 5]])


def _net(shape, group: int) -> str:
    dims = " ".join(f"dim: {d}" for d in shape)
    return (f'layer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ {dims} }} }} }}\n'
            f'layer {{ name: "shuffle1" type: "ShuffleChannel" bottom: "data" top: "s" '
            f"shuffle_channel_param {{ group: {group} }} }}\n")


@pytest.mark.parametrize(("shape", "group", "message"), [
    ((1, 6, 4, 4), 4, "group 4 does not divide the 6 channels"),
    ((1, 6, 4, 4), 0, "must be greater than 0"),
    ((1, 6, 2, 2, 2), 2, "needs 2 to 4 axes"),
])
def test_bad_groups_and_ranks_are_shape_errors_naming_the_layer(shape, group, message):
    with pytest.raises(ShapeError, match=message) as error:
        caffe2x.graph_from_net(parse_prototxt_text(_net(shape, group)))
    assert "shuffle1" in str(error.value)


def test_the_cli_refuses_a_group_that_does_not_divide_the_channels_and_writes_nothing(tmp_path):
    (tmp_path / "net.prototxt").write_text(_net((1, 6, 4, 4), 4))
    out = tmp_path / "out.onnx"
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "net.prototxt"), "--to", "onnx", "-o", str(out),
                                       "--random-weights"])
    assert result.exit_code == 2, result.output
    assert "shuffle1" in result.output and "does not divide" in result.output and "Traceback" not in result.output
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["net.prototxt"]

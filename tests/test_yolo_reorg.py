"""YOLO v2's Reorg (eric612/MobileNet-YOLO reorg_layer.cpp): the fork's darknet index map, both
directions, against its loops written out (tests/yolo_fork.py); the fork's out-of-bounds cases as
typed errors. Every target: tests/test_yolo_targets.py."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from one_layer import reference
from yolo_fork import reorg_forward

import caffe2x
from caffe2x.cli import main
from caffe2x.errors import ShapeError
from caffe2x.io.prototxt import parse_prototxt_text


def _layer(block: str) -> str:
    return f'layer {{ name: "reorg" type: "Reorg" bottom: "in0" top: "out" {block} }}'


@pytest.mark.parametrize(("shape", "stride", "reverse"), [
    ((1, 16, 6, 8), 2, False), ((2, 8, 4, 4), 2, False), ((1, 18, 6, 3), 3, False), ((1, 4, 3, 5), 1, False),
    ((1, 16, 6, 8), 2, True), ((2, 8, 3, 5), 2, True), ((1, 18, 2, 4), 3, True),
])
def test_the_reference_moves_values_as_the_forks_loops(shape, stride, reverse):
    x = np.random.default_rng(stride).standard_normal(shape).astype(np.float32)
    got, _ = reference(_layer(f"reorg_param {{ stride: {stride} reverse: {str(reverse).lower()} }}"), x)
    want = reorg_forward(x, stride, reverse)
    assert got.shape == want.shape and np.array_equal(got, want)


def test_the_default_is_darknets_quirk_not_space_to_depth():
    """1 x 4 x 2 x 2, stride 2: the top's first channel takes the bottom's buffer read as
    (1, 4, 4): elements 0, 2, 8, 10 of it, i.e. channel 0 (0, 0), (0, 2)... of the (1, 4, 4) view."""
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 2, 2)
    got, _ = reference(_layer("reorg_param { stride: 2 }"), x)
    assert got.shape == (1, 16, 1, 1)
    assert got.reshape(-1).tolist() == [0, 2, 8, 10, 1, 3, 9, 11, 4, 6, 12, 14, 5, 7, 13, 15]
    space_to_depth = x.reshape(1, 4, 1, 2, 1, 2).transpose(0, 3, 5, 1, 2, 4).reshape(-1)
    assert got.reshape(-1).tolist() != space_to_depth.tolist()


def _net(shape, block: str) -> str:
    dims = " ".join(f"dim: {d}" for d in shape)
    return (f'layer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ {dims} }} }} }}\n'
            f'layer {{ name: "reorg1" type: "Reorg" bottom: "data" top: "r" {block} }}\n')


@pytest.mark.parametrize(("shape", "block", "message"), [
    ((1, 8, 5, 4), "reorg_param { stride: 2 }", "does not divide the bottom's height 5 and width 4"),
    ((1, 8, 4, 6), "reorg_param { stride: 4 }", "the 8 channels are not a multiple of stride"),
    ((1, 6, 4, 4), "reorg_param { stride: 2 reverse: true }", "the 6 channels are not a multiple"),
    ((1, 8, 4, 4), "", "must give stride"),
    ((1, 8, 4, 4), "reorg_param { stride: 0 }", "must be at least 1"),
    ((1, 8, 4), "reorg_param { stride: 2 }", "4-D bottom"),
])
def test_the_forks_out_of_bounds_cases_are_shape_errors_naming_the_layer(shape, block, message):
    with pytest.raises(ShapeError, match=message) as error:
        caffe2x.graph_from_net(parse_prototxt_text(_net(shape, block)))
    assert "reorg1" in str(error.value)


def test_the_cli_refuses_a_stride_that_does_not_divide_and_writes_nothing(tmp_path):
    (tmp_path / "net.prototxt").write_text(_net((1, 8, 5, 4), "reorg_param { stride: 2 }"))
    out = tmp_path / "out.onnx"
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "net.prototxt"), "--to", "onnx", "-o", str(out),
                                       "--random-weights"])
    assert result.exit_code == 2, result.output
    assert "reorg1" in result.output and "Traceback" not in result.output
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["net.prototxt"]

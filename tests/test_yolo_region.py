"""The caffe-yolov2 ports' Region (lwplw/caffe_yolov2 region_layer.cpp): the transposed records,
logistic objectness and optional softmax, against the fork's loops written out (tests/yolo_fork.py);
records that do not fit the channels as typed errors. Every target: tests/test_yolo_targets.py."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from one_layer import reference
from yolo_fork import region_forward

import caffe2x
from caffe2x.cli import main
from caffe2x.errors import ShapeError
from caffe2x.io.prototxt import parse_prototxt_text


def _layer(classes, coords, boxes, softmax) -> str:
    return (f'layer {{ name: "region" type: "Region" bottom: "in0" top: "out" region_param {{ classes: {classes} '
            f"coords: {coords} boxes_of_each_grid: {boxes} softmax: {str(softmax).lower()} }} }}")


@pytest.mark.parametrize(("shape", "classes", "coords", "boxes", "softmax"), [
    ((1, 40, 5, 5), 3, 4, 5, True), ((2, 40, 3, 4), 3, 4, 5, True), ((1, 40, 5, 5), 3, 4, 5, False),
    ((2, 16, 2, 3), 2, 5, 2, True), ((1, 125, 4, 4), 20, 4, 5, True),
])
def test_the_reference_matches_the_forks_loops(shape, classes, coords, boxes, softmax):
    x = (3 * np.random.default_rng(classes).standard_normal(shape)).astype(np.float32)
    got, _ = reference(_layer(classes, coords, boxes, softmax), x)
    want = region_forward(x, classes, coords, boxes, softmax)
    assert got.shape == x.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-7)


def test_the_defaults_are_twenty_classes_five_boxes_and_no_softmax():
    x = np.random.default_rng(0).standard_normal((1, 125, 2, 2)).astype(np.float32)
    got, _ = reference('layer { name: "region" type: "Region" bottom: "in0" top: "out" }', x)
    np.testing.assert_allclose(got, region_forward(x, 20, 4, 5, False), rtol=0, atol=2e-7)


def _net(shape, block: str) -> str:
    dims = " ".join(f"dim: {d}" for d in shape)
    return (f'layer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ {dims} }} }} }}\n'
            f'layer {{ name: "region1" type: "Region" bottom: "data" top: "r" region_param {{ {block} }} }}\n')


@pytest.mark.parametrize(("shape", "block", "message"), [
    ((1, 41, 5, 5), "classes: 3 boxes_of_each_grid: 5", "41 channels, but boxes_of_each_grid 5"),
    ((1, 35, 5, 5), "classes: 3 coords: 3 boxes_of_each_grid: 5", "coords must be at least 4"),
    ((1, 40, 5), "classes: 3 boxes_of_each_grid: 5", "4-D bottom"),
])
def test_records_that_do_not_fit_are_shape_errors_naming_the_layer(shape, block, message):
    with pytest.raises(ShapeError, match=message) as error:
        caffe2x.graph_from_net(parse_prototxt_text(_net(shape, block)))
    assert "region1" in str(error.value)


def test_the_cli_refuses_a_channel_mismatch_and_writes_nothing(tmp_path):
    (tmp_path / "net.prototxt").write_text(_net((1, 41, 5, 5), "classes: 3 boxes_of_each_grid: 5"))
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "net.prototxt"), "--to", "onnx", "-o",
                                       str(tmp_path / "out.onnx"), "--random-weights"])
    assert result.exit_code == 2 and "region1" in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.prototxt"]

"""SENet's Axpy (hujie-frank/SENet axpy_layer.cpp): a * x + y with one a per item and channel,
and Reshape's CHECKs as typed errors. Every target is checked in tests/test_mobile_targets.py."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from one_layer import reference

import caffe2x
from caffe2x.cli import main
from caffe2x.errors import GraphError, ShapeError
from caffe2x.io.prototxt import parse_prototxt_text

AXPY = 'layer { name: "scale" type: "Axpy" bottom: "in0" bottom: "in1" bottom: "in2" top: "out" }'


def test_a_times_x_plus_y_by_hand():
    a = np.array([[2.0, -1.0], [0.5, 0.0]], np.float32)  # N = 2, C = 2
    x = np.arange(16, dtype=np.float32).reshape(2, 2, 2, 2)
    y = np.full((2, 2, 2, 2), 10.0, np.float32)
    got, _ = reference(AXPY, a, x, y)
    want = np.array([[[[10, 12], [14, 16]], [[6, 5], [4, 3]]],
                     [[[14, 14.5], [15, 15.5]], [[10, 10], [10, 10]]]])
    assert np.array_equal(got, want)
    got4, _ = reference(AXPY, a.reshape(2, 2, 1, 1), x, y)  # the SE branch's N x C x 1 x 1
    assert np.array_equal(got4, want)


def _net(a, x, y) -> str:
    lines = [f'layer {{ name: "{name}" type: "Input" top: "{name}" input_param {{ shape {{ '
             + " ".join(f"dim: {d}" for d in shape) + " } } }" for name, shape in (("a", a), ("x", x), ("y", y))]
    return "\n".join(lines) + '\nlayer { name: "conv2_1" type: "Axpy" bottom: "a" bottom: "x" bottom: "y" top: "z" }\n'


@pytest.mark.parametrize(("a", "x", "y", "message"), [
    ((2, 3, 1, 1), (1, 3, 4, 4), (1, 3, 4, 4), "must start with x's N and C"),  # CHECK_EQ shape(0)
    ((1, 4, 1, 1), (1, 3, 4, 4), (1, 3, 4, 4), "must start with x's N and C"),  # CHECK_EQ shape(1)
    ((1, 3, 2, 1), (1, 3, 4, 4), (1, 3, 4, 4), "one value per item and channel"),  # CHECK_EQ shape(2), 1
    ((1, 3, 1, 1), (1, 3, 4, 4), (1, 3, 4, 2), "must have the same shape"),  # CHECK x.shape == y.shape
    ((1, 3, 1, 1), (1, 3, 2, 2, 2), (1, 3, 2, 2, 2), "needs 2 to 4 axes"),
])
def test_the_forks_checks_are_shape_errors_naming_the_layer(a, x, y, message):
    with pytest.raises(ShapeError, match=message) as error:
        caffe2x.graph_from_net(parse_prototxt_text(_net(a, x, y)))
    assert "conv2_1" in str(error.value)


def test_axpy_takes_exactly_three_bottoms():
    net = _net((1, 3, 1, 1), (1, 3, 4, 4), (1, 3, 4, 4)).replace(' bottom: "y"', "")
    with pytest.raises(GraphError, match="conv2_1"):
        caffe2x.graph_from_net(parse_prototxt_text(net))


def test_the_cli_refuses_a_scale_of_another_shape_and_writes_nothing(tmp_path):
    (tmp_path / "net.prototxt").write_text(_net((1, 4, 1, 1), (1, 3, 4, 4), (1, 3, 4, 4)))
    out = tmp_path / "saved"
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "net.prototxt"), "--to", "tensorflow", "-o",
                                       str(out), "--random-weights"])
    assert result.exit_code == 2, result.output
    assert "conv2_1" in result.output and "N and C" in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.prototxt"]

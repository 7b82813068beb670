"""BVLC master's Clip (clip_layer.cpp) and Swish (swish_layer.cpp), with their blocks from
BVLC's own schema (clip_param = 148, swish_param = 147). Every target is checked in
tests/test_mobile_targets.py."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from one_layer import reference

from caffe2x.cli import main
from caffe2x.families.bvlc.swish import caffe_sigmoid

X = np.array([[-3.0, -1.0, -0.25, 0.0, 0.25, 1.0, 3.0]], np.float32)


@pytest.mark.parametrize(("block", "want"), [
    ("clip_param { min: -0.5 max: 1 }", [-0.5, -0.5, -0.25, 0, 0.25, 1, 1]),
    ("clip_param { min: 1 max: -1 }", [1, 1, 1, 1, 1, 1, 1]),  # max(min, min(x, max)): min wins
    ("", [0, 0, 0, 0, 0, 0, 0]),  # no block: BVLC's default instance, min = max = 0
])
def test_clip_by_hand(block, want):
    got, _ = reference(f'layer {{ name: "c" type: "Clip" bottom: "in0" top: "out" {block} }}', X)
    assert np.array_equal(got, np.float32([want]))


@pytest.mark.parametrize("beta", [1.0, 2.5, -0.5])
def test_swish_by_hand(beta):
    block = "" if beta == 1.0 else f"swish_param {{ beta: {beta} }}"
    got, _ = reference(f'layer {{ name: "s" type: "Swish" bottom: "in0" top: "out" {block} }}', X)
    x = X.astype(np.float64)
    assert np.allclose(got, x / (1 + np.exp(-beta * x)), rtol=1e-7, atol=1e-8)


def test_caffes_sigmoid_form():
    assert caffe_sigmoid(np.float64(0)) == 0.5 and np.isclose(caffe_sigmoid(np.float64(2)), 1 / (1 + np.exp(-2)))


def test_a_clip_block_missing_a_required_bound_exits_2_and_writes_nothing(tmp_path):
    (tmp_path / "net.prototxt").write_text(
        'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 } } }\n'
        'layer { name: "clip1" type: "Clip" bottom: "data" top: "c" clip_param { min: 0 } }\n')
    out = tmp_path / "out.onnx"
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "net.prototxt"), "--to", "onnx", "-o", str(out), "--random-weights"])
    assert result.exit_code == 2, result.output
    assert "clip1" in result.output and "lacks max" in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.prototxt"]

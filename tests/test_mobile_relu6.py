"""The mobile forks' ReLU6 (rog93/Caffe-MobileNetV2-ReLU6 relu6_layer.cpp, copied by
eric612/MobileNet-YOLO and troyliu0105/caffe): min(max(x, 0) + negative_slope * min(x, 0), 6).
Every target is checked in tests/test_mobile_targets.py."""

from __future__ import annotations

import numpy as np
import pytest
from one_layer import reference

from caffe2x.io.params import PARAMS, fork_param
from caffe2x.io.prototxt import parse_prototxt_text

X = np.array([[-10.0, -2.0, -0.5, 0.0, 0.5, 5.9, 6.0, 7.5]], np.float32)


@pytest.mark.parametrize(("block", "want"), [
    ("", [0, 0, 0, 0, 0.5, 5.9, 6, 6]),
    ("relu6_param { negative_slope: 0.1 }", [-1.0, -0.2, -0.05, 0, 0.5, 5.9, 6, 6]),
    # a negative slope makes the leak positive: the cap of 6 applies to it as well
    ("relu6_param { negative_slope: -1 }", [6, 2, 0.5, 0, 0.5, 5.9, 6, 6]),
])
def test_relu6_by_hand(block, want):
    got, _ = reference(f'layer {{ name: "r" type: "ReLU6" bottom: "in0" top: "out" {block} }}', X)
    assert got.shape == X.shape and np.allclose(got, np.float32([want]), rtol=0, atol=1e-7)


def test_the_block_is_declared_with_the_forks_number_and_default():
    """eric612/MobileNet-YOLO's declaration (BVLC's ReLUParameter at 211), whose negative_slope
    is rog93's ReLU6Parameter's field 1 too: both forks' prototxts read."""
    net = parse_prototxt_text('layer { name: "r" type: "ReLU6" relu6_param { negative_slope: 0.25 } }\n'
                              'layer { name: "s" type: "ReLU6" relu6_param { engine: CAFFE } }')
    assert fork_param(net.layer[0], "relu6_param").negative_slope == 0.25
    assert fork_param(net.layer[1], "relu6_param").negative_slope == 0.0
    declared = PARAMS["relu6_param"]
    assert (declared.number, declared.message.name) == (211, "ReLUParameter")  # eric612's and troyliu0105's

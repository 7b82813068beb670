"""Interp (hszhao/PSPNet, DeepLab v2): the fork's size rules and align_corners bilinear
resizing, against a literal transcription of interp.cpp's loop, on all four targets."""

from __future__ import annotations

import numpy as np
import pytest
from segmentation_nets import case, input_layer, refused_by_cli

import caffe2x
from caffe2x import api
from caffe2x.errors import ShapeError
from caffe2x.families.segmentation.interp import interpolate
from caffe2x.io.prototxt import parse_prototxt_text

TOLERANCE = 1e-6

# (input H, W), interp_param, output (H, W): hand-computed from interp_layer.cpp, Reshape.
SIZES = [
    ((60, 60), "zoom_factor: 8", (473, 473)),  # PSPNet: H + (H - 1)(z - 1)
    ((65, 33), "shrink_factor: 2", (33, 17)),  # (H - 1) / s + 1
    ((65, 33), "shrink_factor: 2 zoom_factor: 3", (97, 49)),  # shrink, then zoom
    ((5, 7), "height: 3 width: 11", (3, 11)),
    ((5, 7), "zoom_factor: 2 height: 3 width: 11", (9, 13)),  # a factor wins over height/width
    ((10, 12), "zoom_factor: 2 pad_beg: -1 pad_end: -2", (13, 17)),  # crop 3 first: 7 x 9
    ((1, 1), "zoom_factor: 4", (1, 1)),
    ((5, 7), "shrink_factor: 1", (5, 7)),  # equal sizes: the fork copies
]


def _interp_net(shape, block: str, name: str = "interp") -> str:
    return (input_layer("d", (1, 2, *shape)) +
            f'\nlayer {{ name: "{name}" type: "Interp" bottom: "d" top: "{name}" interp_param {{ {block} }} }}')


@pytest.mark.parametrize("shape, block, out", SIZES)
def test_the_forks_size_rules(shape, block, out):
    graph = caffe2x.graph_from_net(parse_prototxt_text(_interp_net(shape, block)))
    assert graph.values[graph.nodes[-1].outputs[0]].shape == (1, 2, *out)


@pytest.mark.parametrize("block, message", [
    ("pad_beg: 1", "must be <= 0"),
    ("pad_end: 2 zoom_factor: 2", "must be <= 0"),
    ("", "must give zoom_factor, shrink_factor"),
    ("height: 5", "must give zoom_factor, shrink_factor"),  # width missing: the fork's LOG(FATAL)
    ("zoom_factor: 0", "zoom_factor must be >= 1"),
    ("shrink_factor: -2", "shrink_factor must be >= 1"),
    ("height: 0 width: 4", "both sides must be positive"),
    ("zoom_factor: 2 pad_beg: -3 pad_end: -2", "crop the whole"),
])
def test_the_forks_checks_are_shape_errors_naming_the_layer(block, message):
    with pytest.raises(ShapeError, match=rf"'interp'.*{message}"):
        caffe2x.graph_from_net(parse_prototxt_text(_interp_net((5, 5), block)))


def test_a_bad_interp_exits_2_and_writes_nothing(tmp_path):
    refused_by_cli(tmp_path, _interp_net((5, 5), "pad_beg: 1 zoom_factor: 2"), "must be <= 0")


def _interp2_literally(x: np.ndarray, height2: int, width2: int) -> np.ndarray:
    """interp.cpp, caffe_cpu_interp2 (not packed), line by line, in float32."""
    f32 = np.float32
    _, _, height1, width1 = x.shape
    out = np.zeros(x.shape[:2] + (height2, width2), np.float32)
    rheight = f32(height1 - 1) / f32(height2 - 1) if height2 > 1 else f32(0)
    rwidth = f32(width1 - 1) / f32(width2 - 1) if width2 > 1 else f32(0)
    for h2 in range(height2):
        h1r = f32(rheight * f32(h2))
        h1 = int(h1r)
        h1p = 1 if h1 < height1 - 1 else 0
        h1lambda = f32(h1r - f32(h1))
        h0lambda = f32(1) - h1lambda
        for w2 in range(width2):
            w1r = f32(rwidth * f32(w2))
            w1 = int(w1r)
            w1p = 1 if w1 < width1 - 1 else 0
            w1lambda = f32(w1r - f32(w1))
            w0lambda = f32(1) - w1lambda
            p = x[:, :, h1:h1 + 2, w1:w1 + 2]
            out[:, :, h2, w2] = (h0lambda * (w0lambda * p[:, :, 0, 0] + w1lambda * p[:, :, 0, w1p]) +
                                 h1lambda * (w0lambda * p[:, :, h1p, 0] + w1lambda * p[:, :, h1p, w1p]))
    return out


@pytest.mark.parametrize("shape, size", [((4, 6), (13, 16)), ((7, 3), (3, 9)), ((1, 5), (4, 1)), ((6, 6), (1, 1))])
def test_the_reference_is_the_forks_loop(shape, size):
    x = np.random.default_rng(1).standard_normal((2, 3, *shape)).astype(np.float32)
    want = _interp2_literally(x, *size)
    got = interpolate(x.astype(np.float64), size)
    assert np.abs(got - want).max() <= 4e-7 * np.abs(want).max()


VARIANTS = ["zoom_factor: 3", "shrink_factor: 2", "height: 1 width: 9", "height: 33 width: 1",
            "zoom_factor: 2 shrink_factor: 2 pad_beg: -1", "height: 4 width: 6 pad_beg: -1 pad_end: -1",
            "height: 3 width: 5 pad_beg: -1 pad_end: -1", "zoom_factor: 8"]


@pytest.fixture(scope="module")
def variants():
    lines = [input_layer("d", (2, 3, 5, 7))]
    lines += [f'layer {{ name: "i{i}" type: "Interp" bottom: "d" top: "i{i}" interp_param {{ {block} }} }}'
              for i, block in enumerate(VARIANTS)]
    return case("\n".join(lines))


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_every_target_matches(variants, target):
    graph, inputs, blobs = variants
    result = api.verify(graph, target, inputs, blobs, tolerance=TOLERANCE)
    assert {f"i{i}" for i in range(len(VARIANTS))} <= {r.layer for r in result.records}
    assert result.passed, result.first_divergence


def test_tflite_uses_its_builtin_align_corners_resize(variants, tmp_path):
    import tensorflow as tf

    graph, _, _ = variants
    (path,) = api.convert(graph, "tflite", tmp_path / "model.tflite")
    interpreter = tf.lite.Interpreter(model_path=str(path))
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    assert "RESIZE_BILINEAR" in ops and not any("FLEX" in op or "CUSTOM" in op for op in ops), ops


def test_an_interp_size_that_does_not_match_the_branch_it_joins_exits_2(tmp_path):
    """PSPNet's pyramid: each bin's Interp must give the feature map's size for the Concat."""
    net = (input_layer("feat", (1, 4, 12, 12)) + '''
layer { name: "bin2" type: "Pooling" bottom: "feat" top: "bin2" pooling_param { pool: AVE kernel_size: 6 stride: 6 } }
layer { name: "bin2_interp" type: "Interp" bottom: "bin2" top: "bin2_interp" interp_param { height: 13 width: 12 } }
layer { name: "psp_concat" type: "Concat" bottom: "feat" bottom: "bin2_interp" top: "psp_concat" }''')
    refused_by_cli(tmp_path, net, "psp_concat")

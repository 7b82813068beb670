"""Upsample: SegNet's max-unpooling (data + a MAX Pooling's mask; the later write wins) and the
YOLO ports' nearest form, reference and all four targets; the bad inputs of the issue."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from segmentation_nets import case, input_layer, refused_by_cli

import caffe2x
from caffe2x import api
from caffe2x.errors import ShapeError
from caffe2x.families.segmentation.maxunpool import unpool
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.reference import run

DATA = input_layer("d", (2, 3, 7, 8))
SEGNET = DATA + '''
layer { name: "p1" type: "Pooling" bottom: "d" top: "p1" top: "m1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "u1" type: "Upsample" bottom: "p1" bottom: "m1" top: "u1" upsample_param { scale: 2 pad_out_h: true } }
layer { name: "u2" type: "Upsample" bottom: "p1" bottom: "m1" top: "u2" upsample_param { upsample_h: 7 upsample_w: 8 } }
layer { name: "u3" type: "Upsample" bottom: "p1" bottom: "m1" top: "u3" upsample_param { scale_h: 2 scale_w: 3 } }
layer { name: "u4" type: "Upsample" bottom: "p1" bottom: "m1" top: "u4" upsample_param { pad_out_w: true } }
layer { name: "u5" type: "Upsample" bottom: "p1" bottom: "m1" top: "u5" upsample_param { scale: 2 upsample_h: 7 upsample_w: 9 } }
layer { name: "n1" type: "Upsample" bottom: "d" top: "n1" upsample_param { scale: 3 } }
layer { name: "n2" type: "Upsample" bottom: "d" top: "n2" }
'''
OVERLAPPING = DATA + '''
layer { name: "p2" type: "Pooling" bottom: "d" top: "p2" top: "m2" pooling_param { pool: MAX kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "s2" type: "Scale" bottom: "p2" top: "s2" scale_param { bias_term: true } }
layer { name: "u4" type: "Upsample" bottom: "s2" bottom: "m2" top: "u4" upsample_param { upsample_h: 7 upsample_w: 8 } }
layer { name: "u5" type: "Upsample" bottom: "s2" bottom: "m2" top: "u5" upsample_param { upsample_h: 8 upsample_w: 9 } }
layer { name: "p3" type: "Pooling" bottom: "d" top: "p3" top: "m3" pooling_param { pool: MAX kernel_h: 3 kernel_w: 4 stride_h: 1 stride_w: 2 pad_h: 1 pad_w: 0 } }
layer { name: "s3" type: "Scale" bottom: "p3" top: "s3" scale_param { bias_term: true } }
layer { name: "u6" type: "Upsample" bottom: "s3" bottom: "m3" top: "u6" upsample_param { upsample_h: 7 upsample_w: 8 } }
'''


@pytest.fixture(scope="module")
def segnet():
    return case(SEGNET)


@pytest.fixture(scope="module")
def overlapping():
    return case(OVERLAPPING)


def test_values_go_to_their_mask_positions_and_the_later_one_wins():
    data = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    mask = np.array([[[[0.0, 5.0], [5.0, 3.0]]]])  # positions 1 and 2 both name cell 5
    got = unpool(data, mask, (2, 3), "up")
    assert np.array_equal(got, [[[[1.0, 0.0, 0.0], [4.0, 0.0, 3.0]]]])


def test_a_mask_index_past_the_top_is_an_error_as_the_fork_aborts():
    with pytest.raises(ShapeError, match=r"'up'.*past the 2 x 2 top"):
        unpool(np.ones((1, 1, 1, 2)), np.array([[[[0.0, 4.0]]]]), (2, 2), "up")


def test_the_sizes(segnet):
    graph, inputs, blobs = segnet
    shapes = {node.name: graph.values[node.outputs[0]].shape for node in graph.nodes}
    assert shapes["u1"] == (2, 3, 7, 8)  # 4 * 2 - pad_out_h, 4 * 2
    assert shapes["u2"] == (2, 3, 7, 8) and shapes["u3"] == (2, 3, 8, 12) and shapes["n1"] == (2, 3, 21, 24)
    assert shapes["u4"] == (2, 3, 8, 7)  # the fork's default scale 2, with pad_out_w
    assert shapes["u5"] == (2, 3, 7, 9)  # SegNet's prototxts write both: upsample_h/w win
    x = inputs["d"]
    assert np.array_equal(blobs["n1:n1"], np.repeat(np.repeat(x, 3, axis=2), 3, axis=3))
    assert np.array_equal(blobs["n2:n2"], x)  # the YOLO port's default scale, 1
    # Unpooling the pooled values with their own mask puts each maximum back where it was.
    restored = blobs["u2:u2"]
    assert np.array_equal(restored[restored != 0], x[restored != 0])


def test_overlapping_windows_do_share_cells(overlapping):
    """So that the targets' test below proves the later-write rule, not only the scatter."""
    graph, inputs, blobs = overlapping
    for key in ("p2:m2", "p3:m3"):
        mask = blobs[key].reshape(6, -1)
        assert all(len(np.unique(row)) < row.size for row in mask), key


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_every_target_matches(segnet, overlapping, target):
    for graph, inputs, blobs in (segnet, overlapping):
        result = api.verify(graph, target, inputs, blobs, tolerance=1e-6)  # a wrong winner is off by ~1
        assert result.passed, result.first_divergence


@pytest.mark.parametrize("opset", [13, 21])
def test_onnx_is_exact_in_every_opset_with_overlapping_windows(overlapping, tmp_path, opset):
    """ScatterElements without a reduction: the values a later one overwrites do not write."""
    graph, inputs, _ = overlapping
    (path,) = api.convert(graph, "onnx", tmp_path / "model.onnx", opset=opset)
    session = onnxruntime.InferenceSession(str(path))
    got = dict(zip([o.name for o in session.get_outputs()], session.run(None, inputs)))
    values = run(graph, inputs)
    for top in ("u4", "u5", "u6"):  # the Scale before rounds; a wrong winner would be off by ~1
        assert np.abs(got[top] - values[top]).max() <= 1e-6 * np.abs(values[top]).max(), top


def test_the_neighbours_compared_are_those_whose_windows_overlap():
    from caffe2x.families.segmentation.maxunpool_onnx import later_neighbours

    assert later_neighbours((0, 0)) == []  # kernel <= stride: no two windows share a cell
    assert later_neighbours((1, 1)) == [(0, 1), (1, -1), (1, 0), (1, 1)]  # kernel 3, stride 2
    assert len(later_neighbours((2, 0))) == 2


def _segnet_net(upsample: str, pooling: str = "pool: MAX kernel_size: 2 stride: 2", mask: str = "mask1") -> str:
    return (input_layer("d", (1, 3, 8, 8)) + input_layer("fake_mask", (1, 3, 4, 4)) +
            f'\nlayer {{ name: "pool1" type: "Pooling" bottom: "d" top: "pool1" top: "mask1" '
            f"pooling_param {{ {pooling} }} }}"
            '\nlayer { name: "pool2" type: "Pooling" bottom: "d" top: "pool2" top: "mask2" '
            "pooling_param { pool: MAX kernel_size: 4 stride: 4 } }"
            f'\nlayer {{ name: "up1" type: "Upsample" bottom: "pool1" bottom: "{mask}" top: "up1" '
            f"upsample_param {{ {upsample} }} }}")


@pytest.mark.parametrize("net, message", [
    (_segnet_net("scale: 2", mask="mask2"), "mask (bottom 2) must have the data's shape [1, 3, 4, 4], got [1, 3, 2, 2]"),
    (_segnet_net("scale: 2", mask="fake_mask"), "must be the second top of a MAX Pooling (the argmax mask); it is a net"),
    (_segnet_net("scale: 2", mask="pool2").replace("kernel_size: 4 stride: 4", "kernel_size: 2 stride: 2"),
     "it is top 1 of layer 'pool2' (MAX Pooling)"),
    (_segnet_net("", ), "needs its output size"),
    (_segnet_net("upsample_h: 8"), "upsample_h and upsample_w go together"),
    (_segnet_net("scale: 2 scale_h: 2 scale_w: 2"), "give scale, or scale_h and scale_w"),
    (_segnet_net("scale: 1"), "the scales must be > 1"),
    (_segnet_net("scale: 3 pad_out_w: true"), "pad_out_h/pad_out_w need a scale of 2"),
    (_segnet_net("upsample_h: 5 upsample_w: 5"), "more cells than the 5 x 5 top"),
    (input_layer("d", (1, 3, 8, 8)) + '\nlayer { name: "up1" type: "Upsample" bottom: "d" top: "up1" '
     "upsample_param { scale: 0 } }", "scale must be >= 1, got 0"),
    (input_layer("d", (1, 3, 8, 8)) + '\nlayer { name: "up1" type: "Upsample" bottom: "d" top: "up1" '
     "upsample_param { scale: 2 upsample_h: 16 } }", "reads only `scale`, not upsample_h"),
])
def test_bad_upsamples_are_shape_errors_naming_the_layer_and_exit_2(tmp_path, net, message):
    with pytest.raises(ShapeError, match="'up1'") as error:
        caffe2x.graph_from_net(parse_prototxt_text(net))
    assert message in str(error.value)
    refused_by_cli(tmp_path, net, message)


def test_a_mask_from_an_ave_pooling_is_refused(tmp_path):
    """AVE pooling has no second top: such a net already stops at the pooling."""
    net = _segnet_net("scale: 2", pooling="pool: AVE kernel_size: 2 stride: 2")
    refused_by_cli(tmp_path, net, "AVE pooling has one top; only MAX pooling has a second")

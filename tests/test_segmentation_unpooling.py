"""Unpooling (DeconvNet's fork, HyeonwooNoh/caffe): MAX with a MAX Pooling's mask, MAX without
one (each value to its window's first cell), AVE and TILE (added over the window, the first
forward pass), against the fork's loops transcribed; reference and all four targets; the
fork's CHECKs."""

from __future__ import annotations

import numpy as np
import pytest
from segmentation_nets import case, input_layer, refused_by_cli

import caffe2x
from caffe2x import api
from caffe2x.errors import ShapeError
from caffe2x.io.prototxt import parse_prototxt_text

NET = input_layer("d", (2, 3, 7, 8)) + '''
layer { name: "p1" type: "Pooling" bottom: "d" top: "p1" top: "m1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "u1" type: "Unpooling" bottom: "p1" bottom: "m1" top: "u1" unpooling_param { unpool: MAX kernel_size: 2 stride: 2 unpool_h: 7 unpool_w: 8 } }
layer { name: "u2" type: "Unpooling" bottom: "p1" top: "u2" unpooling_param { kernel_size: 2 stride: 2 unpool_size: 8 } }
layer { name: "u3" type: "Unpooling" bottom: "p1" top: "u3" unpooling_param { kernel_h: 3 kernel_w: 2 stride_h: 3 stride_w: 1 unpool_h: 5 unpool_w: 3 } }
layer { name: "u4" type: "Unpooling" bottom: "p1" top: "u4" unpooling_param { unpool: AVE kernel_size: 3 stride: 2 unpool_h: 8 unpool_w: 7 } }
layer { name: "u5" type: "Unpooling" bottom: "p1" top: "u5" unpooling_param { unpool: TILE kernel_h: 2 kernel_w: 3 stride_h: 2 stride_w: 1 unpool_h: 7 unpool_w: 9 } }
'''


@pytest.fixture(scope="module")
def net():
    return case(NET)


def _unpool_literally(x, mask, stride, size):
    """unpooling_layer.cpp, Forward_cpu, case MAX (pad 0), per plane."""
    n, c, h, w = x.shape
    top = np.zeros((n, c, size[0] * size[1]))
    for i in range(n):
        for j in range(c):
            for ph in range(h):
                for pw in range(w):
                    uph = max(0, min(ph * stride[0], size[0] - 1))
                    upw = max(0, min(pw * stride[1], size[1] - 1))
                    target = int(mask[i, j, ph, pw]) if mask is not None else uph * size[1] + upw
                    top[i, j, target] = x[i, j, ph, pw]
    return top.reshape(n, c, *size)


def _add_literally(x, kernel, stride, size, average):
    """unpooling_layer.cpp, Forward_cpu, cases AVE and TILE (pad 0), on a fresh (zero) top."""
    n, c, h, w = x.shape
    top = np.zeros((n, c, *size), np.float32)
    for ph in range(h):
        for pw in range(w):
            hstart, wstart = ph * stride[0], pw * stride[1]
            hend, wend = min(hstart + kernel[0], size[0]), min(wstart + kernel[1], size[1])
            pool_size = (hend - hstart) * (wend - wstart)
            value = x[:, :, ph, pw] / np.float32(pool_size) if average else x[:, :, ph, pw]
            top[:, :, hstart:hend, wstart:wend] += value[:, :, None, None]
    return top


def test_the_reference_is_the_forks_loop(net):
    graph, inputs, blobs = net
    pooled, mask = blobs["p1:p1"], blobs["p1:m1"]
    assert np.array_equal(blobs["u1:u1"], _unpool_literally(pooled, mask, (2, 2), (7, 8)))
    assert np.array_equal(blobs["u2:u2"], _unpool_literally(pooled, None, (2, 2), (8, 8)))
    assert np.array_equal(blobs["u3:u3"], _unpool_literally(pooled, None, (3, 1), (5, 3)))  # clamped: later wins
    average = _add_literally(pooled, (3, 3), (2, 2), (8, 7), average=True)  # float32 sums: the reference's are float64
    assert np.abs(blobs["u4:u4"] - average).max() <= 1e-6 * np.abs(average).max() and average.any()
    assert np.array_equal(blobs["u5:u5"], _add_literally(pooled, (2, 3), (2, 1), (7, 9), average=False))


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_every_target_matches_exactly(net, target):
    graph, inputs, blobs = net
    result = api.verify(graph, target, inputs, blobs, tolerance=1e-6)  # AVE divides; the rest moves values
    assert target == "tflite" or {"u1", "u2", "u3", "u4", "u5"} <= {r.layer for r in result.records}
    assert result.passed, result.first_divergence


def _layer(block: str, mask: bool = False) -> str:
    bottoms = 'bottom: "p1" bottom: "m1"' if mask else 'bottom: "p1"'
    return (input_layer("d", (1, 2, 8, 8)) +
            '\nlayer { name: "p1" type: "Pooling" bottom: "d" top: "p1" top: "m1" '
            "pooling_param { pool: MAX kernel_size: 2 stride: 2 } }"
            f'\nlayer {{ name: "unpool1" type: "Unpooling" {bottoms} top: "unpool1" unpooling_param {{ {block} }} }}')


@pytest.mark.parametrize("block, message", [
    ("kernel_size: 2 stride: 2", "needs unpool_size, or unpool_h and unpool_w"),
    ("kernel_size: 2 unpool_size: 8 unpool_h: 8 unpool_w: 8", "needs unpool_size, or unpool_h and unpool_w"),
    ("stride: 2 unpool_size: 8", "needs kernel_size"),
    ("kernel_size: 2 kernel_h: 2 kernel_w: 2 unpool_size: 8", "give kernel_size, or kernel_h and kernel_w"),
    ("kernel_size: 2 pad: 1 unpool_size: 8", "only allows pad 0"),
])
def test_the_forks_checks_are_shape_errors(tmp_path, block, message):
    with pytest.raises(ShapeError, match="'unpool1'") as error:
        caffe2x.graph_from_net(parse_prototxt_text(_layer(block)))
    assert message in str(error.value)
    refused_by_cli(tmp_path, _layer(block), message)


def test_a_mask_is_max_unpoolings_only():
    with pytest.raises(ShapeError, match=r"'unpool1'.*AVE unpooling takes one bottom"):
        caffe2x.graph_from_net(parse_prototxt_text(_layer("unpool: AVE kernel_size: 2 stride: 2 unpool_size: 8",
                                                          mask=True)))


def test_a_mask_past_the_top_is_refused():
    with pytest.raises(ShapeError, match=r"'unpool1'.*the 8 x 8 input of pooling 'p1', more cells than the 4 x 4"):
        caffe2x.graph_from_net(parse_prototxt_text(_layer("kernel_size: 2 stride: 2 unpool_size: 4", mask=True)))

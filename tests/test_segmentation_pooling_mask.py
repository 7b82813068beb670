"""MAX Pooling's second top, the argmax mask (Caffe's pooling_layer.cpp, Forward_cpu with
use_top_mask): h * W + w of the winning cell in the input plane, as float; the first of equal
maxima in row-major order (Caffe's strict `>`); windows clipped to the input, so padding never
wins. SegNet's Upsample reads it. Reference and all four targets."""

from __future__ import annotations

import numpy as np
import pytest
from segmentation_nets import case, graph_of, input_layer, refused_by_cli

import caffe2x
from caffe2x import api
from caffe2x.errors import ShapeError
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.reference import as_golden_blobs, run

POOLINGS = [
    "kernel_size: 2 stride: 2",  # SegNet's
    "kernel_size: 3 stride: 2 pad: 1",  # overlapping, padded, ceil tail
    "kernel_h: 3 kernel_w: 2 stride_h: 3 stride_w: 1 pad_h: 2 pad_w: 1",  # rectangular, pad over half
    "kernel_size: 3 stride: 2 round_mode: FLOOR",
    "kernel_size: 2 stride: 3 pad: 1",  # stride over kernel
    "global_pooling: true",
]


def _net(shape=(2, 3, 7, 8)) -> str:
    lines = [input_layer("d", shape)]
    for i, pooling in enumerate(POOLINGS):
        lines.append(f'layer {{ name: "p{i}" type: "Pooling" bottom: "d" top: "p{i}" top: "m{i}" '
                     f"pooling_param {{ pool: MAX {pooling} }} }}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def variants():
    return case(_net())


def test_the_mask_is_the_first_maximum_in_the_input_plane():
    """Hand-computed: 4 x 5 input, 3 x 3 windows, stride 2, pad 1 (ceil: 3 x 3 outputs)."""
    graph = graph_of(_net((1, 1, 4, 5)))
    x = np.arange(20, dtype=np.float32).reshape(1, 1, 4, 5)
    x[0, 0, 1, 1] = x[0, 0, 1, 2] = 100  # a tie inside two windows: the first (index 6) wins
    blobs = as_golden_blobs(graph, run(graph, {"d": x}))
    assert np.array_equal(blobs["p1:p1"][0, 0], [[100, 100, 9], [100, 100, 19], [16, 18, 19]])
    assert np.array_equal(blobs["p1:m1"][0, 0], [[6, 6, 9], [6, 6, 19], [16, 18, 19]])
    assert np.array_equal(blobs["p5:m5"][0, 0], [[6]])  # global: the whole plane


def test_the_values_are_max_pooling_and_the_mask_points_at_them(variants):
    graph, inputs, blobs = variants
    x = inputs["d"]
    for i, node in enumerate(n for n in graph.nodes if n.type == "Pooling"):
        values, mask = blobs[f"p{i}:p{i}"], blobs[f"p{i}:m{i}"]
        alone = caffe2x.graph_from_net(parse_prototxt_text(_net().replace(f'top: "m{i}" ', "")))
        plain = as_golden_blobs(alone, run(alone, inputs))[f"p{i}:p{i}"]
        assert np.array_equal(values, plain), node.name  # the first top is unchanged
        picked = np.take_along_axis(x.reshape(2, 3, -1), mask.reshape(2, 3, -1).astype(int), axis=2)
        assert np.array_equal(picked.reshape(values.shape), values), node.name
    assert len(np.unique(blobs["p1:m1"][0, 0])) < blobs["p1:m1"][0, 0].size  # overlapping windows share cells


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_every_target_gives_caffes_mask_exactly(variants, target):
    graph, inputs, blobs = variants
    result = api.verify(graph, target, inputs, blobs, tolerance=0.0)
    compared = {f"{r.layer}:{r.top}" for r in result.records}
    assert target == "tflite" or {f"p{i}:m{i}" for i in range(len(POOLINGS))} <= compared
    assert result.passed, result.first_divergence


def test_only_max_pooling_has_a_second_top(tmp_path):
    net = (input_layer("d", (1, 3, 8, 8)) +
           '\nlayer { name: "pool1" type: "Pooling" bottom: "d" top: "pool1" top: "mask1" '
           "pooling_param { pool: AVE kernel_size: 2 stride: 2 } }")
    with pytest.raises(ShapeError, match=r"pool1.*AVE pooling has one top"):
        caffe2x.graph_from_net(parse_prototxt_text(net))
    refused_by_cli(tmp_path, net, "only MAX pooling has a second")

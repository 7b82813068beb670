"""The YOLO layers on every target: one net holding every form (Reorg both ways, read by a
convolution; Region with and without softmax; YoloDetectionOutput with two bottoms, and with no detection; Yolov3DetectionOutput
on two scales), batch 2, converted once per target, each top compared with the reference
kernels (themselves checked against the fork's loops in tests/test_yolo_reorg.py and
tests/test_yolo_detection_output.py); detection rows by count, then row by row."""

from __future__ import annotations

import numpy as np
import pytest
from mobile_nets import tflite_operators
from test_yolo_detection_output import BIASES, v2_layer, v3_layer

import caffe2x
from caffe2x import api
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.reference import as_golden_blobs, run
from caffe2x.weights import fill_random

TOLERANCE = 1e-5
SHAPES = [(2, 16, 6, 8), (2, 40, 5, 5), (2, 40, 3, 3), (2, 27, 4, 5), (2, 27, 8, 10)]
DETECTORS = ("det2", "det2none", "det3")


def _net() -> str:
    inputs = [f'layer {{ name: "i{i}" type: "Input" top: "in{i}" input_param {{ shape {{ '
              + " ".join(f"dim: {d}" for d in shape) + " } } }" for i, shape in enumerate(SHAPES)]
    layers = [
        'layer { name: "reorg" type: "Reorg" bottom: "in0" top: "r" reorg_param { stride: 2 } }',
        'layer { name: "conv" type: "Convolution" bottom: "r" top: "c" convolution_param { num_output: 5 '
        "kernel_size: 1 } }",
        'layer { name: "unreorg" type: "Reorg" bottom: "in0" top: "u" reorg_param { stride: 2 reverse: true } }',
        'layer { name: "region" type: "Region" bottom: "in1" top: "g" region_param { classes: 3 boxes_of_each_grid: 5 '
        "softmax: true } }",
        'layer { name: "conv_g" type: "Convolution" bottom: "g" top: "cg" convolution_param { num_output: 2 '
        "kernel_size: 1 } }",
        'layer { name: "region_raw" type: "Region" bottom: "in1" top: "graw" region_param { classes: 3 '
        "boxes_of_each_grid: 5 } }",
        v2_layer(2, 3, 5, 0.2, 0.45).replace('"det"', '"det2"').replace('"in0"', '"in1"').replace(
            'bottom: "in1" top', 'bottom: "in2" top').replace('top: "out"', 'top: "rows2"'),
        v2_layer(1, 3, 5, 0.999, 0.45).replace('"det"', '"det2none"').replace('"in0"', '"in1"').replace(
            'top: "out"', 'top: "none"'),
        v3_layer(4, 3, 0.3, 0.45, (3, 4, 5, 0, 1, 2), (32, 16)).replace('"det"', '"det3"').replace(
            '"in1"', '"in4"').replace('"in0"', '"in3"').replace('top: "out"', 'top: "rows3"'),
    ]
    return "\n".join(inputs + layers)


def yolo_case():
    graph = fill_random(caffe2x.graph_from_net(parse_prototxt_text(_net())), seed=3)
    rng = np.random.default_rng(11)
    inputs = {v: (2 * rng.standard_normal(graph.values[v].shape)).astype(np.float32) for v in graph.inputs}
    return graph, inputs, as_golden_blobs(graph, run(graph, inputs))


def test_the_case_has_rows_no_rows_and_both_bottoms_of_the_v2_layer():
    graph, _, blobs = yolo_case()
    assert [n.inputs for n in graph.nodes if n.name == "det2"][0] == ["in1", "in2"]
    assert blobs["det2none:none"].reshape(-1, 7).tolist() == [[0, -1, -1, -1, -1, -1, -1], [1, -1, -1, -1, -1, -1, -1]]
    assert blobs["det2:rows2"].shape[2] >= 5 and blobs["det3:rows3"].shape[2] >= 5
    assert BIASES[0] == 1.08


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_every_layer_form_matches_the_reference_on_every_target(target):
    graph, inputs, blobs = yolo_case()
    result = api.verify(graph, target, inputs, blobs, tolerance=TOLERANCE)
    compared = {record.layer for record in result.records}
    assert set(DETECTORS) | {"region_raw"} <= compared
    assert target == "tflite" or {"reorg", "unreorg", "region"} <= compared
    assert result.passed, result.first_divergence


def test_the_tflite_model_uses_builtin_operators_only(tmp_path):
    graph, _, _ = yolo_case()
    api.convert(graph, "tflite", tmp_path / "model.tflite")
    builtins, custom = tflite_operators(tmp_path / "model.tflite")
    assert not custom, f"Flex or custom operators: {custom}"
    assert {"WHILE", "TOPK_V2", "TRANSPOSE", "LOGISTIC", "EXP", "SOFTMAX"} <= builtins, builtins


def test_the_torch_export_keeps_the_row_count_dynamic(tmp_path):
    """model.pt2 (torch.export, while_loop for the NMS) gives the reference's rows at another batch."""
    import torch

    graph, inputs, _ = yolo_case()
    api.convert(graph, "pytorch", tmp_path / "out")
    program = torch.export.load(tmp_path / "out" / "model.pt2").module()
    single = {name: value[:1] for name, value in inputs.items()}
    outputs = program(*(torch.from_numpy(single[v]) for v in graph.inputs))
    small = fill_random(caffe2x.graph_from_net(parse_prototxt_text(_net().replace("dim: 2 ", "dim: 1 "))), seed=3)
    want = as_golden_blobs(small, run(small, single))
    got = dict(zip(graph.output_tops, outputs))
    for top, key in (("rows2", "det2:rows2"), ("rows3", "det3:rows3"), ("none", "det2none:none")):
        assert got[top].shape == want[key].shape
        np.testing.assert_allclose(got[top].numpy(), want[key], atol=1e-5)

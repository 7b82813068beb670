"""The mobile forks' layers and BVLC's Clip and Swish on every target: one net holding every
form of them (tests/mobile_nets.py), converted once per target, each layer's top compared with
the reference kernels (themselves checked against the fork sources in tests/test_mobile_*.py
and tests/test_bvlc_clip_swish.py)."""

from __future__ import annotations

import pytest
from mobile_nets import AXPY_LAYERS, FOLDED_LAYERS, VARIANTS, tflite_operators, variants_case

from caffe2x import api

TOLERANCE = 1e-5


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_every_layer_form_matches_the_reference_on_every_target(target):
    graph, inputs, blobs = variants_case()
    result = api.verify(graph, target, inputs, blobs, tolerance=TOLERANCE)
    compared = {record.layer for record in result.records}
    folded = FOLDED_LAYERS[-1:] if target == "tflite" else FOLDED_LAYERS  # TFLite: the net's outputs
    assert {f"v{i}" for i in range(len(VARIANTS))} | set(AXPY_LAYERS) | set(folded) <= compared
    assert result.passed, result.first_divergence


def test_the_tflite_model_uses_builtin_operators_only(tmp_path):
    graph, _, _ = variants_case()
    api.convert(graph, "tflite", tmp_path / "model.tflite")
    builtins, custom = tflite_operators(tmp_path / "model.tflite")
    assert not custom, f"Flex or custom operators: {custom}"
    # ReLU6, the gathers of ShuffleChannel, the depthwise convolutions, Mish's softplus and tanh, Swish's sigmoid
    assert {"RELU6", "GATHER", "DEPTHWISE_CONV_2D", "TANH", "LOGISTIC", "MINIMUM", "MAXIMUM"} <= builtins, builtins

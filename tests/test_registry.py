"""Registries reject duplicates and let users add layers without editing caffe2x."""

from __future__ import annotations

import numpy as np
import pytest

import caffe2x
from caffe2x.errors import RegistryError
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.layers.base import LayerDef, same_shape
from caffe2x.reference import run
from caffe2x.registry import Registry


def test_duplicate_registration_is_rejected():
    registry = Registry("test stage")
    registry.register("Foo", object())
    with pytest.raises(RegistryError, match="already registered"):
        registry.register("Foo", object())
    registry.register("Foo", "new", replace=True)
    assert registry.get("Foo") == "new"


def test_builtin_types_cannot_be_shadowed_by_accident():
    with pytest.raises(RegistryError):
        caffe2x.register_layer("Convolution", caffe2x.LAYERS.get("ReLU"))


CORE_TYPES = """Input Convolution Deconvolution Pooling InnerProduct ReLU PReLU ELU Sigmoid TanH AbsVal
BNLL Power Exp Log Threshold LRN BatchNorm Scale Bias Eltwise Concat Slice Split Silence Flatten Reshape
Crop Softmax Dropout ArgMax Reduction MVN Tile""".split()


def test_every_core_type_is_defined_and_has_a_reference_kernel():
    assert set(CORE_TYPES) <= set(caffe2x.LAYERS)
    assert set(CORE_TYPES) - {"Input", "Split", "Silence"} <= set(caffe2x.REFERENCE)


def test_custom_layer_with_weights_end_to_end():
    def parse(layer):
        return None

    def weights(params, bottoms):
        return [(bottoms[0][1],)]

    def kernel(node, inputs):
        return [inputs[0] * node.weights[0].reshape(1, -1, 1, 1)]

    caffe2x.register_layer("ChannelGain", LayerDef(parse, same_shape, weights), reference=kernel)
    try:
        net = parse_prototxt_text('input: "x" input_shape { dim: 1 dim: 3 dim: 2 dim: 2 }\n'
                                  'layer { name: "g" type: "ChannelGain" bottom: "x" top: "g" }')
        graph = caffe2x.graph_from_net(net)
        assert graph.total_params == 3
        graph.node("g").weights = [np.array([1.0, 2.0, 3.0], np.float32)]
        x = np.ones((1, 3, 2, 2), np.float32)
        out = run(graph, {"x": x})["g"]
        assert out[0, :, 0, 0].tolist() == [1.0, 2.0, 3.0]
    finally:
        caffe2x.LAYERS.unregister("ChannelGain")
        caffe2x.REFERENCE.unregister("ChannelGain")

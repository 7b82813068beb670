"""BVLC Caffe's Parameter layer: no bottoms, one top, which is the layer's own blob.

Source: BVLC/caffe master, commit 9b891540183ddc834a02b2bd81b31afae71b2153,
include/caffe/layers/parameter_layer.hpp: LayerSetUp makes one blob of
parameter_param.shape, and the top shares that blob's data (Reshape), so the top is the
blob as the caffemodel holds it, whatever the batch of the net's inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...api import register_layer
from ...extend import KerasLayer, LayerDef, ShapeError, TorchLayer, check


@dataclass(frozen=True)
class ParameterParams:
    shape: tuple[int, ...]


def parse(layer) -> ParameterParams:
    shape = tuple(int(d) for d in layer.parameter_param.shape.dim)
    check(bool(shape) and min(shape) > 0, f"parameter_param shape must be given, positive, got {list(shape)}")
    return ParameterParams(shape)


def infer(params: ParameterParams, bottoms):
    return [params.shape]


def blob_shape(params: ParameterParams, bottoms):
    return [params.shape]


def reference(node, inputs):
    return [np.asarray(node.weights[0], np.float64).reshape(node.params.shape)]


def onnx(node, inputs, outputs, b):
    blob = b.const(node.name, "blob", np.asarray(node.weights[0], np.float32).reshape(node.params.shape))
    return [b.op("Identity", [blob], node.name, output=outputs[0])]


def pytorch(node, ctx):
    blob = np.asarray(node.weights[0], np.float32).reshape(node.params.shape)
    return TorchLayer(f"Parameter({node.params.shape})", state={"blob": blob},
                      helpers=("caffe2x.families.bvlc.parameter_torch:Parameter",))


def tensorflow(node, args, ctx):
    if ctx.anchor is None:
        raise ShapeError(f"Parameter '{node.name}': a Keras model needs an input to place it in; this net has none")
    blob = np.asarray(node.weights[0], np.float32).reshape(node.params.shape)
    return KerasLayer(f"Parameter({node.params.shape}, name={ctx.name(node)})({ctx.anchor})",
                      weights={ctx.raw_name(node): [blob]}, custom=("caffe2x.families.bvlc.parameter_keras:Parameter",),
                      layouts=["caffe"])


register_layer("Parameter", LayerDef(parse, infer, weights=blob_shape, bottoms=(0, 0)), reference,
               onnx=onnx, pytorch=pytorch, tensorflow=tensorflow)

"""BVLC Caffe's Swish layer: top = x * sigmoid(beta * x).

Source: BVLC/caffe master, commit 9b891540183ddc834a02b2bd81b31afae71b2153,
src/caffe/layers/swish_layer.cpp (Forward_cpu: copies the bottom, scales it by beta
(caffe_scal), runs Caffe's own SigmoidLayer on it, then multiplies by the bottom) with
`SwishParameter { optional float beta = 1 [default = 1]; }`, LayerParameter field 147.
Caffe's sigmoid is sigmoid_layer.cpp's `0.5 * tanh(0.5 * x) + 0.5`, equal to 1 / (1 + e^-x).
beta is honoured on every target (beta = 1 is SiLU).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...api import register_layer
from ...extend import KerasLayer, LayerDef, TorchLayer, float_literal, same_shape


@dataclass(frozen=True)
class SwishParams:
    beta: float


def parse(layer) -> SwishParams:
    return SwishParams(float(np.float32(layer.swish_param.beta)))


def apply_swish(x, beta, sigmoid):
    """swish_layer.cpp, for any array type: x * sigmoid(beta * x)."""
    return x * sigmoid(beta * x)


def caffe_sigmoid(x):
    """sigmoid_layer.cpp's form, in NumPy."""
    return 0.5 * np.tanh(0.5 * x) + 0.5


def reference(node, inputs):
    return [apply_swish(inputs[0].astype(np.float64), node.params.beta, caffe_sigmoid)]


def onnx(node, inputs, outputs, b):
    beta = node.params.beta
    scaled = inputs[0] if beta == 1.0 else b.op("Mul", [inputs[0], b.const(node.name, "beta", np.float32(beta))],
                                               node.name)
    return [b.op("Mul", [inputs[0], b.op("Sigmoid", [scaled], node.name)], node.name, output=outputs[0])]


def pytorch(node, ctx):
    return TorchLayer(f"Swish({float_literal(node.params.beta)})", helpers=("caffe2x.families.bvlc.swish_torch:Swish",))


def tensorflow(node, args, ctx):
    return KerasLayer(f"Swish({float_literal(node.params.beta)}, name={ctx.name(node)})({args[0]})",
                      custom=("caffe2x.families.bvlc.swish_keras:Swish",), layouts=[ctx.layout(node.inputs[0])])


register_layer("Swish", LayerDef(parse, same_shape), reference, onnx=onnx, pytorch=pytorch, tensorflow=tensorflow)

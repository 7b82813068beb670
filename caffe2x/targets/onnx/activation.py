"""Element-wise activations."""

from __future__ import annotations

import numpy as np

from ...layers.activation import ln_base
from .registry import ONNX_EMITTERS


def _affine(node, x, b, scale: float, shift: float) -> str:
    """shift + scale * x, skipping the identity parts."""
    if scale != 1.0:
        x = b.op("Mul", [x, b.const(node.name, "scale", np.float32(scale))], node.name)
    if shift != 0.0:
        x = b.op("Add", [x, b.const(node.name, "shift", np.float32(shift))], node.name)
    return x


def _simple(op_type: str):
    def emit(node, inputs, out, b):
        return [b.op(op_type, [inputs[0]], node.name, output=out[0])]
    return emit


@ONNX_EMITTERS.register("ReLU")
def relu(node, inputs, out, b):
    slope = node.params.negative_slope
    if slope == 0:
        return [b.op("Relu", [inputs[0]], node.name, output=out[0])]
    return [b.op("LeakyRelu", [inputs[0]], node.name, output=out[0], alpha=float(slope))]


@ONNX_EMITTERS.register("PReLU")
def prelu(node, inputs, out, b):
    slope = np.asarray(node.weights[0], np.float32)
    rank = len(b.shape(node.inputs[0]))
    slope = slope.reshape(1) if node.params.channel_shared else slope.reshape((-1,) + (1,) * (rank - 2))
    return [b.op("PRelu", [inputs[0], b.const(node.name, "slope", slope)], node.name, output=out[0])]


@ONNX_EMITTERS.register("ELU")
def elu(node, inputs, out, b):
    return [b.op("Elu", [inputs[0]], node.name, output=out[0], alpha=float(node.params.alpha))]


@ONNX_EMITTERS.register("Power")
def power(node, inputs, out, b):
    p = node.params
    base = _affine(node, inputs[0], b, p.scale, p.shift)
    if p.power == 1.0:
        return [base]
    return [b.op("Pow", [base, b.const(node.name, "power", np.float32(p.power))], node.name, output=out[0])]


@ONNX_EMITTERS.register("Exp")
def exp(node, inputs, out, b):
    p = node.params
    ln = ln_base(p.base)
    return [b.op("Exp", [_affine(node, inputs[0], b, ln * p.scale, ln * p.shift)], node.name, output=out[0])]


@ONNX_EMITTERS.register("Log")
def log(node, inputs, out, b):
    p = node.params
    x = _affine(node, inputs[0], b, p.scale, p.shift)
    ln = ln_base(p.base)
    if ln == 1.0:  # base e: nothing to divide by
        return [b.op("Log", [x], node.name, output=out[0])]
    y = b.op("Log", [x], node.name)
    return [b.op("Mul", [y, b.const(node.name, "inv_ln_base", np.float32(1.0 / ln))], node.name, output=out[0])]


@ONNX_EMITTERS.register("Threshold")
def threshold(node, inputs, out, b):
    above = b.op("Greater", [inputs[0], b.const(node.name, "threshold", np.float32(node.params.threshold))],
                 node.name)
    return [b.op("Cast", [above], node.name, output=out[0], to=1)]  # 1 = FLOAT


@ONNX_EMITTERS.register("Dropout")
def dropout(node, inputs, out, b):
    return [inputs[0]]  # identity at inference; the driver renames if the name must survive


for _type, _op in {"Sigmoid": "Sigmoid", "TanH": "Tanh", "AbsVal": "Abs", "BNLL": "Softplus"}.items():
    ONNX_EMITTERS.register(_type, _simple(_op))

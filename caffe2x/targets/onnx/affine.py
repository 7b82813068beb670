"""InnerProduct -> (Flatten) Gemm (Reshape), Scale -> Mul (+ Add), Bias -> Add."""

from __future__ import annotations

import numpy as np

from ...layers.affine import operand_span
from ...layers.base import canonical_axis
from .registry import ONNX_EMITTERS


@ONNX_EMITTERS.register("InnerProduct")
def inner_product(node, inputs, out, b):
    p = node.params
    shape = b.shape(node.inputs[0])
    axis = canonical_axis(p.axis, len(shape))
    x = inputs[0]
    if len(shape) != 2 or axis != 1:
        x = b.op("Flatten", [x], node.name, axis=axis)
    operands = [x, b.const(node.name, "weight", node.weights[0])]
    if p.bias_term:
        operands.append(b.const(node.name, "bias", node.weights[1]))
    if axis == 1:
        return [b.op("Gemm", operands, node.name, output=out[0], transB=0 if p.transpose else 1)]
    product = b.op("Gemm", operands, node.name, transB=0 if p.transpose else 1)
    # Flatten merged the leading axes into one; split them again (-1 is the dynamic batch).
    target = [-1] + list(shape[1:axis]) + [p.num_output]
    return [b.op("Reshape", [product, b.ints(node.name, "shape", target)], node.name, output=out[0])]


def _operand(node, b, values: list[str], weight_index: int, what: str) -> str:
    """The scale/bias operand, shaped to broadcast against bottom 0 from its axis."""
    shapes = [b.shape(v) for v in node.inputs]
    axis, operand = operand_span(node.params, shapes)
    trailing = len(shapes[0]) - axis - len(operand)
    if node.params.two_bottoms and weight_index < 0:
        if trailing == 0:
            return values[1]
        first = len(operand)
        return b.op("Unsqueeze", [values[1], b.ints(node.name, "axes", list(range(first, first + trailing)))],
                    node.name)
    array = np.asarray(node.weights[weight_index], np.float32).reshape(operand + (1,) * trailing)
    return b.const(node.name, what, array)


@ONNX_EMITTERS.register("Scale")
def scale(node, inputs, out, b):
    p = node.params
    factor = _operand(node, b, inputs, -1 if p.two_bottoms else 0, "scale")
    if not p.bias_term:
        return [b.op("Mul", [inputs[0], factor], node.name, output=out[0])]
    product = b.op("Mul", [inputs[0], factor], node.name)
    shift = _operand(node, b, inputs, 0 if p.two_bottoms else 1, "bias")
    return [b.op("Add", [product, shift], node.name, output=out[0])]


@ONNX_EMITTERS.register("Bias")
def bias(node, inputs, out, b):
    shift = _operand(node, b, inputs, -1 if node.params.two_bottoms else 0, "bias")
    return [b.op("Add", [inputs[0], shift], node.name, output=out[0])]

"""InnerProduct, Scale and Bias."""

from __future__ import annotations

import numpy as np

from ..layers.affine import InnerProductParams, ScaleParams, operand_span
from ..layers.base import canonical_axis
from .base import REFERENCE, f64


@REFERENCE.register("InnerProduct")
def inner_product(node, inputs):
    p: InnerProductParams = node.params
    x = inputs[0]
    axis = canonical_axis(p.axis, x.ndim)
    rows = f64(x).reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)
    weight = f64(node.weights[0])
    y = rows @ (weight if p.transpose else weight.T)
    if p.bias_term:
        y += f64(node.weights[1])
    return [y.reshape(*x.shape[:axis], p.num_output)]


def _broadcastable(operand: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    operand = f64(operand)
    return operand.reshape((1,) * axis + operand.shape + (1,) * (ndim - axis - operand.ndim))


@REFERENCE.register("Scale")
def scale(node, inputs):
    p: ScaleParams = node.params
    x = f64(inputs[0])
    axis, _ = operand_span(p, [x.shape] + [i.shape for i in inputs[1:]])
    weights = list(node.weights)
    factor = inputs[1] if p.two_bottoms else weights.pop(0)
    y = x * _broadcastable(factor, axis, x.ndim)
    if p.bias_term:
        y += _broadcastable(weights.pop(0), axis, x.ndim)
    return [y]


@REFERENCE.register("Bias")
def bias(node, inputs):
    p: ScaleParams = node.params
    x = f64(inputs[0])
    axis, _ = operand_span(p, [x.shape] + [i.shape for i in inputs[1:]])
    operand = inputs[1] if p.two_bottoms else node.weights[0]
    return [x + _broadcastable(operand, axis, x.ndim)]

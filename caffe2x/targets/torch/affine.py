"""InnerProduct -> nn.Linear (after flattening from its axis); Scale and Bias."""

from __future__ import annotations

import numpy as np

from ...layers.affine import operand_span
from ...layers.base import canonical_axis
from .base import TORCH_EMITTERS, TorchLayer


@TORCH_EMITTERS.register("InnerProduct")
def inner_product(node, ctx):
    p = node.params
    shape = ctx.shape(node.inputs[0])
    axis = canonical_axis(p.axis, len(shape))
    in_features = int(np.prod(shape[axis:], dtype=np.int64))
    weight = np.asarray(node.weights[0])
    state = {"weight": weight.T if p.transpose else weight}
    if p.bias_term:
        state["bias"] = node.weights[1]
    source = f"nn.Linear({in_features}, {p.num_output}{'' if p.bias_term else ', bias=False'})"
    call = "{self}({0})" if len(shape) == axis + 1 else f"{{self}}({{0}}.flatten({axis}))"
    return TorchLayer(source, state, call=call)


def _span(node, ctx):
    shapes = [ctx.shape(v) for v in node.inputs]
    axis, operand = operand_span(node.params, shapes)
    return operand, len(shapes[0]) - axis - len(operand)


@TORCH_EMITTERS.register("Scale")
def scale(node, ctx):
    operand, trailing = _span(node, ctx)
    p = node.params
    if p.two_bottoms:
        state = {"bias": node.weights[0]} if p.bias_term else {}
        bias_shape = f", {tuple(operand)}" if p.bias_term else ""
        return TorchLayer(f"ScaleBy({trailing}{bias_shape})", state, helpers=("ScaleBy",))
    state = {"weight": node.weights[0]}
    if p.bias_term:
        state["bias"] = node.weights[1]
    return TorchLayer(f"Scale({tuple(operand)}, {trailing}, {p.bias_term})", state, helpers=("Scale",))


@TORCH_EMITTERS.register("Bias")
def bias(node, ctx):
    operand, trailing = _span(node, ctx)
    if node.params.two_bottoms:
        return TorchLayer(f"BiasBy({trailing})", helpers=("BiasBy",))
    return TorchLayer(f"Bias({tuple(operand)}, {trailing})", {"bias": node.weights[0]}, helpers=("Bias",))

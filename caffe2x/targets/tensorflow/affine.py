"""InnerProduct -> Dense (weight rows permuted after an NHWC flatten); Scale, Bias."""

from __future__ import annotations

import numpy as np

from ...layers.affine import operand_span
from ...layers.base import canonical_axis
from .base import CAFFE, FLAT_NHWC, KERAS_EMITTERS, NHWC, KerasLayer, nhwc_weight


def _kernel(node) -> np.ndarray:
    weight = np.asarray(node.weights[0])
    return weight if node.params.transpose else weight.T  # (K, num_output)


def _nhwc_rows(kernel: np.ndarray, chw: tuple[int, int, int]) -> np.ndarray:
    """Rows in Caffe's (c, h, w) flatten order -> NHWC's (h, w, c) order."""
    c, h, w = chw
    return kernel.reshape(c, h, w, -1).transpose(1, 2, 0, 3).reshape(c * h * w, -1)


@KERAS_EMITTERS.register("InnerProduct")
def inner_product(node, args, ctx):
    p = node.params
    value = node.inputs[0]
    shape = ctx.shape(value)
    axis = canonical_axis(p.axis, len(shape))
    if axis == 0:
        raise ctx.unsupported(node, "InnerProduct over the batch axis (axis 0)")
    kernel = _kernel(node)
    x = args[0]
    if ctx.layout(value) == FLAT_NHWC:
        kernel = _nhwc_rows(kernel, ctx.flat_source(value))
    elif ctx.layout(value) == NHWC and axis == 1:
        kernel = _nhwc_rows(kernel, tuple(shape[1:]))
        x = f"layers.Flatten(name={ctx.name(node, 'flatten')})({x})"
    else:
        x = ctx.to_caffe(node, x, value)
        if axis != len(shape) - 1:
            flat = (*shape[1:axis], int(np.prod(shape[axis:], dtype=np.int64)))
            x = f"layers.Reshape({flat}, name={ctx.name(node, 'flatten')})({x})"
    bias = [np.asarray(node.weights[1])] if p.bias_term else []
    use_bias = "" if p.bias_term else ", use_bias=False"
    return KerasLayer(f"layers.Dense({p.num_output}{use_bias}, name={ctx.name(node)})({x})",
                      {ctx.raw_name(node): [kernel, *bias]}, layouts=[CAFFE])


def _broadcast_shape(node, ctx) -> tuple[tuple[int, ...], int]:
    shapes = [ctx.shape(v) for v in node.inputs]
    axis, operand = operand_span(node.params, shapes)
    return (1,) * axis + tuple(operand) + (1,) * (len(shapes[0]) - axis - len(operand)), axis


@KERAS_EMITTERS.register("Scale")
def scale(node, args, ctx):
    return _affine(node, args, ctx, multiply=True)


@KERAS_EMITTERS.register("Bias")
def bias(node, args, ctx):
    return _affine(node, args, ctx, multiply=False)


def _affine(node, args, ctx, multiply: bool) -> KerasLayer:
    p = node.params
    layout = ctx.layout(node.inputs[0])
    shape, axis = _broadcast_shape(node, ctx)
    place = nhwc_weight if layout == NHWC else (lambda a: a)
    if p.two_bottoms:
        operand_rank = len(ctx.shape(node.inputs[1]))
        trailing = len(ctx.shape(node.inputs[0])) - axis - operand_rank
        to_nhwc = layout == NHWC and operand_rank < 4
        bias_shape = None
        weights = {}
        if p.bias_term:
            bias_shape = tuple(ctx.shape(node.inputs[1]))
            weights = {ctx.raw_name(node): [np.asarray(node.weights[0]).reshape(bias_shape)]}
        return KerasLayer(f"ScaleBy({trailing}, {to_nhwc}, {multiply}, {bias_shape}, "
                          f"name={ctx.name(node)})({args[0]}, {args[1]})", weights, custom=("ScaleBy",),
                          layouts=[layout])
    operands = [place(np.asarray(w).reshape(shape)) for w in node.weights]
    keras_shape = operands[0].shape
    use_bias = p.bias_term if multiply else True
    return KerasLayer(f"Scale({keras_shape}, {multiply}, {use_bias}, name={ctx.name(node)})({args[0]})",
                      {ctx.raw_name(node): operands}, custom=("Scale",), layouts=[layout])

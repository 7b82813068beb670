"""Softmax, ArgMax (Caffe's tie order) and Reduction."""

from __future__ import annotations

from ...layers.base import canonical_axis
from ...layers.reduction import reduction_first_axis
from .base import CAFFE, KERAS_EMITTERS, NHWC, NHWC_AXIS, KerasLayer, num


@KERAS_EMITTERS.register("Softmax")
def softmax(node, args, ctx):
    value = node.inputs[0]
    axis = canonical_axis(node.params.axis, len(ctx.shape(value)))
    layout = ctx.layout(value)
    axis = NHWC_AXIS[axis] if layout == NHWC else axis
    return KerasLayer(f"layers.Softmax({axis}, name={ctx.name(node)})({args[0]})", layouts=[layout])


@KERAS_EMITTERS.register("ArgMax")
def argmax(node, args, ctx):
    p = node.params
    value = node.inputs[0]
    layout = ctx.layout(value)
    if p.axis is not None:
        axis = canonical_axis(p.axis, len(ctx.shape(value)))
        axis = NHWC_AXIS[axis] if layout == NHWC else axis
        return KerasLayer(f"ArgMax({p.top_k}, {p.out_max_val}, {axis}, name={ctx.name(node)})({args[0]})",
                          custom=("ArgMax",), layouts=[layout])
    out_shape = list(ctx.shape(node.outputs[0]))
    x = ctx.to_caffe(node, args[0], value)
    four_d = len(out_shape) == 4
    name = ctx.name(node, "caffe") if four_d else ctx.name(node)
    expr = f"ArgMax({p.top_k}, {p.out_max_val}, None, {out_shape}, name={name})({x})"
    if four_d:
        return KerasLayer(ctx.to_nhwc_final(node, expr), custom=("ArgMax",), layouts=[NHWC])
    return KerasLayer(expr, custom=("ArgMax",), layouts=[CAFFE])


@KERAS_EMITTERS.register("Reduction")
def reduction(node, args, ctx):
    p = node.params
    value = node.inputs[0]
    rank = len(ctx.shape(value))
    axis = reduction_first_axis(p.axis, rank)
    x = ctx.to_caffe(node, args[0], value)
    return KerasLayer(f"Reduction({p.operation!r}, {list(range(axis, rank))}, {num(p.coeff)}, "
                      f"name={ctx.name(node)})({x})", custom=("Reduction",), layouts=[CAFFE])

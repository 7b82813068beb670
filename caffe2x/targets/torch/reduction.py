"""Softmax -> nn.Softmax; ArgMax (Caffe's tie order) and Reduction helpers."""

from __future__ import annotations

from ...layers.base import canonical_axis
from ...layers.reduction import reduction_first_axis
from .base import TORCH_EMITTERS, TorchLayer, num


@TORCH_EMITTERS.register("Softmax")
def softmax(node, ctx):
    return TorchLayer(f"nn.Softmax({canonical_axis(node.params.axis, len(ctx.shape(node.inputs[0])))})")


@TORCH_EMITTERS.register("ArgMax")
def argmax(node, ctx):
    p = node.params
    rank = len(ctx.shape(node.inputs[0]))
    axis = None if p.axis is None else canonical_axis(p.axis, rank)
    out_shape = list(ctx.shape(node.outputs[0])) if axis is None else None
    extra = f", {out_shape}" if out_shape else ""
    return TorchLayer(f"ArgMax({p.top_k}, {p.out_max_val}, {axis}{extra})", helpers=("ArgMax",))


@TORCH_EMITTERS.register("Reduction")
def reduction(node, ctx):
    p = node.params
    rank = len(ctx.shape(node.inputs[0]))
    axis = reduction_first_axis(p.axis, rank)
    return TorchLayer(f"Reduction({p.operation!r}, {axis}, {num(p.coeff)})", helpers=("Reduction",))

"""Element-wise activations (any layout)."""

from __future__ import annotations

import numpy as np

from ...layers.activation import ln_base
from .base import KERAS_EMITTERS, KerasLayer, num


def _same(node, args, ctx, expr: str, **kwargs) -> KerasLayer:
    return KerasLayer(expr, layouts=[ctx.layout(node.inputs[0])], **kwargs)


@KERAS_EMITTERS.register("ReLU")
def relu(node, args, ctx):
    slope = node.params.negative_slope
    option = f"negative_slope={num(slope)}, " if slope else ""
    return _same(node, args, ctx, f"layers.ReLU({option}name={ctx.name(node)})({args[0]})")


@KERAS_EMITTERS.register("PReLU")
def prelu(node, args, ctx):
    shape = ctx.shape(node.inputs[0])
    slope = np.asarray(node.weights[0], np.float32).reshape(-1)
    rank = len(shape)
    if node.params.channel_shared:
        alpha, shared = slope.reshape((1,) * (rank - 1)), list(range(1, rank))
    elif ctx.layout(node.inputs[0]) == "nhwc":
        alpha, shared = slope.reshape(1, 1, -1), [1, 2]
    else:
        alpha, shared = slope.reshape((-1,) + (1,) * (rank - 2)), list(range(2, rank))
    option = f"shared_axes={shared}, " if shared else ""
    return _same(node, args, ctx, f"layers.PReLU({option}name={ctx.name(node)})({args[0]})",
                 weights={ctx.raw_name(node): [alpha]})


@KERAS_EMITTERS.register("ELU")
def elu(node, args, ctx):
    return _same(node, args, ctx, f"layers.ELU({num(node.params.alpha)}, name={ctx.name(node)})({args[0]})")


@KERAS_EMITTERS.register("Dropout")
def dropout(node, args, ctx):
    return _same(node, args, ctx, f"layers.Dropout({num(node.params.ratio)}, name={ctx.name(node)})({args[0]})")


def _activation(function: str):
    def emit(node, args, ctx):
        return _same(node, args, ctx, f"layers.Activation({function!r}, name={ctx.name(node)})({args[0]})")
    return emit


def _elementwise(node, args, ctx, function: str, a: float, scale=1.0, shift=0.0) -> KerasLayer:
    return _same(node, args, ctx, f"Elementwise({function!r}, {a!r}, {num(scale)}, {num(shift)}, "
                 f"name={ctx.name(node)})({args[0]})", custom=("Elementwise",))


KERAS_EMITTERS.register("Sigmoid", _activation("sigmoid"))
KERAS_EMITTERS.register("TanH", _activation("tanh"))
KERAS_EMITTERS.register("BNLL", _activation("softplus"))
KERAS_EMITTERS.register("AbsVal", lambda node, args, ctx: _elementwise(node, args, ctx, "abs", 1.0))
KERAS_EMITTERS.register("Threshold", lambda node, args, ctx: _elementwise(
    node, args, ctx, "threshold", float(np.float32(node.params.threshold))))
KERAS_EMITTERS.register("Power", lambda node, args, ctx: _elementwise(
    node, args, ctx, "power", float(np.float32(node.params.power)), node.params.scale, node.params.shift))
KERAS_EMITTERS.register("Exp", lambda node, args, ctx: _elementwise(
    node, args, ctx, "exp", ln_base(node.params.base), node.params.scale, node.params.shift))
KERAS_EMITTERS.register("Log", lambda node, args, ctx: _elementwise(
    node, args, ctx, "log", ln_base(node.params.base), node.params.scale, node.params.shift))

"""The SSD fork's Normalize layer (normalize_layer.cpp): L2 normalization with a learned scale.

    layer { type: "Normalize" bottom: "conv4_3" top: "conv4_3_norm"
            norm_param { across_spatial: false channel_shared: false scale_filler { value: 20 } } }

top = bottom / sqrt(sum of bottom² + eps) * scale. The sum runs over the channels at each
spatial position (across_spatial: false), or over all of one item's C·H·W values
(across_spatial: true, the default). eps (default 1e-10) is added INSIDE the square root in
both modes, unlike MVN's. The scale is the layer's one blob: a single value (channel_shared,
the default; a blob of shape ()) or one per channel. scale_filler only initializes it in
training, so the caffemodel's blob is what counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...api import register_layer
from ...extend import KerasLayer, LayerDef, ShapeError, TorchLayer, float_literal, fork_params


@dataclass(frozen=True)
class NormalizeParams:
    across_spatial: bool
    channel_shared: bool
    eps: float


def parse(norm) -> NormalizeParams:
    return NormalizeParams(bool(norm.across_spatial), bool(norm.channel_shared), float(norm.eps))


def infer(params: NormalizeParams, bottoms):
    # The fork reads channels()/height()/width(), Caffe's legacy 4-D accessors.
    if not 2 <= len(bottoms[0]) <= 4:
        raise ShapeError(f"Normalize needs a blob of 2 to 4 axes, got {len(bottoms[0])} ({list(bottoms[0])})")
    return [bottoms[0]]


def scale_shape(params: NormalizeParams, bottoms):
    """The scale blob: shape () when channel_shared (the fork's Blob(vector<int>(0))), else (C,)."""
    return [() if params.channel_shared else (bottoms[0][1],)]


def sum_axes(params: NormalizeParams, rank: int, channel_axis: int = 1) -> list[int]:
    """The axes the squares are summed over: C·H·W of each item, or the channel axis alone."""
    return list(range(1, rank)) if params.across_spatial else [channel_axis]


def scale_view(params: NormalizeParams, rank: int, channel_axis: int = 1) -> tuple[int, ...]:
    """The shape the scale is broadcast with: () shared, else 1s with -1 on the channel axis."""
    if params.channel_shared:
        return ()
    view = [1] * rank
    view[channel_axis] = -1
    return tuple(view)


def apply_normalize(x, scale, eps, sum_squares, sqrt):
    """normalize_layer.cpp, Forward_cpu, for any array type: x / sqrt(sum of x² + eps) * scale.
    sum_squares(t) sums t over the normalized axes keeping them; eps is inside the root."""
    return x / sqrt(sum_squares(x * x) + eps) * scale


def reference(node, inputs):
    p: NormalizeParams = node.params
    x = inputs[0].astype(np.float64)
    axes = tuple(sum_axes(p, x.ndim))
    scale = node.weights[0].astype(np.float64).reshape(scale_view(p, x.ndim))
    return [apply_normalize(x, scale, np.float64(np.float32(p.eps)), lambda t: t.sum(axes, keepdims=True), np.sqrt)]


def onnx(node, inputs, outputs, b):
    p: NormalizeParams = node.params
    rank = len(b.shape(node.inputs[0]))
    x = inputs[0]
    summed = b.reduce("ReduceSum", b.op("Mul", [x, x], node.name), sum_axes(p, rank), node.name, keepdims=True)
    root = b.op("Sqrt", [b.op("Add", [summed, b.const(node.name, "eps", np.float32(p.eps))], node.name)], node.name)
    normalized = b.op("Div", [x, root], node.name)
    scale = b.const(node.name, "scale", node.weights[0].reshape(scale_view(p, rank)))
    return [b.op("Mul", [normalized, scale], node.name, output=outputs[0])]


def pytorch(node, ctx):
    p: NormalizeParams = node.params
    rank = len(ctx.shape(node.inputs[0]))
    view = scale_view(p, rank)
    scale = np.asarray(node.weights[0], np.float32).reshape(view)
    return TorchLayer(f"Normalize({sum_axes(p, rank)}, {tuple(scale.shape)}, {float_literal(p.eps)})",
                      state={"scale": scale}, helpers=("caffe2x.families.ssd.normalize_torch:Normalize",))


def tensorflow(node, args, ctx):
    p: NormalizeParams = node.params
    value = node.inputs[0]
    rank = len(ctx.shape(value))
    layout = ctx.layout(value)
    channel_axis = 3 if layout == "nhwc" else 1  # a 4-D blob is NHWC inside Keras
    scale = np.asarray(node.weights[0], np.float32).reshape(scale_view(p, rank, channel_axis))
    expr = (f"Normalize({sum_axes(p, rank, channel_axis)}, {tuple(scale.shape)}, {float_literal(p.eps)}, "
            f"name={ctx.name(node)})({args[0]})")
    return KerasLayer(expr, weights={ctx.raw_name(node): [scale]},
                      custom=("caffe2x.families.ssd.normalize_keras:Normalize",), layouts=[layout])


register_layer("Normalize", LayerDef(fork_params("norm_param", parse), infer, weights=scale_shape), reference,
               onnx=onnx, pytorch=pytorch, tensorflow=tensorflow)

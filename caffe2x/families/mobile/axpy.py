"""SENet's Axpy layer: top = a * x + y with one scale per (item, channel).

Source: hujie-frank/SENet, commit 0262d43d44c561fd53c3dba210cc8bacfc60500d,
src/caffe/layers/axpy_layer.cpp and include/caffe/layers/axpy_layer.hpp: three bottoms,
a (N x C, or N x C x 1 x 1: the SE branch's sigmoid), x and y (N x C x H x W), one top shaped
like x. Forward copies y, then adds a[n, c] * x[n, c, :] (caffe_axpy) for each item and channel.

Shape checks, as Reshape's CHECKs (ShapeError instead of an abort): a and x agree on N and C,
a 4-axis a is 1 x 1 spatially, x and y have the same shape. The fork indexes a as a flat
N x C array, so caffe2x also refuses an a with more than one value per (item, channel) (a
3-axis or 5-axis a with spatial size, which the fork would read out of place); x reads its
channels with the legacy accessor, so it has 2 to 4 axes.
"""

from __future__ import annotations

import math

import numpy as np

from ...api import register_layer
from ...extend import KerasLayer, LayerDef, ShapeError, TorchLayer, no_params


def infer(params, bottoms):
    a, x, y = bottoms
    if not 2 <= len(x) <= 4:
        raise ShapeError(f"Axpy's x (bottom 1) needs 2 to 4 axes (the fork reads its channels with the legacy "
                         f"accessor), got {list(x)}")
    if len(a) < 2 or tuple(a[:2]) != tuple(x[:2]):
        raise ShapeError(f"Axpy's a (bottom 0) {list(a)} must start with x's N and C {list(x[:2])}")
    if math.prod(a[2:]) != 1:
        raise ShapeError(f"Axpy's a (bottom 0) {list(a)} must hold one value per item and channel (N x C or "
                         "N x C x 1 x 1)")
    if tuple(y) != tuple(x):
        raise ShapeError(f"Axpy's x {list(x)} and y {list(y)} (bottoms 1 and 2) must have the same shape")
    return [x]


def apply_axpy(a, x, y):
    """axpy_layer.cpp, for any array type, a already shaped to broadcast over x: a * x + y."""
    return a * x + y


def reference(node, inputs):
    a, x, y = (array.astype(np.float64) for array in inputs)
    return [apply_axpy(a.reshape(x.shape[:2] + (1,) * (x.ndim - 2)), x, y)]


def onnx(node, inputs, outputs, b):
    rank = len(b.shape(node.inputs[1]))
    a = b.op("Reshape", [inputs[0], b.ints(node.name, "view", (0, 0) + (1,) * (rank - 2))], node.name)
    return [b.op("Add", [b.op("Mul", [a, inputs[1]], node.name), inputs[2]], node.name, output=outputs[0])]


def pytorch(node, ctx):
    rank = len(ctx.shape(node.inputs[1]))
    return TorchLayer(f"Axpy({rank})", helpers=("caffe2x.families.mobile.axpy_torch:Axpy",))


def tensorflow(node, args, ctx):
    """Inside Keras x and y are NHWC when 4-D; a (N x C x 1 x 1, or N x C) holds its values
    in item, channel order in either layout, so it is reshaped to x's channel axis."""
    x = node.inputs[1]
    shape = ctx.shape(x)
    layout = ctx.layout(x)
    channels = shape[1]
    view = (1, 1, channels) if layout == "nhwc" else (channels,) + (1,) * (len(shape) - 2)
    return KerasLayer(f"Axpy({view}, name={ctx.name(node)})([{', '.join(args)}])",
                      custom=("caffe2x.families.mobile.axpy_keras:Axpy",), layouts=[layout])


def flops(params, bottoms, tops):
    return 2 * math.prod(tops[0])  # one multiply-add per element


register_layer("Axpy", LayerDef(no_params, infer, bottoms=(3, 3), flops=flops), reference,
               onnx=onnx, pytorch=pytorch, tensorflow=tensorflow)

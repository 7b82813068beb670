"""ShuffleNet's ShuffleChannel layer: the channel shuffle between grouped convolutions.

Source: farmingyard/ShuffleNet, commit b9624442bd410bbd2aadc820122b138e63039d70,
shuffle_channel_layer.cpp (copied unchanged by most ShuffleNet v1/v2 Caffe ports), with
`shuffle_channel_param { group }` (mobile.proto; default 1). Forward_cpu's Resize_cpu copies
input channel i * (C / g) + j to output channel j * g + i (i < g, j < C / g): the reshape to
(N, g, C/g, H·W), swap of the two channel axes and reshape back, as a permutation of the
channels (channel_order), which every target applies as one gather.

Shapes, as the fork: group must be positive (CHECK_GT in LayerSetUp) and divide the channels
(CHECK_EQ "Wrong group size." in Forward); Reshape sets the top with the legacy 4-D accessors,
so the bottom has 2 to 4 axes and the top is always (N, C, H, W), missing axes as 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...api import register_layer
from ...extend import KerasLayer, LayerDef, ShapeError, TorchLayer, fork_params


@dataclass(frozen=True)
class ShuffleChannelParams:
    group: int


def parse(shuffle) -> ShuffleChannelParams:
    group = int(shuffle.group)
    if group <= 0:
        raise ShapeError(f"shuffle_channel_param group {group} must be greater than 0")
    return ShuffleChannelParams(group)


def channel_order(channels, group):
    """Input channel of each output channel: output j * group + i is input i * (channels // group) + j."""
    per_group = channels // group
    return [(k % group) * per_group + k // group for k in range(channels)]


def legacy_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Blob::num/channels/height/width: the first 4 axes, 1 for those a 2- or 3-axis blob lacks."""
    return tuple(shape) + (1,) * (4 - len(shape))


def infer(params: ShuffleChannelParams, bottoms):
    shape = bottoms[0]
    if not 2 <= len(shape) <= 4:
        raise ShapeError(f"ShuffleChannel reads its bottom with Caffe's legacy 4-D accessors: it needs 2 to 4 "
                         f"axes, got {len(shape)} ({list(shape)})")
    if shape[1] % params.group:
        raise ShapeError(f"shuffle_channel_param group {params.group} does not divide the {shape[1]} channels "
                         "(the fork stops with 'Wrong group size.')")
    return [legacy_shape(shape)]


def reference(node, inputs):
    x = inputs[0]
    shuffled = np.take(x, channel_order(x.shape[1], node.params.group), axis=1)
    return [shuffled.reshape(legacy_shape(x.shape))]


def onnx(node, inputs, outputs, b):
    shape = b.shape(node.inputs[0])
    order = b.ints(node.name, "order", channel_order(shape[1], node.params.group))
    if len(shape) == 4:
        return [b.op("Gather", [inputs[0], order], node.name, output=outputs[0], axis=1)]
    gathered = b.op("Gather", [inputs[0], order], node.name, axis=1)
    target = b.ints(node.name, "shape", (-1, *legacy_shape(shape)[1:]))
    return [b.op("Reshape", [gathered, target], node.name, output=outputs[0])]


def pytorch(node, ctx):
    shape = ctx.shape(node.inputs[0])
    return TorchLayer(f"ShuffleChannel({shape[1]}, {node.params.group}, {legacy_shape(shape)[1:]})",
                      helpers=("caffe2x.families.mobile.shuffle_channel_torch:ShuffleChannel",))


def tensorflow(node, args, ctx):
    """A 4-D blob is NHWC inside Keras: gather on the last axis. A 2- or 3-axis blob keeps
    Caffe's order (channels on axis 1) and its 4-D top becomes NHWC."""
    value = node.inputs[0]
    shape = ctx.shape(value)
    nhwc = ctx.layout(value) == "nhwc"
    expr = (f"ShuffleChannel({shape[1]}, {node.params.group}, {-1 if nhwc else 1}, "
            f"{None if nhwc else legacy_shape(shape)[1:]}, name={ctx.name(node)})({args[0]})")
    return KerasLayer(expr, custom=("caffe2x.families.mobile.shuffle_channel_keras:ShuffleChannel",),
                      layouts=["nhwc"])


register_layer("ShuffleChannel", LayerDef(fork_params("shuffle_channel_param", parse), infer, flops=lambda *_: 0),
               reference, onnx=onnx, pytorch=pytorch, tensorflow=tensorflow)

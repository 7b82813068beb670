"""The SSD fork's Permute layer (permute_layer.cpp): reorders a blob's axes.

    layer { type: "Permute" bottom: "conv4_3_norm_mbox_loc" top: "..._perm"
            permute_param { order: 0 order: 2 order: 3 order: 1 } }

top axis i is bottom axis order[i]. A partial order is completed as the fork does: the axes it
does not name follow in increasing order (`order: 0 order: 2` on a 4-D blob is 0, 2, 1, 3). An
order naming an axis the blob lacks, or naming one twice, is refused (the fork aborts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...api import register_layer
from ...extend import KerasLayer, LayerDef, ShapeError, TorchLayer, fork_params

# Caffe axis of a 4-D blob -> its axis inside Keras (NHWC), and back.
_NHWC_AXIS = (0, 3, 1, 2)
_CAFFE_AXIS_OF_NHWC = (0, 2, 3, 1)


@dataclass(frozen=True)
class PermuteParams:
    order: tuple[int, ...]  # as written; completed against the bottom's rank by full_order


def parse(permute) -> PermuteParams:
    return PermuteParams(tuple(int(axis) for axis in permute.order))


def full_order(order: tuple[int, ...], rank: int) -> tuple[int, ...]:
    """PermuteLayer::LayerSetUp: the given axes (each below the rank, none twice), then the
    missing ones in increasing order."""
    for i, axis in enumerate(order):
        if axis >= rank:
            raise ShapeError(f"permute_param order {axis} is not an axis of the {rank}-D bottom "
                             f"(order should be less than the input dimension)")
        if axis in order[:i]:
            raise ShapeError(f"permute_param order names axis {axis} twice (the fork refuses duplicate orders)")
    return tuple(order) + tuple(axis for axis in range(rank) if axis not in order)


def infer(params: PermuteParams, bottoms):
    order = full_order(params.order, len(bottoms[0]))
    return [tuple(bottoms[0][axis] for axis in order)]


def reference(node, inputs):
    return [np.ascontiguousarray(np.transpose(inputs[0], full_order(node.params.order, inputs[0].ndim)))]


def onnx(node, inputs, outputs, b):
    order = full_order(node.params.order, len(b.shape(node.inputs[0])))
    return [b.op("Transpose", inputs, node.name, output=outputs[0], perm=list(order))]


def pytorch(node, ctx):
    order = full_order(node.params.order, len(ctx.shape(node.inputs[0])))
    return TorchLayer(f"Permute({order})", helpers=("caffe2x.families.ssd.permute_torch:Permute",))


def keras_order(order: tuple[int, ...], input_nhwc: bool, output_nhwc: bool) -> tuple[int, ...]:
    """The fork's order as a transpose of the tensors inside Keras: the input may be NHWC
    (a 4-D blob) and the output is NHWC when it is 4-D. Keras output axis k holds Caffe output
    axis c, which is Caffe input axis order[c], found at its own Keras axis."""
    caffe_out = _CAFFE_AXIS_OF_NHWC if output_nhwc else tuple(range(len(order)))
    keras_in = _NHWC_AXIS if input_nhwc else tuple(range(len(order)))
    return tuple(keras_in[order[caffe_out[k]]] for k in range(len(order)))


def tensorflow(node, args, ctx):
    value = node.inputs[0]
    rank = len(ctx.shape(value))
    order = full_order(node.params.order, rank)
    perm = keras_order(order, ctx.layout(value) == "nhwc", rank == 4)
    layout = "nhwc" if rank == 4 else "caffe"
    if perm[0] == 0:  # the batch stays first: Keras' own Permute (its dims count from 1, after the batch)
        return KerasLayer(f"layers.Permute({perm[1:]}, name={ctx.name(node)})({args[0]})", layouts=[layout])
    return KerasLayer(f"Transpose({perm}, name={ctx.name(node)})({args[0]})",
                      custom=("caffe2x.families.ssd.permute_keras:Transpose",), layouts=[layout])


register_layer("Permute", LayerDef(fork_params("permute_param", parse), infer, flops=lambda *_: 0), reference,
               onnx=onnx, pytorch=pytorch, tensorflow=tensorflow)

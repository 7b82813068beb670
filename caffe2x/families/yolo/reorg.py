"""Reorg (YOLO v2's passthrough layer), as eric612/MobileNet-YOLO implements it.

    layer { type: "Reorg" bottom: "conv13" top: "reorg" reorg_param { stride: 2 } }

Source: eric612/MobileNet-YOLO, commit 69b4441cb3ec8d553fbdef788ad033e246f901bd,
src/caffe/layers/reorg_layer.cpp and include/caffe/layers/reorg_layer.hpp. Forward_cpu calls
`reorg_cpu(bottom_data, W, H, C, N, stride, reverse_, top_data)`; with a const bottom that is the
second overload, whose `forward` argument is `reverse_`. That is darknet's quirk, kept by the fork:
- reverse: false (the default, what YOLO v2 nets use): `top[bottom_index] = bottom[top_index]`,
  the loop over the bottom's (C, H, W) while `top_index` reads the bottom's buffer as if it were
  (C/s², H·s, W·s); the top is declared (C·s², H/s, W/s). So top channel-block (oy·s + ox)·C/s² + c2
  at (h, w) is bottom[c2, h·s + oy, w·s + ox] of that reinterpreted buffer: not the "space to
  depth" a reader expects, and not TensorFlow's either.
- reverse: true: `top[top_index] = bottom[bottom_index]`, top (C/s², H·s, W·s).
Both are a reshape, one 5-D transpose and a reshape (`plan`), which the reference and every
target apply; tests/test_yolo_reorg.py checks it against the fork's loops written out.

The fork has no CHECK but `has_stride`; where its loops would leave the blobs (a stride that does
not divide H or W, channels not a multiple of stride², stride 0) caffe2x refuses the layer with a
ShapeError instead of reading or writing past them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...api import register_layer
from ...extend import KerasLayer, LayerDef, ShapeError, TorchLayer, check, fork_params


@dataclass(frozen=True)
class ReorgParams:
    stride: int
    reverse: bool


def parse(value) -> ReorgParams:
    if not value.has("stride"):
        raise ShapeError("reorg_param must give stride (the fork's LayerSetUp: 'Reorg Layer needs stride param.')")
    stride = int(value.stride)
    if stride < 1:
        raise ShapeError(f"reorg_param stride {stride} must be at least 1 (the fork divides by it)")
    return ReorgParams(stride, bool(value.reverse))


def infer(params: ReorgParams, bottoms):
    shape = bottoms[0]
    check(len(shape) == 4, f"Reorg reads a 4-D bottom (N, C, H, W), got {len(shape)} axes ({list(shape)})")
    n, c, h, w = shape
    s = params.stride
    check(c % (s * s) == 0, f"reorg_param stride {s}: the {c} channels are not a multiple of stride² = {s * s} "
                            "(the fork's index map would read and write past the blobs)")
    if params.reverse:
        return [(n, c // (s * s), h * s, w * s)]
    check(h % s == 0 and w % s == 0, f"reorg_param stride {s} does not divide the bottom's height {h} and width "
                                     f"{w} (the fork would write past its top)")
    return [(n, c * s * s, h // s, w // s)]


def plan(params: ReorgParams, shape) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """(5-D view of the bottom, transpose permutation, top shape), batch as -1: the fork's loops.

    Not reversed: the bottom's buffer as (N, C/s²·H, s, W, s) [(c2, h), oy, w, ox], to
    (N, s, s, C/s²·H, W) [oy, ox, (c2, h), w], which is the top's (C·s², H/s, W/s) buffer.
    Reversed: the bottom as (N, s, s, C/s²·H, W), to (N, C/s²·H, s, W, s)."""
    _, c, h, w = shape
    s = params.stride
    out_c = c // (s * s)
    top = infer(params, [shape])[0]
    if params.reverse:
        return (-1, s, s, out_c * h, w), (0, 3, 1, 4, 2), (-1, *top[1:])
    return (-1, out_c * h, s, w, s), (0, 2, 4, 1, 3), (-1, *top[1:])


def reference(node, inputs):
    x = inputs[0]
    view, perm, top = plan(node.params, x.shape)
    return [np.ascontiguousarray(np.transpose(x.reshape(view), perm)).reshape(top)]


def onnx(node, inputs, outputs, b):
    view, perm, top = plan(node.params, b.shape(node.inputs[0]))
    viewed = b.op("Reshape", [inputs[0], b.ints(node.name, "view", view)], node.name)
    moved = b.op("Transpose", [viewed], node.name, perm=list(perm))
    return [b.op("Reshape", [moved, b.ints(node.name, "top", top)], node.name, output=outputs[0])]


def pytorch(node, ctx):
    view, perm, top = plan(node.params, ctx.shape(node.inputs[0]))
    return TorchLayer(f"Reorg({view[1:]}, {perm}, {top[1:]})",
                      helpers=("caffe2x.families.yolo.reorg_torch:Reorg",))


def tensorflow(node, args, ctx):
    """The fork's index map is over Caffe's (C, H, W) buffers: the layer reads its bottom in
    Caffe's layout and gives its top as NHWC, as 4-D values are inside Keras (TFLite: TRANSPOSE,
    RESHAPE, TRANSPOSE, RESHAPE, TRANSPOSE)."""
    view, perm, top = plan(node.params, ctx.shape(node.inputs[0]))
    value = ctx.to_caffe(node, args[0], node.inputs[0])
    return KerasLayer(f"Reorg({view[1:]}, {perm}, {top[1:]}, name={ctx.name(node)})({value})",
                      custom=("caffe2x.families.yolo.reorg_keras:Reorg",), layouts=["nhwc"])


register_layer("Reorg", LayerDef(fork_params("reorg_param", parse), infer, flops=lambda *_: 0),
               reference, onnx=onnx, pytorch=pytorch, tensorflow=tensorflow)

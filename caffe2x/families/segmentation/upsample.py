"""Upsample: SegNet's max-unpooling (2 bottoms) and the YOLO ports' nearest form (1 bottom).

    SegNet: layer { type: "Upsample" bottom: "conv5_1_D" bottom: "pool5_mask" top: "pool5_D"
                    upsample_param { scale: 2 upsample_h: 23 upsample_w: 30 } }
    YOLO:   layer { type: "Upsample" bottom: "conv19" top: "upsample19" upsample_param { scale: 2 } }

SegNet (alexgkendall/caffe-segnet 344c113bf1832886f1cbe9f33ffe28a3beeaf412,
src/caffe/layers/upsample_layer.cpp; the same in TimoSaemann/caffe-segnet-cudnn5 abcf30dc):
bottom[1] is the argmax mask of a MAX Pooling (its second top: h * W + w in the pooling's input
plane, as float), of bottom[0]'s shape. The top, N x C x upsample_h x upsample_w, is zero but for
top[mask[i]] = bottom[i], written per plane in row-major order of i, so where two values land on
one position (overlapping pooling windows) the later one wins. The size: upsample_h and
upsample_w; else H * scale_h - pad_out_h (and width alike) with scale_h = scale_w = scale (the
fork's default 2) unless scale_h and scale_w are given; pad_out only with a scale of 2. The
fork's CHECKs are ShapeErrors here: upsample_h/w <= 1, scales <= 1, scale together with
scale_h/scale_w, pad_out with another scale, a mask of another shape. The default scale 2 applies
to a block that says something of the size (pad_out_h/w alone). Refused, where the fork would
silently guess a decoder size that must match its encoder's: no size, scale or pad_out at all
(the issue's "Upsample without size or scale"; the fork takes scale 2), upsample_h without
upsample_w or the reverse (the fork ignores it and takes scale 2), a mask that is not a MAX
Pooling's second top (an AVE pooling has none; a net input or another layer's blob holds no
argmax), and a pooling input plane larger than the top's (the fork aborts, LOG(FATAL), on an
index past the top's plane). A mask index of -1 (a pooling window with nothing above -FLT_MAX)
makes the fork write before the plane; it is dropped here.

YOLO ports (eric612/MobileNet-YOLO 69b4441cb3ec8d553fbdef788ad033e246f901bd, upsample_layer.cpp):
nearest neighbour, top[h][w] = bottom[h / scale][w / scale], H and W times `scale` (int32,
default 1: a copy, as the fork; a scale below 1 is refused).

Both are type "Upsample" with one upsample_param declaration (segmentation.proto): the form is
the bottom count. The max-unpooling itself (mask rule, reference, emitters) is maxunpool.py's,
shared with DeconvNet's Unpooling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...api import fork_param, register_layer
from ...extend import KerasLayer, LayerDef, TorchLayer, check
from . import maxunpool

MASK, NEAREST = "mask", "nearest"
SEGNET_DEFAULT_SCALE = 2  # SegNet's UpsampleParameter.scale [default = 2]
YOLO_DEFAULT_SCALE = 1  # the YOLO port's UpsampleParameter.scale [default = 1]


@dataclass(frozen=True)
class UpsampleParams:
    form: str  # MASK (SegNet, 2 bottoms) or NEAREST (YOLO ports, 1 bottom)
    size: tuple[int, int] | None  # upsample_h, upsample_w
    scale: tuple[int, int]  # (h, w); NEAREST: both `scale`
    pad_out: tuple[bool, bool]


def parse(layer) -> UpsampleParams:
    value = fork_param(layer, "upsample_param")
    if len(layer.bottom) == 1:
        return _nearest(value)
    return _segnet(value)


def _nearest(value) -> UpsampleParams:
    extra = [name for name in ("scale_h", "scale_w", "pad_out_h", "pad_out_w", "upsample_h", "upsample_w")
             if value.has(name)]
    check(not extra, f"the one-bottom (nearest, YOLO) Upsample reads only `scale`, not {', '.join(extra)}; "
                     "SegNet's form takes a second bottom, the MAX pooling's mask")
    scale = int(value.scale) if value.has("scale") else YOLO_DEFAULT_SCALE
    check(scale >= 1, f"scale must be >= 1, got {scale}")
    return UpsampleParams(NEAREST, None, (scale, scale), (False, False))


def _segnet(value) -> UpsampleParams:
    has = value.has
    check(has("upsample_h") == has("upsample_w"), "upsample_h and upsample_w go together (with one alone the "
                                                  "SegNet fork ignores it and upsamples by 2)")
    check(any(has(name) for name in ("upsample_h", "scale", "scale_h", "scale_w", "pad_out_h", "pad_out_w")),
          "Upsample needs its output size: upsample_param { upsample_h: H upsample_w: W } or { scale: N }")
    pad_out = (bool(value.pad_out_h), bool(value.pad_out_w))
    if has("upsample_h"):  # upsample_layer.cpp, LayerSetUp: CHECK_GT(upsample_h_, 1) and _w
        check(value.upsample_h > 1 and value.upsample_w > 1,
              f"upsample_h and upsample_w must be > 1, got {value.upsample_h} x {value.upsample_w}")
        return UpsampleParams(MASK, (int(value.upsample_h), int(value.upsample_w)), (1, 1), pad_out)
    check(has("scale_h") == has("scale_w") and not (has("scale") and has("scale_h")),
          "give scale, or scale_h and scale_w (the SegNet fork's CHECK)")
    if has("scale_h"):
        scale = (int(value.scale_h), int(value.scale_w))
    else:
        scale = (int(value.scale) if has("scale") else SEGNET_DEFAULT_SCALE,) * 2
    check(min(scale) > 1, f"the scales must be > 1, got {scale[0]} x {scale[1]}")
    check(all(s == 2 or not pad for s, pad in zip(scale, pad_out)),
          "pad_out_h/pad_out_w need a scale of 2 on their axis (the fork: otherwise the size is ill-defined)")
    return UpsampleParams(MASK, None, scale, pad_out)


def output_hw(params: UpsampleParams, height: int, width: int) -> tuple[int, int]:
    """upsample_layer.cpp, Reshape: upsample_h/w, else H * scale_h - pad_out_h (W alike)."""
    if params.size is not None:
        return params.size
    return (height * params.scale[0] - int(params.pad_out[0]), width * params.scale[1] - int(params.pad_out[1]))


def infer(params: UpsampleParams, bottoms):
    data = bottoms[0]
    check(len(data) == 4, f"Upsample needs a 4-D N,C,H,W blob, got {list(data)}")
    if params.form == MASK:
        maxunpool.check_mask_shape(data, bottoms[1])
    return [(data[0], data[1], *output_hw(params, data[2], data[3]))]


def check_mask(params: UpsampleParams, bottoms, sources) -> None:
    if params.form == MASK:
        maxunpool.check_mask_source(sources, output_hw(params, *bottoms[0][2:]))


# ---------------------------------------------------------------------------------------------
# The arithmetic
# ---------------------------------------------------------------------------------------------

def nearest(data: np.ndarray, scale: int) -> np.ndarray:
    """top[h][w] = bottom[h / scale][w / scale]."""
    return np.repeat(np.repeat(data, scale, axis=2), scale, axis=3)


def reference(node, inputs):
    p: UpsampleParams = node.params
    data = inputs[0].astype(np.float64)
    if p.form == NEAREST:
        return [nearest(data, p.scale[0])]
    return [maxunpool.unpool(data, inputs[1], output_hw(p, *data.shape[2:]), node.name)]


# ---------------------------------------------------------------------------------------------
# Emitters
# ---------------------------------------------------------------------------------------------

def onnx(node, inputs, outputs, b):
    if node.params.form == NEAREST:
        from .upsample_onnx import emit_nearest

        return emit_nearest(node, inputs, outputs, b)
    return maxunpool.onnx(node, inputs, outputs, b, output_hw(node.params, *b.shape(node.inputs[0])[2:]))


def pytorch(node, ctx):
    p: UpsampleParams = node.params
    if p.form == NEAREST:
        return TorchLayer(f"UpsampleNearest({p.scale[0]})",
                          helpers=("caffe2x.families.segmentation.upsample_torch:UpsampleNearest",))
    return maxunpool.pytorch(node, ctx)


def tensorflow(node, args, ctx):
    p: UpsampleParams = node.params
    if p.form == NEAREST:
        return KerasLayer(f"UpsampleNearest({p.scale[0]}, name={ctx.name(node)})({args[0]})",
                          custom=("caffe2x.families.segmentation.upsample_keras:UpsampleNearest",), layouts=["nhwc"])
    return maxunpool.tensorflow(node, args, ctx)


register_layer("Upsample", LayerDef(parse, infer, bottoms=(1, 2), check_bottoms=check_mask), reference,
               onnx=onnx, pytorch=pytorch, tensorflow=tensorflow)

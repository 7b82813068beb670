"""Region (darknet's YOLO v2 region layer as a Caffe layer, the caffe-yolov2 ports' deploy form).

    layer { type: "Region" bottom: "conv_reg" top: "region"
            region_param { classes: 20 coords: 4 boxes_of_each_grid: 5 softmax: true } }

eric612/MobileNet-YOLO has no Region layer (only RegionLoss, for training). Source:
lwplw/caffe_yolov2, commit f17967408842e0628cc1b0d8c71fdc3dcf7d523f, src/caffe/layers/region_layer.cpp
and src/caffe/util/math_functions.cpp (flatten, logistic_activate, softmax); the same four
parameters ncnn's Region reads. Forward_cpu:
- the top has the bottom's shape (N, C, H, W), but its buffer is each image's (H·W, C) transpose
  (flatten(..., forward = true)): per cell, boxes_of_each_grid records of coords + classes + 1;
- entry 4 of each record (the objectness) becomes logistic_activate(x) = 1 / (1 + exp(-x));
- with softmax, entries 5 .. 5 + classes of each record become their softmax (max subtracted,
  float sum in class order). The fork never sets `softmax_` from the block (an uninitialized
  member); caffe2x, as the issue-18 fork tree's patched build, reads `softmax` (default false).
Nothing else is decoded: the boxes stay raw for a host-side get_region_boxes.

Refused with a ShapeError where the fork would read or mix past its records: channels other than
boxes_of_each_grid · (coords + classes + 1) (flatten moves that many channels per image), coords
below 4 (entries 4 and 5 are fixed in the fork's loops).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...api import register_layer
from ...extend import KerasLayer, LayerDef, TorchLayer, check, fork_params


@dataclass(frozen=True)
class RegionParams:
    classes: int
    coords: int
    boxes: int
    softmax: bool

    @property
    def record(self) -> int:
        """Entries per box: coords, objectness, classes."""
        return self.coords + self.classes + 1


def parse(value) -> RegionParams:
    params = RegionParams(int(value.classes), int(value.coords), int(value.boxes_of_each_grid), bool(value.softmax))
    check(params.coords >= 4, f"region_param coords {params.coords}: the fork reads the objectness at entry 4 and "
                              "the classes from entry 5 of each record, so coords must be at least 4")
    check(params.boxes >= 1, "region_param boxes_of_each_grid must be at least 1")
    return params


def infer(params: RegionParams, bottoms):
    shape = bottoms[0]
    check(len(shape) == 4, f"Region reads a 4-D bottom (N, C, H, W), got {list(shape)}")
    check(shape[1] == params.boxes * params.record,
          f"{shape[1]} channels, but boxes_of_each_grid {params.boxes} x (coords {params.coords} + classes "
          f"{params.classes} + 1) = {params.boxes * params.record} (the fork's flatten moves that many per image)")
    return [tuple(shape)]


def records(x, params: RegionParams):
    """The flattened top as (N, H·W·boxes, record) (NumPy)."""
    return np.transpose(x, (0, 2, 3, 1)).reshape(x.shape[0], -1, params.record)


def reference(node, inputs):
    x = np.asarray(inputs[0], np.float32)
    p = node.params
    r = records(x, p).copy()
    r[..., 4] = (1.0 / (1.0 + np.exp(-r[..., 4].astype(np.float64)))).astype(np.float32)
    if p.softmax:
        logits = r[..., 5:5 + p.classes]
        e = np.exp((logits - logits.max(axis=-1, keepdims=True)).astype(np.float64)).astype(np.float32)
        total = np.zeros(e.shape[:-1], np.float32)
        for k in range(p.classes):  # the fork's float sum, in class order
            total = (total + e[..., k]).astype(np.float32)
        r[..., 5:5 + p.classes] = e / total[..., None]
    return [r.reshape(x.shape)]


def _args(params: RegionParams) -> str:
    return f"{params.record}, {params.classes}, {params.softmax}"


def onnx(node, inputs, outputs, b):
    p = node.params
    shape = b.shape(node.inputs[0])
    flat = b.op("Reshape", [b.op("Transpose", [inputs[0]], node.name, perm=[0, 2, 3, 1]),
                            b.ints(node.name, "records", [0, -1, p.record])], node.name)

    def part(start, end):
        return b.op("Slice", [flat, b.ints(node.name, "s", [start]), b.ints(node.name, "e", [end]),
                              b.ints(node.name, "a", [2])], node.name)

    objectness = b.op("Sigmoid", [part(4, 5)], node.name)
    classes = part(5, 5 + p.classes)
    if p.softmax:
        classes = b.op("Softmax", [classes], node.name, axis=-1)
    pieces = [part(0, 4), objectness, classes] + ([part(5 + p.classes, p.record)] if p.record > 5 + p.classes else [])
    joined = b.op("Concat", pieces, node.name, axis=2)
    return [b.op("Reshape", [joined, b.ints(node.name, "top", [-1, *shape[1:]])], node.name, output=outputs[0])]


def pytorch(node, ctx):
    return TorchLayer(f"Region({_args(node.params)})", helpers=("caffe2x.families.yolo.region_torch:Region",))


def tensorflow(node, args, ctx):
    """Works on the Caffe-layout bottom (the fork's flatten is over its NCHW buffer); the top is
    given NHWC, as 4-D values are inside Keras."""
    value = ctx.to_caffe(node, args[0], node.inputs[0])
    return KerasLayer(f"Region({_args(node.params)}, name={ctx.name(node)})({value})",
                      custom=("caffe2x.families.yolo.region_keras:Region",), layouts=["nhwc"])


register_layer("Region", LayerDef(fork_params("region_param", parse), infer), reference, onnx=onnx,
               pytorch=pytorch, tensorflow=tensorflow)

"""Yolov3DetectionOutput (YOLO v3's multi-scale detection output) as eric612/MobileNet-YOLO
implements it.

    layer { type: "Yolov3DetectionOutput" bottom: "conv16" bottom: "conv17" top: "detection_out"
            yolov3_detection_output_param { num_classes: 20 num_box: 3 confidence_threshold: 0.01
              nms_threshold: 0.45 biases: 10 biases: 14 ... mask: 3 mask: 4 mask: 5 mask: 0 mask: 1 mask: 2
              anchors_scale: 32 anchors_scale: 16 mask_group_num: 2 } }

Source: eric612/MobileNet-YOLO, commit 69b4441cb3ec8d553fbdef788ad033e246f901bd,
src/caffe/layers/yolov3_detection_output_layer.cpp (Forward_cpu, the CPU path), its header,
src/caffe/util/bbox_util.cpp (get_region_box) and caffe.proto's Yolov3DetectionOutputParameter.
Bottom t (mask_group_num of them, CHECKed) is N x C x H x W, box n's E = 5 + num_classes entries at
channels n·E .. n·E + E - 1 (channels past num_box · E are not read). Per bottom, image, cell
(row-major) and box n:
- anchor m = mask[t · (mask size / mask_group_num) + n]: (biases[2m], biases[2m+1]) in input
  pixels; net size W · anchors_scale[t] by H · anchors_scale[t]; the box by get_region_box with
  sides W and H; correct_yolo_boxes is the identity here (its letterbox size is the net size);
- for every class c: confidence σ(class c) · σ(objectness), a candidate (label c) when
  confidence > confidence_threshold (strictly, unlike v2's >=).
Then yolo_nms.py: one sorted list for the whole batch, class-agnostic greedy NMS, rows
1 x 1 x R x 7 with image id 0 and label + 1.

Refused with a ShapeError: bottoms not mask_group_num (the fork's CHECK), a mask index or an
anchor past the given mask/biases, an anchors_scale missing or 0, channels fewer than
num_box · (5 + num_classes), gaussian_box (Gaussian YOLO v3's boxes are not implemented here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...api import register_layer
from ...extend import LayerDef, ShapeError, check, fork_params
from . import yolo_emit
from .yolo_nms import bottom_plan, decode_bottom, detection_rows, sigmoid


@dataclass(frozen=True)
class Yolov3Params:
    num_classes: int
    num_box: int
    confidence_threshold: float
    nms_threshold: float
    biases: tuple[float, ...]
    anchors_scale: tuple[int, ...]
    mask_group_num: int
    mask: tuple[int, ...]

    @property
    def entries(self) -> int:
        return 5 + self.num_classes

    def anchor_index(self, bottom: int, box: int) -> int:
        """mask[n + mask_offset], mask_offset growing by mask size / mask_group_num per bottom."""
        return self.mask[bottom * (len(self.mask) // self.mask_group_num) + box]


def build(value) -> Yolov3Params:
    if not value.has("num_classes"):
        raise ShapeError("yolov3_detection_output_param must give num_classes (the fork: 'Must specify num_classes')")
    if value.gaussian_box:
        raise ShapeError("yolov3_detection_output_param gaussian_box: true (Gaussian YOLO v3) is not supported")
    params = Yolov3Params(int(value.num_classes), int(value.num_box), float(value.confidence_threshold),
                          float(value.nms_threshold), tuple(float(b) for b in value.biases),
                          tuple(int(s) for s in value.anchors_scale), int(value.mask_group_num),
                          tuple(int(m) for m in value.mask))
    check(params.num_classes >= 1, "yolov3_detection_output_param num_classes must be at least 1")
    check(params.num_box >= 1, f"yolov3_detection_output_param num_box {params.num_box} must be at least 1")
    check(params.mask_group_num >= 1, "yolov3_detection_output_param mask_group_num must be at least 1")
    check(all(s > 0 for s in params.anchors_scale), f"anchors_scale {list(params.anchors_scale)} must be positive "
                                                    "(the net size is the map size times it)")
    for group in range(params.mask_group_num):
        for box in range(params.num_box):
            position = group * (len(params.mask) // params.mask_group_num) + box
            check(position < len(params.mask), f"bottom {group}, box {box} reads mask[{position}], but the mask has "
                                               f"{len(params.mask)} values (num_box {params.num_box} per each of "
                                               f"mask_group_num {params.mask_group_num} bottoms)")
            anchor = params.mask[position]
            check(2 * anchor + 1 < len(params.biases), f"mask value {anchor} names anchor {anchor}, but the "
                                                       f"{len(params.biases)} biases hold "
                                                       f"{len(params.biases) // 2} anchors")
    return params


def infer(params: Yolov3Params, bottoms):
    check(len(bottoms) == params.mask_group_num, f"{len(bottoms)} bottoms, but mask_group_num is "
                                                 f"{params.mask_group_num} (the fork CHECKs they are equal)")
    check(len(params.anchors_scale) >= len(bottoms), f"anchors_scale gives {len(params.anchors_scale)} values for "
                                                     f"{len(bottoms)} bottoms (one each)")
    for shape in bottoms:
        check(len(shape) == 4, f"each bottom must be N x C x H x W, got {list(shape)}")
        check(shape[1] >= params.num_box * params.entries,
              f"a bottom of {shape[1]} channels: num_box {params.num_box} x (5 + num_classes {params.num_classes}) "
              f"= {params.num_box * params.entries} are read")
    return [(1, 1, 1, 7)]


def plans(params: Yolov3Params, shapes) -> tuple:
    """bottom_plan of every bottom: sides W and H, net size the sides times anchors_scale[t]."""
    result = []
    for t, shape in enumerate(shapes):
        height, width, scale = shape[2], shape[3], params.anchors_scale[t]
        anchors = [(params.biases[2 * m], params.biases[2 * m + 1])
                   for m in (params.anchor_index(t, n) for n in range(params.num_box))]
        result.append(bottom_plan(height, width, params.entries, anchors, width, height, width * scale,
                                  height * scale))
    return tuple(result)


def candidates(params: Yolov3Params, x, plan):
    """One bottom's candidates in the fork's order (cell, box, class): boxes, confidence, label, valid."""
    t, boxes = decode_bottom(x, plan)
    confidence = (sigmoid(t[..., 5:params.entries]) * sigmoid(t[..., 4])[..., None]).astype(np.float32)
    label = np.broadcast_to(np.arange(params.num_classes), confidence.shape)
    boxes = np.broadcast_to(boxes[..., None, :], (*confidence.shape, 4))
    return (boxes.reshape(-1, 4), confidence.reshape(-1), label.reshape(-1),
            confidence.reshape(-1) > np.float32(params.confidence_threshold))


def reference(node, inputs):
    inputs = [np.asarray(x, np.float32) for x in inputs]
    parts = [candidates(node.params, x, plan) for x, plan in zip(inputs, plans(node.params, [x.shape for x in inputs]))]
    boxes, confidence, label, valid = (np.concatenate(p) for p in zip(*parts))
    return [detection_rows(boxes, confidence, label, valid, node.params.nms_threshold, inputs[0].shape[0])]


def runtime_args(params: Yolov3Params, shapes) -> tuple:
    """The runtime classes' arguments: version, classes, thresholds, bottom plans."""
    return 3, params.num_classes, params.confidence_threshold, params.nms_threshold, plans(params, shapes)


DEFINITION = LayerDef(fork_params("yolov3_detection_output_param", build), infer, bottoms=(1, None),
                      data_dependent=(2,), score_column=2)

register_layer("Yolov3DetectionOutput", DEFINITION, reference, **yolo_emit.emitters(runtime_args))

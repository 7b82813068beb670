"""YoloDetectionOutput (YOLO v2's detection output) as eric612/MobileNet-YOLO implements it.

    layer { type: "YoloDetectionOutput" bottom: "conv_reg" top: "detection_out"
            yolo_detection_output_param { num_classes: 20 coords: 4 confidence_threshold: 0.01
              nms_threshold: 0.45 biases: 1.08 biases: 1.19 ... } }

Source: eric612/MobileNet-YOLO, commit 69b4441cb3ec8d553fbdef788ad033e246f901bd,
src/caffe/layers/yolo_detection_output_layer.cpp (Forward_cpu), its header, and caffe.proto's
YoloDetectionOutputParameter. Each bottom (1 or 2; the fork reads no third) is N x (num_box ·
E) x S x S, E entries per box: tx, ty, tw, th, objectness, then num_classes class scores.
Per image, row j, column i, box n (the fork's order):
- the box by get_region_box with side S for both axes (side_ = the width; `side` and `coords`
  of the block are not used) and anchor (biases[2n], biases[2n+1]) in cells;
- the class scores' softmax as class_index_and_score computes it (max subtracted, float sum in
  class order); label the first largest probability, confidence σ(objectness) · that probability;
- a candidate when confidence >= confidence_threshold.
Then yolo_nms.py: one sorted list for the whole batch, the class-agnostic greedy NMS, rows
1 x 1 x R x 7 with image id 0 and label + 1 (R known only after the run: data-dependent dim 2).

Refused with a ShapeError where the fork would read past its blobs: a bottom whose height is not
its width (the fork walks side x side cells with side = width), channels not num_box · E with E
at least 5 + num_classes, fewer than 2 · num_box biases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...api import register_layer
from ...extend import LayerDef, ShapeError, check, fork_params
from . import yolo_emit
from .yolo_nms import bottom_plan, decode_bottom, detection_rows, sigmoid


@dataclass(frozen=True)
class YoloParams:
    num_classes: int
    num_box: int
    confidence_threshold: float
    nms_threshold: float
    biases: tuple[float, ...]


def build(value) -> YoloParams:
    if not value.has("num_classes"):
        raise ShapeError("yolo_detection_output_param must give num_classes (the fork: 'Must specify num_classes')")
    num_box = int(value.num_box)
    check(int(value.num_classes) >= 1, "yolo_detection_output_param num_classes must be at least 1")
    check(num_box >= 1, f"yolo_detection_output_param num_box {num_box} must be at least 1")
    biases = tuple(float(b) for b in value.biases)
    check(len(biases) >= 2 * num_box, f"yolo_detection_output_param gives {len(biases)} biases; num_box {num_box} "
                                      f"needs {2 * num_box} (an anchor width and height per box)")
    return YoloParams(int(value.num_classes), num_box, float(value.confidence_threshold),
                      float(value.nms_threshold), biases)


def infer(params: YoloParams, bottoms):
    for shape in bottoms:
        check(len(shape) == 4, f"each bottom must be N x C x H x W, got {list(shape)}")
        _, channels, height, width = shape
        check(height == width, f"a bottom of {height} x {width}: the fork walks side x side cells with side = the "
                               "width, so height must equal width")
        check(channels % params.num_box == 0, f"{channels} channels are not num_box {params.num_box} x the entries "
                                              "of a box")
        entries = channels // params.num_box
        check(entries >= 5 + params.num_classes, f"{channels} channels give {entries} entries per box; num_classes "
                                                 f"{params.num_classes} needs 4 coordinates, objectness and the "
                                                 f"classes: {5 + params.num_classes}")
    return [(1, 1, 1, 7)]


def plans(params: YoloParams, shapes) -> tuple:
    """bottom_plan of every bottom: v2 divides by the side (the width) on both axes."""
    anchors = [(params.biases[2 * n], params.biases[2 * n + 1]) for n in range(params.num_box)]
    return tuple(bottom_plan(s[2], s[3], s[1] // params.num_box, anchors, s[3], s[3], s[3], s[3]) for s in shapes)


def softmax_score(logits):
    """class_index_and_score: label and probability of the first largest softmax entry (float32,
    exp rounded once, the sum in class order)."""
    large = logits.max(axis=-1, keepdims=True)
    e = np.exp(np.asarray(logits - large, np.float64)).astype(np.float32)
    total = np.zeros(e.shape[:-1], np.float32)
    for k in range(e.shape[-1]):
        total = (total + e[..., k]).astype(np.float32)
    probability = (e / total[..., None]).astype(np.float32)
    return probability.argmax(axis=-1), probability.max(axis=-1)


def candidates(params: YoloParams, x, plan):
    """One bottom's candidates in the fork's order: boxes (M, 4), confidence, label, valid."""
    t, boxes = decode_bottom(x, plan)
    label, score = softmax_score(t[..., 5:5 + params.num_classes])
    confidence = (sigmoid(t[..., 4]) * score).astype(np.float32)
    return (boxes.reshape(-1, 4), confidence.reshape(-1), label.reshape(-1),
            confidence.reshape(-1) >= np.float32(params.confidence_threshold))


def reference(node, inputs):
    inputs = [np.asarray(x, np.float32) for x in inputs]
    parts = [candidates(node.params, x, plan) for x, plan in zip(inputs, plans(node.params, [x.shape for x in inputs]))]
    boxes, confidence, label, valid = (np.concatenate(p) for p in zip(*parts))
    return [detection_rows(boxes, confidence, label, valid, node.params.nms_threshold, inputs[0].shape[0])]


def runtime_args(params: YoloParams, shapes) -> tuple:
    """The runtime classes' arguments: version, classes, thresholds, bottom plans."""
    return 2, params.num_classes, params.confidence_threshold, params.nms_threshold, plans(params, shapes)


DEFINITION = LayerDef(fork_params("yolo_detection_output_param", build), infer, bottoms=(1, 2), data_dependent=(2,),
                      score_column=2)

register_layer("YoloDetectionOutput", DEFINITION, reference, **yolo_emit.emitters(runtime_args))

"""What YoloDetectionOutput and Yolov3DetectionOutput share, as eric612/MobileNet-YOLO
(commit 69b4441cb3ec8d553fbdef788ad033e246f901bd) writes it in both layers' Forward_cpu
(src/caffe/layers/yolo_detection_output_layer.cpp, yolov3_detection_output_layer.cpp,
src/caffe/util/bbox_util.cpp get_region_box):

- a box is decoded as get_region_box does: x = (col + σ(tx)) / side_w, y = (row + σ(ty)) / side_h,
  w = exp(tw) · anchor_w / net_w, h = exp(th) · anchor_h / net_h (float32, in that order);
- every candidate of every bottom and every image goes into ONE list (the fork never separates
  the images of a batch: every row's image id is 0), in the fork's push order;
- std::sort by confidence descending: not stable, so equal confidences come out in an order the
  fork leaves unspecified; caffe2x keeps them in push order (a stable sort) everywhere;
- ApplyNms: greedy and class-agnostic; a box is dropped when an earlier kept one overlaps it with
  box_iou >= nms_threshold (center-form boxes, the fork's float arithmetic; a NaN IoU drops nothing);
- rows [0, label + 1, confidence, x - w/2, y - h/2, x + w/2, y + h/2], not clipped; with no row at
  all, one [image, -1, -1, -1, -1, -1, -1] row per image of the first bottom.

Every target runs the same formulation: candidates with a validity mask (a fixed count, so
shapes stay static up to the batch), a stable descending sort with invalid ones last, and the
greedy NMS as a loop that takes the first remaining candidate (it is kept: nothing kept before
it overlaps it) and drops the remaining ones it overlaps, until none remains: the fork's result,
in as many steps as rows. The rules below are plain functions over an array module `xp`
(numpy, torch, tensorflow, or the ONNX emitters' OnnxOps).
"""

from __future__ import annotations

import numpy as np

ROW = 7  # [image, label, confidence, xmin, ymin, xmax, ymax]


def region_box(xp, col, row, sx, sy, tw, th, anchor_w, anchor_h, side_w, side_h, net_w, net_h):
    """get_region_box: the normalized center and size, each a float32 op in the fork's order.
    sx, sy are σ(tx), σ(ty)."""
    return ((col + sx) / side_w, (row + sy) / side_h,
            xp.exp(tw) * anchor_w / net_w, xp.exp(th) * anchor_h / net_h)


def corners(x, y, w, h):
    """The output row's left, top, right, bottom: x - w / 2. (exact halving; one rounding)."""
    return x - w / 2, y - h / 2, x + w / 2, y + h / 2


def _overlap(xp, x1, w1, x2, w2):
    """overlap(): the 1-D intersection length, negative when apart."""
    l1, l2 = x1 - w1 / 2, x2 - w2 / 2
    left = xp.where(l1 > l2, l1, l2)
    r1, r2 = x1 + w1 / 2, x2 + w2 / 2
    right = xp.where(r1 < r2, r1, r2)
    return right - left


def box_iou(xp, a, b):
    """box_iou(a, b) of center-form boxes given as (x, y, w, h) arrays (broadcasting):
    intersection 0 when apart (w < 0 or h < 0), union w1·h1 + w2·h2 - intersection."""
    w = _overlap(xp, a[0], a[2], b[0], b[2])
    h = _overlap(xp, a[1], a[3], b[1], b[3])
    inter = xp.where((w < 0) | (h < 0), 0.0 * w, w * h)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union


# ---------------------------------------------------------------------------------------------
# NumPy (the reference kernels): float32 as the fork, σ and exp computed in double and rounded
# once, as the fork's `1. / (1. + exp(-x))` and its exp of a float.
# ---------------------------------------------------------------------------------------------

class Float32:
    """numpy for the rules, exp correctly rounded to float32."""

    where = staticmethod(np.where)

    @staticmethod
    def exp(x):
        return np.exp(np.asarray(x, np.float64)).astype(np.float32)


def sigmoid(x):
    """The fork's sigmoid(): 1. / (1. + exp(-x)) in double, stored as float."""
    return (1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))).astype(np.float32)


def grid(height: int, width: int, boxes: int):
    """col and row of every (h, w, box) cell as float32 (H, W, boxes) arrays."""
    col = np.broadcast_to(np.arange(width, dtype=np.float32)[None, :, None], (height, width, boxes))
    row = np.broadcast_to(np.arange(height, dtype=np.float32)[:, None, None], (height, width, boxes))
    return col, row


def greedy_nms(boxes, threshold) -> np.ndarray:
    """ApplyNms over sorted center-form boxes (P, 4), all valid: the kept mask."""
    remaining = np.ones(len(boxes), bool)
    kept = np.zeros(len(boxes), bool)
    columns = tuple(boxes[:, k] for k in range(4))
    threshold = np.float32(threshold)
    while remaining.any():
        first = int(np.argmax(remaining))
        kept[first] = True
        iou = box_iou(Float32, tuple(c[first] for c in columns), columns)
        remaining &= ~(iou >= threshold)
        remaining[first] = False
    return kept


def detection_rows(boxes, confidence, label, valid, nms_threshold, num_images) -> np.ndarray:
    """The fork's sort, NMS and rows from the candidates in push order: 1 x 1 x R x 7 float32."""
    chosen = np.flatnonzero(valid)
    order = chosen[np.argsort(-confidence[chosen], kind="stable")]
    boxes, confidence, label = boxes[order], confidence[order], label[order]
    kept = greedy_nms(boxes, nms_threshold)
    if not kept.any():
        rows = np.full((num_images, ROW), -1.0, np.float32)
        rows[:, 0] = np.arange(num_images)
        return rows.reshape(1, 1, num_images, ROW)
    b = boxes[kept]
    left, top, right, bottom = corners(b[:, 0], b[:, 1], b[:, 2], b[:, 3])
    rows = np.stack([np.zeros_like(left), label[kept].astype(np.float32) + 1, confidence[kept],
                     left, top, right, bottom], axis=1).astype(np.float32)
    return rows.reshape(1, 1, -1, ROW)


def bottom_plan(height, width, entries, anchors, side_w, side_h, net_w, net_h) -> tuple:
    """What a runtime needs of one bottom, as plain numbers: (H, W, entries per box (the
    channels of a box), anchor widths, anchor heights, side_w, side_h, net_w, net_h)."""
    return (int(height), int(width), int(entries), tuple(float(a[0]) for a in anchors),
            tuple(float(a[1]) for a in anchors), int(side_w), int(side_h), int(net_w), int(net_h))


def decode_bottom(x, plan):
    """One bottom (N, C, H, W) as the fork walks it: (N, H, W, box, entries) float32, and the
    box (x, y, w, h) of every (N, H, W, box) cell (NumPy, the fork's precision)."""
    height, wide, entries, anchors_w, anchors_h, side_w, side_h, net_w, net_h = plan
    n, num_box = x.shape[0], len(anchors_w)
    t = x[:, :num_box * entries].reshape(n, num_box, entries, height, wide).transpose(0, 3, 4, 1, 2)
    col, row = grid(height, wide, num_box)
    box = region_box(Float32, col, row, sigmoid(t[..., 0]), sigmoid(t[..., 1]), t[..., 2], t[..., 3],
                     np.asarray(anchors_w, np.float32), np.asarray(anchors_h, np.float32),
                     side_w, side_h, net_w, net_h)
    return t, np.stack([np.asarray(v, np.float32) for v in box], axis=-1)

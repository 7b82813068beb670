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

Every target runs the same formulation: candidates with a validity mask, the valid ones kept
(in push order), a stable descending sort of those, and the greedy NMS as a loop that takes the
first remaining candidate (it is kept: nothing kept before it overlaps it) and drops the
remaining ones it overlaps, until none remains: the fork's result, in as many steps as rows.
Each step carries only the candidates still remaining, compacted, so its cost falls as rows are
found (a YOLOv3 net has tens of thousands of candidates at a low threshold; a step over all of
them, every time, made the NMS cost rows x candidates); what box_iou reads of a box (its sides
and area) is computed once per candidate (nms_terms), the same floats the fork computes each
time. torch.export cannot trace a loop whose state changes size, so an exported PyTorch program
carries a fixed-size mask instead (yolo_torch.py). The rules below are plain functions over an
array module `xp` (numpy, torch, tensorflow, or the ONNX emitters' OnnxOps).
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


def nms_terms(xp, x, y, w, h):
    """What box_iou reads of a center-form box: its left, right, top and bottom as the fork's
    overlap() computes them (x - w / 2, ...), and its area w · h."""
    return x - w / 2, x + w / 2, y - h / 2, y + h / 2, w * h


def box_iou(xp, a, b):
    """The fork's box_iou(a, b) from each box's nms_terms (broadcasting): the overlap() lengths
    (negative when apart: intersection 0), union area_a + area_b - intersection."""
    a_left, a_right, a_top, a_bottom, a_area = a
    b_left, b_right, b_top, b_bottom, b_area = b
    w = xp.where(a_right < b_right, a_right, b_right) - xp.where(a_left > b_left, a_left, b_left)
    h = xp.where(a_bottom < b_bottom, a_bottom, b_bottom) - xp.where(a_top > b_top, a_top, b_top)
    inter = xp.where((w < 0) | (h < 0), 0.0 * w, w * h)
    union = a_area + b_area - inter
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
    """ApplyNms over sorted center-form boxes (P, 4), all valid: the kept positions, in order.
    The remaining candidates are carried compacted: the first is kept, then only those it
    leaves (IoU < threshold, or NaN) remain."""
    terms = nms_terms(Float32, *(boxes[:, k] for k in range(4)))
    positions = np.arange(len(boxes))
    threshold = np.float32(threshold)
    kept = []
    while len(positions):
        kept.append(positions[0])
        stays = ~(box_iou(Float32, tuple(t[:1] for t in terms), terms) >= threshold)
        stays[0] = False
        terms, positions = tuple(t[stays] for t in terms), positions[stays]
    return np.asarray(kept, np.int64)


def detection_rows(boxes, confidence, label, valid, nms_threshold, num_images) -> np.ndarray:
    """The fork's sort, NMS and rows from the candidates in push order: 1 x 1 x R x 7 float32."""
    chosen = np.flatnonzero(valid)
    order = chosen[np.argsort(-confidence[chosen], kind="stable")]
    boxes, confidence, label = boxes[order], confidence[order], label[order]
    kept = greedy_nms(boxes, nms_threshold)
    if not len(kept):
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

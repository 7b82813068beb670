"""eric612/MobileNet-YOLO's YOLO layers (commit 69b4441cb3ec8d553fbdef788ad033e246f901bd) written
out from the fork's C++ loops, line by line, in float32 scalars: what tests/test_yolo_*.py check
caffe2x's reference kernels (and through them every target) against. Slow; small inputs only."""

from __future__ import annotations

import math

import numpy as np

F = np.float32


def reorg_forward(x: np.ndarray, stride: int, reverse: bool) -> np.ndarray:
    """reorg_layer.hpp, the reorg_cpu overload Forward_cpu reaches (forward = reverse_)."""
    b_n, b_c, b_h, b_w = x.shape
    t_c, t_w, t_h = b_c // (stride * stride), b_w * stride, b_h * stride
    top_shape = (b_n, t_c, t_h, t_w) if reverse else (b_n, b_c * stride * stride, b_h // stride, b_w // stride)
    bottom, top = x.reshape(-1), np.full(int(np.prod(top_shape)), np.nan, np.float32)
    for n in range(b_n):
        for c in range(b_c):
            for h in range(b_h):
                for w in range(b_w):
                    bottom_index = w + b_w * (h + b_h * (c + b_c * n))
                    c2, offset = c % t_c, c // t_c
                    w2, h2 = w * stride + offset % stride, h * stride + offset // stride
                    top_index = w2 + t_w * (h2 + t_h * (c2 + t_c * n))
                    if reverse:
                        top[top_index] = bottom[bottom_index]
                    else:
                        top[bottom_index] = bottom[top_index]
    return top.reshape(top_shape)


def sigmoid(x) -> np.float32:
    return F(1.0 / (1.0 + math.exp(-float(x))))


def exp(x) -> np.float32:
    return F(math.exp(float(x)))


def box_iou(a, b) -> np.float32:
    def overlap(x1, w1, x2, w2):
        l1, l2 = F(x1 - w1 / F(2)), F(x2 - w2 / F(2))
        left = l1 if l1 > l2 else l2
        r1, r2 = F(x1 + w1 / F(2)), F(x2 + w2 / F(2))
        right = r1 if r1 < r2 else r2
        return F(right - left)

    w, h = overlap(a[0], a[2], b[0], b[2]), overlap(a[1], a[3], b[1], b[3])
    inter = F(0) if (w < 0 or h < 0) else F(w * h)
    union = F(F(a[2] * a[3]) + F(b[2] * b[3]) - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        return F(inter / union)


def apply_nms_and_rows(predicts, nms_threshold, num) -> np.ndarray:
    """std::sort by confidence (Python's sort is stable: ties stay in push order, which the fork
    leaves unspecified), ApplyNms's double loop, the rows."""
    predicts = sorted(predicts, key=lambda p: -p[5])
    dropped = set()
    for i in range(len(predicts) - 1):
        if i in dropped:
            continue
        for j in range(i + 1, len(predicts)):
            if j not in dropped and box_iou(predicts[i][:4], predicts[j][:4]) >= F(nms_threshold):
                dropped.add(j)
    kept = [p for i, p in enumerate(predicts) if i not in dropped]
    if not kept:
        return np.asarray([[i] + [-1] * 6 for i in range(num)], np.float32).reshape(1, 1, num, 7)
    rows = [[0, p[4] + 1, p[5], F(p[0] - p[2] / F(2)), F(p[1] - p[3] / F(2)), F(p[0] + p[2] / F(2)),
             F(p[1] + p[3] / F(2))] for p in kept]
    return np.asarray(rows, np.float32).reshape(1, 1, -1, 7)


def class_index_and_score(values):
    values = [F(v) for v in values]
    large = values[0]
    for v in values:
        if v > large:
            large = v
    total = F(0)
    for k, v in enumerate(values):
        e = exp(F(v - large))
        total = F(total + e)
        values[k] = e
    values = [F(v / total) for v in values]
    large, index = values[0], 0
    for k, v in enumerate(values):
        if v > large:
            large, index = v, k
    return index, large


def yolo_v2(bottoms, num_classes, num_box, confidence_threshold, nms_threshold, biases) -> np.ndarray:
    """yolo_detection_output_layer.cpp Forward_cpu."""
    predicts = []
    for x in bottoms:
        num, channels, height, width = x.shape
        side = width
        swap = x.transpose(0, 2, 3, 1).reshape(num, height * width, num_box, channels // num_box)
        for b in range(num):
            for j in range(side):
                for i in range(side):
                    for n in range(num_box):
                        e = swap[b, j * side + i, n]
                        px = F(F(F(i) + sigmoid(e[0])) / F(side))
                        py = F(F(F(j) + sigmoid(e[1])) / F(side))
                        pw = F(F(exp(e[2]) * F(biases[2 * n])) / F(side))
                        ph = F(F(exp(e[3]) * F(biases[2 * n + 1])) / F(side))
                        label, score = class_index_and_score(e[5:5 + num_classes])
                        confidence = F(sigmoid(e[4]) * score)
                        if confidence >= F(confidence_threshold):
                            predicts.append((px, py, pw, ph, label, confidence))
    return apply_nms_and_rows(predicts, nms_threshold, bottoms[0].shape[0])


def correct_yolo_boxes(x, y, w, h, side_w, side_h, netw, neth):
    """correct_yolo_boxes(det, side_w, side_h, nw, nh, relative = 1): C++'s int, float and double steps."""
    if F(netw) / F(side_w) < F(neth) / F(side_h):
        new_w, new_h = netw, (side_h * netw) // side_w
    else:
        new_h, new_w = neth, (side_w * neth) // side_h
    x = F((float(x) - (netw - new_w) / 2.0 / netw) / float(F(new_w) / F(netw)))
    y = F((float(y) - (neth - new_h) / 2.0 / neth) / float(F(new_h) / F(neth)))
    return x, y, F(w * F(F(netw) / F(new_w))), F(h * F(F(neth) / F(new_h)))


def yolo_v3(bottoms, num_classes, num_box, confidence_threshold, nms_threshold, biases, anchors_scale, mask,
            mask_group_num) -> np.ndarray:
    """yolov3_detection_output_layer.cpp Forward_cpu (CPU path, gaussian_box false)."""
    length, groups = 5 + num_classes, len(mask) // mask_group_num
    predicts, mask_offset = [], 0
    for t, x in enumerate(bottoms):
        num, _, side_h, side_w = x.shape
        stride = side_w * side_h
        nw, nh = side_w * anchors_scale[t], side_h * anchors_scale[t]
        flat = x.reshape(num, -1)
        for b in range(num):
            for s in range(stride):
                for n in range(num_box):
                    entry = [flat[b, n * length * stride + c * stride + s] for c in range(length)]
                    swap = [entry[c] if c in (2, 3) else sigmoid(entry[c]) for c in range(5)]
                    class_score = [sigmoid(v) for v in entry[5:]]
                    y2, x2 = s // side_w, s % side_w
                    m = mask[n + mask_offset]
                    for c in range(num_classes):
                        class_score[c] = F(class_score[c] * swap[4])
                        if class_score[c] > F(confidence_threshold):
                            px = F(F(F(x2) + swap[0]) / F(side_w))
                            py = F(F(F(y2) + swap[1]) / F(side_h))
                            pw = F(F(exp(swap[2]) * F(biases[2 * m])) / F(nw))
                            ph = F(F(exp(swap[3]) * F(biases[2 * m + 1])) / F(nh))
                            box = correct_yolo_boxes(px, py, pw, ph, side_w, side_h, nw, nh)
                            predicts.append((*box, c, class_score[c]))
        mask_offset += groups
    return apply_nms_and_rows(predicts, nms_threshold, bottoms[0].shape[0])


def region_forward(x: np.ndarray, classes: int, coords: int, boxes: int, softmax: bool) -> np.ndarray:
    """lwplw/caffe_yolov2@f1796740 region_layer.cpp Forward_cpu (softmax_ read from the block, as the
    issue-18 tree's patched build), with math_functions.cpp's flatten, logistic_activate and softmax."""
    batch, channels, height, width = x.shape
    area, size = height * width, coords + classes + 1
    channel = boxes * size
    out, top = x.reshape(-1).copy(), x.reshape(-1).copy()
    for b in range(batch):  # flatten(top, area, channel, batch, forward = true)
        for c in range(channel):
            for i in range(area):
                top[b * channel * area + i * channel + c] = out[b * channel * area + c * area + i]
    for b in range(batch):
        for i in range(area * boxes):
            index = size * i + b * area * channels
            top[index + 4] = F(1.0 / (1 + math.exp(-float(top[index + 4]))))
    if softmax:
        for b in range(batch):
            for i in range(area * boxes):
                index = size * i + b * area * channels + 5
                values = top[index:index + classes].copy()
                largest = F(-3.4028234663852886e38)
                for v in values:
                    if v > largest:
                        largest = v
                total = F(0)
                for k in range(classes):
                    e = exp(F(values[k] - largest))
                    total = F(total + e)
                    top[index + k] = e
                for k in range(classes):
                    top[index + k] = F(top[index + k] / total)
    return top.reshape(x.shape)

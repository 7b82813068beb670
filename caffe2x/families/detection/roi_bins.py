"""The ROI rules of the two-stage detectors' pooling layers: where each output bin of an ROI
lies on the feature map, exactly as the forks compute it, in float32.

The rules are plain functions over an array module `xp` (numpy, torch, tensorflow, or the
ONNX builder's ops in roi_onnx.py): they call only arithmetic, comparisons, xp.floor, xp.ceil,
xp.abs, xp.maximum, xp.minimum, xp.where and xp.full_like, which all of them have under these names. The
callers pass each ROI coordinate as an (R, 1) column and the bin indices as float32 rows (1, P)
of their own array type, so every result broadcasts to (R, P) without indexing tricks; a scalar is
only ever the second operand of xp.maximum / xp.minimum. Integers are float32 values
(exact: a feature map side is far below 2^24). Scalars are Python floats holding float32 values
(spatial_scale comes from a float field), so every module computes in float32; the rules use no
NumPy of their own, as generated model.py files copy them.

Both layers take the ROIs as an (R, 5) blob, rows [batch index, x1, y1, x2, y2] in image
coordinates; `static_cast<int>` of the batch index truncates toward zero.
"""

from __future__ import annotations

import numpy as np

FLT_MAX = 3.4028234663852886e38  # float32's largest: Caffe's max starts from -FLT_MAX
# psroi_pooling_layer.cu: max(roi side, 0.1), "avoid 0". Compared with a float32 side, 0.1 acts as
# 0.1f under every array module (no float32 lies between the double 0.1 and 0.1f).
PSROI_MIN_SIDE = 0.1


def caffe_round(xp, v):
    """C's round() of a float32: half away from zero (ONNX Round, numpy.round and tf.round round
    half to even). floor(|v|) and |v| - floor(|v|) are exact in float32, so the .5 test is exact
    (floor(|v| + 0.5) is not: 0.49999997 + 0.5 rounds to 1 in float32)."""
    magnitude = xp.abs(v)
    whole = xp.floor(magnitude)
    rounded = xp.where(magnitude - whole < 0.5, whole, whole + 1.0)
    return xp.where(v < 0, 0.0 - rounded, rounded)


def roi_pooling_bins(xp, x1, y1, x2, y2, index_h, index_w, spatial_scale, pooled_h, pooled_w, height, width):
    """roi_pooling_layer.cpp (caffe-fast-rcnn 0dcd397b) Forward_cpu, the bin bounds of every ROI:
    (hstart, hend) as (R, pooled_h) and (wstart, wend) as (R, pooled_w), [start, end) clipped to
    the map. x1..y2: (R, 1) float32 image coordinates; index_h, index_w: float32 (1, P) rows 0..P-1.

        roi_start = round(x * spatial_scale)                 (float32 product, C round)
        roi_side  = max(roi_end - roi_start + 1, 1)          ("force malformed ROIs to be 1x1")
        bin_size  = float(roi_side) / float(pooled)          (float32 division)
        start     = floor(p * bin_size) + roi_start, end = ceil((p + 1) * bin_size) + roi_start,
                    each clipped to [0, side]
    """
    scale = float(spatial_scale)
    start_w, start_h = caffe_round(xp, x1 * scale), caffe_round(xp, y1 * scale)
    end_w, end_h = caffe_round(xp, x2 * scale), caffe_round(xp, y2 * scale)
    bin_h = _divide(xp, xp.maximum(end_h - start_h + 1.0, 1.0), pooled_h)
    bin_w = _divide(xp, xp.maximum(end_w - start_w + 1.0, 1.0), pooled_w)
    hstart = _clip(xp, xp.floor(index_h * bin_h) + start_h, height)
    hend = _clip(xp, xp.ceil((index_h + 1.0) * bin_h) + start_h, height)
    wstart = _clip(xp, xp.floor(index_w * bin_w) + start_w, width)
    wend = _clip(xp, xp.ceil((index_w + 1.0) * bin_w) + start_w, width)
    return hstart, hend, wstart, wend


def psroi_pooling_bins(xp, x1, y1, x2, y2, index, spatial_scale, group_size, height, width):
    """psroi_pooling_layer.cu (caffe-rfcn 543f8f6a) PSROIPoolingForward, the bin bounds of every
    ROI: (hstart, hend, wstart, wend), each (R, group_size). Unlike ROIPooling, the coordinates
    are rounded BEFORE scaling, the end gets + 1 before scaling, the ROI side is a float kept
    >= 0.1, and the bin offsets are added before floor/ceil:

        roi_start = float(round(x1)) * spatial_scale,  roi_end = float(round(x2) + 1) * spatial_scale
        roi_side  = max(roi_end - roi_start, 0.1),      bin_size = roi_side / float(group_size)
        start     = floor(p * bin_size + roi_start),    end = ceil((p + 1) * bin_size + roi_start),
                    each clipped to [0, side]

    Every product and sum is its own float32 operation, as the C++ text reads (nvcc may fuse
    `p * bin_size + roi_start` into one FMA on a GPU; the CPU build that made the golden case
    does not)."""
    scale = float(spatial_scale)
    start_w, start_h = caffe_round(xp, x1) * scale, caffe_round(xp, y1) * scale
    end_w, end_h = (caffe_round(xp, x2) + 1.0) * scale, (caffe_round(xp, y2) + 1.0) * scale
    bin_h = _divide(xp, xp.maximum(end_h - start_h, PSROI_MIN_SIDE), group_size)
    bin_w = _divide(xp, xp.maximum(end_w - start_w, PSROI_MIN_SIDE), group_size)
    hstart = _clip(xp, xp.floor(index * bin_h + start_h), height)
    hend = _clip(xp, xp.ceil((index + 1.0) * bin_h + start_h), height)
    wstart = _clip(xp, xp.floor(index * bin_w + start_w), width)
    wend = _clip(xp, xp.ceil((index + 1.0) * bin_w + start_w), width)
    return hstart, hend, wstart, wend


def _divide(xp, side, count: int):
    """side / count, a true float32 division. The divisor is a tensor like `side`, not a
    constant: TensorFlow's graph optimizer replaces a division by a constant with a product by
    its rounded reciprocal (7 * (1/3) is 2.3333335, 7 / 3 is 2.3333333), which moved a bin
    bound by one cell in a SavedModel (tests/test_detection_roi_pooling.py)."""
    return side / xp.full_like(side, float(count))


def _clip(xp, v, side):
    """min(max(v, 0), side): a bin bound clipped to the map."""
    return xp.minimum(xp.maximum(v, 0.0), float(side))


def bin_index(size: int) -> np.ndarray:
    """The float32 row (1, size) of bin indices 0..size-1 the rules take."""
    return np.arange(size, dtype=np.float32).reshape(1, size)


def roi_columns(rois: np.ndarray):
    """The (R, 1) float32 columns x1, y1, x2, y2 of an (R, 5) ROI blob (NumPy)."""
    rois = np.asarray(rois, np.float32)
    return tuple(rois[:, k:k + 1] for k in range(1, 5))


def batch_indices(rois: np.ndarray) -> np.ndarray:
    """`int roi_batch_ind = bottom_rois[0]`: truncation toward zero."""
    return np.trunc(np.asarray(rois, np.float32)[:, 0]).astype(np.int64)

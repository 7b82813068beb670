"""ROIPooling (Fast/Faster R-CNN): max pooling of each ROI's region of a feature map into a fixed grid.

    layer { type: "ROIPooling" bottom: "conv5" bottom: "rois" top: "pool5"
            roi_pooling_param { pooled_w: 6 pooled_h: 6 spatial_scale: 0.0625 } }

Exactly as rbgirshick/caffe-fast-rcnn 0dcd397b29507b8314e252e850518c5695efbb83 (the commit
py-faster-rcnn pins) computes it, src/caffe/layers/roi_pooling_layer.cpp Forward_cpu (the .cu
kernel is the same arithmetic):
- bottom 0 the (N, C, H, W) feature map, bottom 1 the (R, 5) ROIs [batch, x1, y1, x2, y2] in
  image coordinates; the top is (R, C, pooled_h, pooled_w). pooled_h and pooled_w must be > 0
  (the fork CHECKs it; their default is 0), spatial_scale defaults to 1;
- the bins (roi_bins.roi_pooling_bins): coordinates scaled in float32 and rounded half away
  from zero, the ROI side forced >= 1, bin bounds floor/ceil of float32 products, clipped to the map;
- each bin is the max over its cells, starting from -FLT_MAX (so NaN cells are skipped), and an
  empty bin (clipped away) is 0; the batch index is truncated and must lie in [0, N) (CHECK).

R is the ROI bottom's: a converted model takes any number of ROIs (the rois input's first dim
is dynamic on every target, or follows a Proposal's data-dependent row count), and verify
compares the R x C x pooled_h x pooled_w top at whatever R the data gives.
caffe2x refuses, beyond the fork: a feature map smaller than the pooled grid (every bin would
repeat cells: almost surely the wrong spatial_scale or bottom), and, where the ROIs are data a
user gives (run/verify inputs), the boxes roi_inputs.py describes.

Every target runs one vectorized formulation (each bin's rows masked and maxed, then its
columns: roi_pooling_torch.py, roi_pooling_keras.py, roi_onnx.py); the reference below follows
the fork's loops over ROIs and bins literally.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...extend import check, count, float_literal, fork_params
from .roi_bins import FLT_MAX, batch_indices, bin_index, roi_columns, roi_pooling_bins
from .roi_inputs import ROI_COLUMNS
from .roi_layer import register_roi_layer


@dataclass(frozen=True)
class ROIPoolingParams:
    pooled_h: int
    pooled_w: int
    spatial_scale: float


def build(value) -> ROIPoolingParams:
    # roi_pooling_layer.cpp, LayerSetUp: CHECK_GT(pooled_h, 0), CHECK_GT(pooled_w, 0).
    check(value.pooled_h > 0, f"roi_pooling_param pooled_h must be > 0 (got {value.pooled_h})")
    check(value.pooled_w > 0, f"roi_pooling_param pooled_w must be > 0 (got {value.pooled_w})")
    return ROIPoolingParams(int(value.pooled_h), int(value.pooled_w), float(value.spatial_scale))


def check_roi_blob(rois) -> None:
    """The ROI bottom: R rows of 5 values (the forks step through it by offset(1) = 5)."""
    check(len(rois) >= 1 and count(rois[1:]) == ROI_COLUMNS,
          f"the ROI bottom must be R x 5 rows [batch, x1, y1, x2, y2], got {list(rois)}")


def check_feature_map(features, pooled_h: int, pooled_w: int, what: str) -> None:
    check(len(features) == 4, f"the feature map must be N x C x H x W, got {list(features)}")
    height, width = features[2], features[3]
    check(height >= pooled_h and width >= pooled_w,
          f"the feature map is {height} x {width} (H x W), smaller than the {pooled_h} x {pooled_w} {what}: "
          "each bin would repeat cells (a wrong spatial_scale or bottom?)")


def infer(params: ROIPoolingParams, bottoms):
    features, rois = bottoms
    check_feature_map(features, params.pooled_h, params.pooled_w, "pooled grid (pooled_h x pooled_w)")
    check_roi_blob(rois)
    return [(rois[0], features[1], params.pooled_h, params.pooled_w)]


def bins(params: ROIPoolingParams, rois, height: int, width: int):
    """The fork's bin bounds of every ROI, as NumPy int arrays (R, P)."""
    bounds = roi_pooling_bins(np, *roi_columns(rois), bin_index(params.pooled_h), bin_index(params.pooled_w),
                              params.spatial_scale, params.pooled_h, params.pooled_w, height, width)
    return [b.astype(np.int64) for b in bounds]


def reference(node, inputs):
    p: ROIPoolingParams = node.params
    features = np.asarray(inputs[0], np.float32)
    rois = np.asarray(inputs[1], np.float32).reshape(-1, ROI_COLUMNS)
    batch, channels, height, width = features.shape
    images = batch_indices(rois)
    check_batch_indices(images, batch)
    hstart, hend, wstart, wend = bins(p, rois, height, width)
    top = np.zeros((len(rois), channels, p.pooled_h, p.pooled_w), np.float32)
    for r, image in enumerate(images):
        for ph in range(p.pooled_h):
            for pw in range(p.pooled_w):
                region = features[image, :, hstart[r, ph]:hend[r, ph], wstart[r, pw]:wend[r, pw]]
                if region.size:  # else an empty bin: 0
                    # From -FLT_MAX, a cell replaces the max when greater: NaN cells never do.
                    top[r, :, ph, pw] = np.fmax(np.fmax.reduce(region.reshape(channels, -1), axis=1), -FLT_MAX)
    return [top]


def check_batch_indices(images, batch: int) -> None:
    """roi_pooling_layer.cpp: CHECK_GE(roi_batch_ind, 0), CHECK_LT(roi_batch_ind, batch_size)."""
    bad = np.flatnonzero((images < 0) | (images >= batch))
    if bad.size:
        check(False, f"ROI {bad[0]} names image {images[bad[0]]}, but the feature map has {batch} image(s) "
                     "(the fork CHECK-fails: the batch index must lie in [0, N))")


def arguments(p: ROIPoolingParams) -> str:
    """The runtime classes' arguments (roi_pooling_torch.py, roi_pooling_keras.py; roi_onnx.py reads the params)."""
    return f"{p.pooled_h}, {p.pooled_w}, {float_literal(p.spatial_scale)}"


register_roi_layer("ROIPooling", fork_params("roi_pooling_param", build), infer, reference, arguments,
                   name="roi_pooling")

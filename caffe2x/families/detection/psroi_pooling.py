"""PSROIPooling (R-FCN): position-sensitive ROI pooling, the average of each bin's cells in the
bin's own group of score maps.

    layer { type: "PSROIPooling" bottom: "rfcn_cls" bottom: "rois" top: "psroipooled_cls_rois"
            psroi_pooling_param { spatial_scale: 0.0625 output_dim: 21 group_size: 7 } }

Exactly as daijifeng001/caffe-rfcn 543f8f6a4b7c88256ea1445ae951a12d1ad9cffd computes it. Its
Forward_cpu (src/caffe/layers/psroi_pooling_layer.cpp) is NOT_IMPLEMENTED: the semantics are
derived from the CUDA kernel PSROIPoolingForward in src/caffe/layers/psroi_pooling_layer.cu,
the fork's only implementation:
- bottom 0 the (N, C, H, W) score maps with C = output_dim * group_size² (Reshape CHECKs it),
  bottom 1 the (R, 5) ROIs [batch, x1, y1, x2, y2] in image coordinates; the top is
  (R, output_dim, group_size, group_size). The three fields are `required` in the fork's schema;
  output_dim and group_size must be > 0 (LayerSetUp CHECKs);
- the bins (roi_bins.psroi_pooling_bins): coordinates rounded half away from zero before the
  scale, the end + 1, the side a float >= 0.1, floor/ceil of float32 bin offsets, clipped to the map;
- bin (ph, pw) of output channel ctop averages channel (ctop * group_size + ph) * group_size + pw
  over its cells: a float32 sum, rows outer and columns inner (the reference keeps that order;
  the targets sum by two products with the bin's 0/1 masks, rounding within a few ulps of it, and
  an infinite value outside the bin would make it NaN there), divided by the cell count; an
  empty bin is 0;
- the batch index is truncated; the kernel checks nothing and reads outside the blob for one
  outside [0, N): caffe2x's reference refuses it, as for ROIPooling.

R is the data's, as for ROIPooling (roi_pooling.py); a feature map smaller than group_size x
group_size is refused, and ROIs given as data are checked as roi_inputs.py says.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...extend import check, float_literal, fork_params
from .roi_bins import batch_indices, bin_index, psroi_pooling_bins, roi_columns
from .roi_inputs import ROI_COLUMNS
from .roi_layer import register_roi_layer
from .roi_pooling import check_batch_indices, check_feature_map, check_roi_blob


@dataclass(frozen=True)
class PSROIPoolingParams:
    spatial_scale: float
    output_dim: int
    group_size: int


def build(value) -> PSROIPoolingParams:
    # psroi_pooling_layer.cpp, LayerSetUp: CHECK_GT(output_dim, 0), CHECK_GT(group_size, 0).
    check(value.output_dim > 0, f"psroi_pooling_param output_dim must be > 0 (got {value.output_dim})")
    check(value.group_size > 0, f"psroi_pooling_param group_size must be > 0 (got {value.group_size})")
    return PSROIPoolingParams(float(value.spatial_scale), int(value.output_dim), int(value.group_size))


def infer(params: PSROIPoolingParams, bottoms):
    features, rois = bottoms
    size = params.group_size
    check_feature_map(features, size, size, "pooled grid (group_size x group_size)")
    channels = params.output_dim * size * size
    check(features[1] == channels, f"the score maps have {features[1]} channels; output_dim x group_size² = "
                                   f"{params.output_dim} x {size}² = {channels} (the fork CHECKs it)")
    check_roi_blob(rois)
    return [(rois[0], params.output_dim, size, size)]


def bins(params: PSROIPoolingParams, rois, height: int, width: int):
    """The fork's bin bounds of every ROI, as NumPy int arrays (R, group_size)."""
    index = bin_index(params.group_size)
    bounds = psroi_pooling_bins(np, *roi_columns(rois), index, params.spatial_scale, params.group_size,
                                height, width)
    return [b.astype(np.int64) for b in bounds]


def reference(node, inputs):
    p: PSROIPoolingParams = node.params
    features = np.asarray(inputs[0], np.float32)
    rois = np.asarray(inputs[1], np.float32).reshape(-1, ROI_COLUMNS)
    batch, _, height, width = features.shape
    images = batch_indices(rois)
    check_batch_indices(images, batch)
    hstart, hend, wstart, wend = bins(p, rois, height, width)
    size = p.group_size
    top = np.zeros((len(rois), p.output_dim, size, size), np.float32)
    for r, image in enumerate(images):
        for ph in range(size):
            for pw in range(size):
                channels = np.arange(p.output_dim) * size * size + ph * size + pw
                cells = features[image, channels, hstart[r, ph]:hend[r, ph], wstart[r, pw]:wend[r, pw]]
                area = cells.shape[1] * cells.shape[2]
                if area:  # else an empty bin: 0
                    # The kernel's float32 sum, h outer and w inner: cumsum adds in that order.
                    total = np.cumsum(cells.reshape(p.output_dim, area), axis=1, dtype=np.float32)[:, -1]
                    top[r, :, ph, pw] = total / np.float32(area)
    return [top]


def arguments(p: PSROIPoolingParams) -> str:
    """The runtime classes' arguments (psroi_pooling_torch.py, psroi_pooling_keras.py; roi_onnx.py reads the params)."""
    return f"{float_literal(p.spatial_scale)}, {p.output_dim}, {p.group_size}"


register_roi_layer("PSROIPooling", fork_params("psroi_pooling_param", build), infer, reference, arguments,
                   name="psroi_pooling")

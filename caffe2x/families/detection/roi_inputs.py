"""ROIs given as data (a net input holds the (R, 5) blob, as Fast R-CNN test nets and R-FCN
feed their boxes): what `run` and `verify` refuse before running anything, and what random
inputs draw. Shared by ROIPooling and PSROIPooling (LayerDef.data_bottoms); known_image also
finds the image a Proposal's drawn im_info holds.

The image is the one the net takes: the spatial size (H, W) of the 4-D net input the feature
map is computed from (`data`), where that input scaled by spatial_scale spans at least half the
map (else it is a feature map itself). A row [batch, x1, y1, x2, y2] is refused when
- a value is not finite;
- the batch index, truncated as the forks do, is outside [0, N) (N the feature map's batch:
  ROIPooling CHECK-fails on it, PSROIPooling reads outside the blob);
- x2 < x1 or y2 < y1 (the forks silently pool such a box as a 1-pixel-wide one);
- it lies outside the image: a coordinate below 0, an x above W or a y above H. py-faster-rcnn
  clips boxes to [0, W - 1] before scaling them with the image, and the scaled image's size is
  rounded, so a valid box may pass W - 1 by a fraction of a pixel: W itself is the limit. When the
  net takes feature maps, not the image, the net does not say the image's size (the map's size over
  spatial_scale is not it: ZF's conv5 of a 224 x 320 image is 15 x 21, 240 x 336 at 1/16), so
  this one is not checked; random ROIs are then drawn inside that extent.
The layers themselves (the reference and every target) pool any box as the forks do: these
checks are on data a user gives, where a wrong box is a mistake, not on ROIs a Proposal computes.
"""

from __future__ import annotations

import numpy as np

from ...errors import InputValueError
from ...extend import DataBottomContext

ROI_COLUMNS = 5


def known_image(context: DataBottomContext, spatial_scale: float) -> tuple[int, int] | None:
    """(H, W) of the image the ROIs' coordinates refer to: the 4-D net input the map is computed
    from, when scaled by spatial_scale it spans at least half the map (else that input is itself
    a feature map, as in a test net fed conv5); None where the net does not say it."""
    if context.image is None:
        return None
    _, _, height, width = context.bottom_shapes[0]
    image_h, image_w = context.image
    spans = image_h * spatial_scale >= height / 2 and image_w * spatial_scale >= width / 2
    return (image_h, image_w) if spans else None


def image_extent(context: DataBottomContext, spatial_scale: float) -> tuple[float, float]:
    """(H, W) of the image, or where the net does not say it, the feature map's extent in image
    pixels (where random ROIs are drawn)."""
    image = known_image(context, spatial_scale)
    if image is not None:
        return float(image[0]), float(image[1])
    _, _, height, width = context.bottom_shapes[0]
    return height / spatial_scale, width / spatial_scale


def check_rois(layer_type: str, rois, context: DataBottomContext, spatial_scale: float) -> None:
    """Raise InputValueError for the first bad row of an (R, 5) ROI input."""
    rois = np.asarray(rois, np.float64)
    where = f"layer '{context.layer}' ({layer_type}): the ROI input"
    if rois.ndim != 2 or rois.shape[1] != ROI_COLUMNS:
        raise InputValueError(f"{where} must be R x 5 rows [batch, x1, y1, x2, y2], got shape {list(rois.shape)}")
    batch = context.bottom_shapes[0][0]
    image = known_image(context, spatial_scale)
    for row, (index, x1, y1, x2, y2) in enumerate(rois):
        box = f"row {row} [{index:g}, {x1:g}, {y1:g}, {x2:g}, {y2:g}]"
        if not np.isfinite(rois[row]).all():
            raise InputValueError(f"{where} {box} holds a value that is not finite")
        if not 0 <= np.trunc(index) < batch:
            raise InputValueError(f"{where} {box} names image {int(np.trunc(index))}; the feature map has "
                                  f"{batch} image(s), indices 0 to {batch - 1}")
        if x2 < x1 or y2 < y1:
            raise InputValueError(f"{where} {box} has x2 < x1 or y2 < y1; rows are [batch, x1, y1, x2, y2] "
                                  "with x1 <= x2 and y1 <= y2")
        if image is None:
            continue
        height, width = image
        if min(x1, y1) < 0 or max(x1, x2) > width or max(y1, y2) > height:
            raise InputValueError(f"{where} {box} lies outside the {width:g} x {height:g} (W x H) image: "
                                  f"coordinates must lie in [0, {width:g}] x [0, {height:g}], in the pixels "
                                  "of the image the net takes")


def draw_rois(shape, context: DataBottomContext, spatial_scale: float, rng) -> np.ndarray:
    """Valid random ROIs: batch indices in [0, N), boxes inside the image, x1 <= x2, y1 <= y2."""
    count = int(shape[0])
    height, width = image_extent(context, spatial_scale)
    batch = rng.integers(0, context.bottom_shapes[0][0], count)
    xs = np.sort(rng.uniform(0, max(width - 1, 0), (count, 2)), axis=1)
    ys = np.sort(rng.uniform(0, max(height - 1, 0), (count, 2)), axis=1)
    rois = np.stack([batch, xs[:, 0], ys[:, 0], xs[:, 1], ys[:, 1]], axis=1).astype(np.float32)
    return rois.reshape(shape)

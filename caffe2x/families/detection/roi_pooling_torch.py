"""The nn.Module a generated model.py copies for ROIPooling (imports torch only)."""

import torch
from torch import nn

from .roi_bins import roi_pooling_bins

LOWEST_FLOAT32 = -3.4028234663852886e38  # -FLT_MAX, where the fork's max starts
CHANNEL_CHUNK = 64  # channels pooled at a time (bounds the per-ROI copies of the map)


class TorchOps:
    """The array module the ROI rules take (roi_bins.py), over torch."""

    floor, ceil, abs, where, full_like = torch.floor, torch.ceil, torch.abs, torch.where, torch.full_like
    maximum, minimum = torch.clamp_min, torch.clamp_max


def roi_rows(rois, features):
    """The (R, 1) columns x1, y1, x2, y2 and the truncated batch index of each ROI (kept inside the
    batch: the fork CHECK-fails on another)."""
    columns = [rois[:, k:k + 1] for k in range(1, 5)]
    batch = rois[:, 0].long().clamp(0, features.shape[0] - 1)
    return columns, batch


def bin_masks(start, end, size):
    """(R, P, size) booleans: the cells [start, end) of each bin of each ROI."""
    cells = torch.arange(size, dtype=start.dtype, device=start.device)
    return (cells >= start.unsqueeze(-1)) & (cells < end.unsqueeze(-1))


def bin_row(size, like):
    return torch.arange(size, dtype=like.dtype, device=like.device).reshape(1, size)


class ROIPooling(nn.Module):
    """(N, C, H, W) features and (R, 5) ROIs -> (R, C, pooled_h, pooled_w): the max of each bin,
    0 for an empty one (rbgirshick/caffe-fast-rcnn's ROIPooling)."""

    def __init__(self, pooled_h, pooled_w, spatial_scale):
        super().__init__()
        self.pooled_h, self.pooled_w, self.spatial_scale = pooled_h, pooled_w, spatial_scale

    def forward(self, features, rois):
        height, width = features.shape[2], features.shape[3]
        columns, batch = roi_rows(rois, features)
        hstart, hend, wstart, wend = roi_pooling_bins(
            TorchOps, *columns, bin_row(self.pooled_h, rois), bin_row(self.pooled_w, rois), self.spatial_scale,
            self.pooled_h, self.pooled_w, height, width)
        rows, cols = bin_masks(hstart, hend, height), bin_masks(wstart, wend, width)
        empty = (hend <= hstart)[:, :, None] | (wend <= wstart)[:, None, :]  # (R, PH, PW)
        # Each ROI's copy of the map is made a few channels at a time: all at once it is R x C x H x W
        # (1.5 GB for VGG-16's 300 ROIs on a 600 x 1000 image).
        chunks = [max_of_bins(features[:, c:c + CHANNEL_CHUNK][batch], rows, cols, empty)
                  for c in range(0, features.shape[1], CHANNEL_CHUNK)]
        return torch.cat(chunks, dim=1)


def max_of_bins(regions, rows, cols, empty):
    """(R, C, H, W) regions, bin masks (R, PH, H) and (R, PW, W), empty (R, PH, PW) -> (R, C, PH, PW):
    each bin's rows maxed, then its columns; from -FLT_MAX as the fork; 0 where empty."""
    pooled = []
    for ph in range(rows.shape[1]):
        row_max = torch.where(rows[:, ph, None, :, None], regions, LOWEST_FLOAT32).amax(dim=2)  # (R, C, W)
        bin_max = torch.where(cols[:, None], row_max[:, :, None], LOWEST_FLOAT32).amax(dim=3)  # (R, C, PW)
        pooled.append(torch.where(empty[:, ph, None], 0.0, bin_max))
    return torch.stack(pooled, dim=2)

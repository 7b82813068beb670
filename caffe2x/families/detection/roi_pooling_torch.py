"""The nn.Module a generated model.py copies for ROIPooling (imports torch only)."""

import torch
from torch import nn

from .roi_bins import roi_pooling_bins

LOWEST_FLOAT32 = -3.4028234663852886e38  # -FLT_MAX, where the fork's max starts


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
        regions = features[batch]  # (R, C, H, W)
        rows, cols = bin_masks(hstart, hend, height), bin_masks(wstart, wend, width)
        empty_w = wend <= wstart  # (R, PW)
        pooled = []
        for ph in range(self.pooled_h):
            row_max = torch.where(rows[:, ph, None, :, None], regions, LOWEST_FLOAT32).amax(dim=2)  # (R, C, W)
            bin_max = torch.where(cols[:, None], row_max[:, :, None], LOWEST_FLOAT32).amax(dim=3)  # (R, C, PW)
            empty = (hend[:, ph:ph + 1] <= hstart[:, ph:ph + 1]) | empty_w
            pooled.append(torch.where(empty[:, None], 0.0, bin_max))
        return torch.stack(pooled, dim=2)

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


def range_max_table(x, levels_h, levels_w):
    """The range-maximum table of an (N, H, W, C) map: entry [kh, kw, n, h, w] is the max of the
    2^kh x 2^kw cells from (h, w) (past the map: -FLT_MAX), for kh <= levels_h, kw <= levels_w."""
    rows = [x]
    for k in range(1, levels_h + 1):
        previous, shift = rows[-1], 2 ** (k - 1)
        rows.append(torch.maximum(previous, torch.cat([previous[:, shift:],
                                                       torch.full_like(previous[:, :shift], LOWEST_FLOAT32)], dim=1)))
    table = []
    for level in rows:
        cols = [level]
        for k in range(1, levels_w + 1):
            previous, shift = cols[-1], 2 ** (k - 1)
            cols.append(torch.maximum(previous, torch.cat([previous[:, :, shift:],
                                                           torch.full_like(previous[:, :, :shift], LOWEST_FLOAT32)],
                                                          dim=2)))
        table.append(torch.stack(cols))
    return torch.stack(table)  # (levels_h + 1, levels_w + 1, N, H, W, C)


def range_level(length, levels):
    """floor(log2(length)) of integer lengths >= 1, at most `levels` (counted: exact)."""
    level = torch.zeros_like(length)
    for k in range(1, levels + 1):
        level = level + (length >= 2 ** k).long()
    return level


def range_corners(start, end, levels, size):
    """Each [start, end) range as two windows of 2^level cells covering it exactly: (level, first
    window's start, second window's start), clamped inside the map (an empty range is masked later)."""
    level = range_level(torch.clamp_min(end - start, 1), levels)
    first = torch.clamp(start, 0, size - 1)
    second = torch.clamp(end - (2 ** level), 0, size - 1)
    return level, first, second


class ROIPooling(nn.Module):
    """(N, C, H, W) features and (R, 5) ROIs -> (R, C, pooled_h, pooled_w): the max of each bin,
    0 for an empty one (rbgirshick/caffe-fast-rcnn's ROIPooling).

    Each bin is a range-maximum query: the max of (at most) four power-of-two windows covering
    it, read from a table of the map's window maxima (range_max_table), so no per-ROI copy of
    the map is ever made and the work does not grow with the ROIs' areas; the max is exact."""

    def __init__(self, pooled_h, pooled_w, spatial_scale):
        super().__init__()
        self.pooled_h, self.pooled_w, self.spatial_scale = pooled_h, pooled_w, spatial_scale

    def forward(self, features, rois):
        batch_size, channels, height, width = features.shape
        columns, batch = roi_rows(rois, features)
        hstart, hend, wstart, wend = (b.long() for b in roi_pooling_bins(
            TorchOps, *columns, bin_row(self.pooled_h, rois), bin_row(self.pooled_w, rois), self.spatial_scale,
            self.pooled_h, self.pooled_w, height, width))
        levels_h, levels_w = height.bit_length() - 1, width.bit_length() - 1
        table = range_max_table(features.permute(0, 2, 3, 1), levels_h, levels_w).reshape(-1, channels)
        kh, h0, h1 = (t[:, :, None] for t in range_corners(hstart, hend, levels_h, height))  # (R, PH, 1)
        kw, w0, w1 = (t[:, None, :] for t in range_corners(wstart, wend, levels_w, width))  # (R, 1, PW)
        plane = (kh * (levels_w + 1) + kw) * batch_size + batch[:, None, None]  # (R, PH, PW)
        corners = [table[((plane * height + h) * width + w)] for h in (h0, h1) for w in (w0, w1)]
        top = torch.clamp_min(torch.maximum(torch.maximum(corners[0], corners[1]),
                                            torch.maximum(corners[2], corners[3])), LOWEST_FLOAT32)
        empty = (hend <= hstart)[:, :, None] | (wend <= wstart)[:, None, :]  # (R, PH, PW)
        return torch.where(empty[..., None], 0.0, top).permute(0, 3, 1, 2)  # (R, C, PH, PW)

"""The nn.Module a generated model.py copies for PSROIPooling (imports torch only)."""

import torch
from torch import nn

from .roi_bins import psroi_pooling_bins
from .roi_pooling_torch import TorchOps, bin_masks, bin_row, roi_rows


class PSROIPooling(nn.Module):
    """(N, output_dim * G², H, W) score maps and (R, 5) ROIs -> (R, output_dim, G, G): each bin
    the mean of its cells in its own channel group, 0 when empty (daijifeng001/caffe-rfcn)."""

    def __init__(self, spatial_scale, output_dim, group_size):
        super().__init__()
        self.spatial_scale, self.output_dim, self.group_size = spatial_scale, output_dim, group_size

    def forward(self, features, rois):
        height, width, size = features.shape[2], features.shape[3], self.group_size
        columns, batch = roi_rows(rois, features)
        hstart, hend, wstart, wend = psroi_pooling_bins(
            TorchOps, *columns, bin_row(size, rois), self.spatial_scale, size, height, width)
        regions = features[batch]  # (R, C, H, W)
        rows, cols = bin_masks(hstart, hend, height), bin_masks(wstart, wend, width)
        pooled = []
        for ph in range(size):
            for pw in range(size):
                # Channel (ctop * G + ph) * G + pw for ctop = 0..output_dim-1.
                channels = regions[:, ph * size + pw::size * size]
                inside = rows[:, ph, None, :, None] & cols[:, pw, None, None, :]  # (R, 1, H, W)
                total = torch.where(inside, channels, 0.0).sum(dim=(2, 3))  # (R, D)
                area = (hend[:, ph:ph + 1] - hstart[:, ph:ph + 1]) * (wend[:, pw:pw + 1] - wstart[:, pw:pw + 1])
                empty = (hend[:, ph:ph + 1] <= hstart[:, ph:ph + 1]) | (wend[:, pw:pw + 1] <= wstart[:, pw:pw + 1])
                pooled.append(torch.where(empty, 0.0, total / area))
        return torch.stack(pooled, dim=2).reshape(-1, self.output_dim, size, size)

"""The nn.Module a generated model.py copies for Interp (imports torch only)."""

import torch.nn.functional as F
from torch import nn


class Interp(nn.Module):
    """Crop rows/columns crop = (top, bottom, left, right), then align_corners bilinear
    resizing to `size`, or the crop alone when `copy` (the fork copies equal sizes)."""

    def __init__(self, crop, size, copy):
        super().__init__()
        self.crop, self.size, self.copy = tuple(crop), tuple(size), copy

    def forward(self, x):
        top, bottom, left, right = self.crop
        x = x[:, :, top:bottom, left:right]
        if self.copy:
            return x.contiguous()
        return F.interpolate(x, size=self.size, mode="bilinear", align_corners=True)

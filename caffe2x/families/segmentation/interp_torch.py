"""The nn.Module a generated model.py copies for Interp (imports torch only)."""

import torch.nn.functional as F
from torch import nn

from caffe2x.families.segmentation.interp_rules import interp_side


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


class DynamicInterp(nn.Module):
    """Interp sized at run time (dynamic height and width): crop -pad_beg rows and columns at the
    start and -pad_end at the end, then align_corners bilinear resizing to the size the fork's
    rule (interp_side) gives the cropped map, or the crop alone when `copy` (the rule keeps it)."""

    def __init__(self, pad_beg, pad_end, zoom, shrink, height, width, copy):
        super().__init__()
        self.pad_beg, self.pad_end, self.zoom, self.shrink = pad_beg, pad_end, zoom, shrink
        self.height, self.width, self.copy = height, width, copy

    def forward(self, x):
        x = x[:, :, -self.pad_beg:x.shape[2] + self.pad_end, -self.pad_beg:x.shape[3] + self.pad_end]
        if self.copy:
            return x.contiguous()
        size = (interp_side(x.shape[2], self.zoom, self.shrink, self.height),
                interp_side(x.shape[3], self.zoom, self.shrink, self.width))
        return F.interpolate(x, size=size, mode="bilinear", align_corners=True)

"""The nn.Module a generated model.py copies for BVLC's Clip (imports torch only)."""

import torch
from torch import nn

from .clip import apply_clip


class Clip(nn.Module):
    """max(low, min(x, high)), in that order (low wins when low > high, as in Caffe)."""

    def __init__(self, low, high):
        super().__init__()
        self.low, self.high = low, high

    def forward(self, x):
        return apply_clip(x, self.low, self.high, torch.clamp_min, torch.clamp_max)

"""The nn.Module a generated model.py copies for the mobile forks' leaky ReLU6 (imports torch only)."""

import torch
from torch import nn

from .relu6 import apply_relu6


class ReLU6(nn.Module):
    """min(max(x, 0) + slope * min(x, 0), 6): the cap applies to the leak too."""

    def __init__(self, slope):
        super().__init__()
        self.slope = slope

    def forward(self, x):
        return apply_relu6(x, self.slope, torch.clamp_min, torch.clamp_max)

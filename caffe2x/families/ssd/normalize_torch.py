"""The nn.Module a generated model.py copies for the SSD fork's Normalize (imports torch only)."""

import torch
from torch import nn

from .normalize import apply_normalize


class Normalize(nn.Module):
    """x / sqrt(sum of x² over `axes` + eps) * scale (eps inside the root, as the fork)."""

    def __init__(self, axes, scale_shape, eps):
        super().__init__()
        self.axes, self.eps = tuple(axes), eps
        self.register_buffer("scale", torch.ones(scale_shape))

    def forward(self, x):
        return apply_normalize(x, self.scale, self.eps, lambda t: t.sum(self.axes, keepdim=True), torch.sqrt)

"""The nn.Module a generated model.py copies for BN (imports torch only)."""

import torch
from torch import nn

from .bn import apply_bn, batch_moments


class BN(nn.Module):
    """(x - mean) / sqrt(variance + eps) * scale + shift, the statistics stored (PSPNet, SegNet's
    INFERENCE with mean 0, variance 1, eps 0) or the batch's over `axes` (SegNet's LEARN)."""

    def __init__(self, shape, axes, batch_statistics, eps):
        super().__init__()
        self.axes, self.batch_statistics, self.eps = tuple(axes), batch_statistics, eps
        for name in ("scale", "shift", "mean", "variance"):
            self.register_buffer(name, torch.zeros(shape))

    def forward(self, x):
        mean, variance = self.mean, self.variance
        if self.batch_statistics:
            mean, variance = batch_moments(x, lambda t: t.mean(self.axes, keepdim=True))
        return apply_bn(x, self.scale, self.shift, mean, variance, self.eps, torch.sqrt)

"""The nn.Module a generated model.py copies for BN (imports torch only)."""

import torch
from torch import nn

from .bn import apply_bn, batch_moments


class BN(nn.Module):
    """(x - mean) / sqrt(variance + eps) * scale + shift, the statistics stored (PSPNet, SegNet's
    INFERENCE with mean 0, variance 1, eps 0) or the batch's over `axes` (SegNet's LEARN, which
    may also return them)."""

    def __init__(self, shape, axes, batch_statistics, eps, statistics_tops=False):
        super().__init__()
        self.axes, self.batch_statistics, self.eps = tuple(axes), batch_statistics, eps
        self.statistics_tops = statistics_tops
        for name in ("scale", "shift", "mean", "variance"):
            self.register_buffer(name, torch.zeros(shape))

    def forward(self, x):
        mean, variance = self.mean, self.variance
        if self.batch_statistics:
            mean, variance = batch_moments(x, lambda t: t.mean(self.axes, keepdim=True))
        y = apply_bn(x, self.scale, self.shift, mean, variance, self.eps, torch.sqrt)
        if self.statistics_tops:  # SegNet's tops 2 and 3, 1 x C x 1 x 1
            return y, mean.reshape(1, -1, 1, 1), variance.reshape(1, -1, 1, 1)
        return y

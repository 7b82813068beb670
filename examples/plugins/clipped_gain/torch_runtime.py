"""The PyTorch module a generated model.py copies for ClippedGain (imports torch only)."""

import torch
from torch import nn


class ClippedGain(nn.Module):
    """x * gain[c], clipped to [low, high] unless they are None."""

    def __init__(self, channels, rank, low, high):
        super().__init__()
        self.view = (1, -1) + (1,) * (rank - 2) if rank > 1 else (-1,)
        self.low, self.high = low, high
        self.register_buffer("gain", torch.ones(channels))

    def forward(self, x):
        y = x * self.gain.view(self.view)
        return y if self.low is None else torch.clamp(y, self.low, self.high)

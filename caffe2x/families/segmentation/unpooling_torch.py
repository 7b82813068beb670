"""The nn.Modules a generated model.py copies for Unpooling without a mask (imports torch only)."""

import torch
import torch.nn.functional as F
from torch import nn

from .unpooling import first_cell_sources, window_sources


class FirstCellUnpool(nn.Module):
    """MAX unpooling without a mask: each value to the first cell of its window (clamped to
    the top), the later one winning, zeros elsewhere: a gather from the planes and a zero."""

    def __init__(self, in_hw, stride, size):
        super().__init__()
        self.size = tuple(size)
        sources = torch.tensor(first_cell_sources(in_hw, stride, size), dtype=torch.long, device="cpu")
        self.register_buffer("sources", sources, persistent=False)

    def forward(self, x):
        n, c, h, w = x.shape
        planes = F.pad(x.reshape(n, c, h * w), (0, 1))
        return planes[:, :, self.sources].reshape(n, c, *self.size)


class WindowUnpool(nn.Module):
    """AVE (average: each value / its window's size) or TILE unpooling: each value added to
    every cell of its window, in the fork's order, on a zero top."""

    def __init__(self, in_hw, kernel, stride, size, average):
        super().__init__()
        self.size = tuple(size)
        sources, divisors = window_sources(in_hw, kernel, stride, size, average)
        # On the CPU and not persistent: derived from the arguments, not weights.
        self.register_buffer("sources", torch.tensor(sources, dtype=torch.long, device="cpu"), persistent=False)
        self.register_buffer("divisors", torch.tensor(divisors, dtype=torch.float32, device="cpu"), persistent=False)

    def forward(self, x):
        n, c, h, w = x.shape
        planes = F.pad(x.reshape(n, c, h * w), (0, 1))
        top = torch.zeros(n, c, self.size[0] * self.size[1], dtype=x.dtype, device=x.device)
        for row, divisor in zip(self.sources, self.divisors):
            top = top + planes[:, :, row] / divisor
        return top.reshape(n, c, *self.size)

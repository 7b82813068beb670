"""The nn.Module a generated model.py copies for Unpooling without a mask (imports torch only)."""

import torch
import torch.nn.functional as F
from torch import nn

from .unpooling import first_cell_sources


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

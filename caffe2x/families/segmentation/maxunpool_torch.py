"""The nn.Module a generated model.py copies for max-unpooling by a mask (imports torch only)."""

import torch
from torch import nn


class Unpool(nn.Module):
    """SegNet's Upsample: top[mask[i]] = data[i] per plane, the later i winning a shared
    position (each top position takes the value of the largest i naming it); mask values of -1
    or past the plane are dropped."""

    def __init__(self, size):
        super().__init__()
        self.size = tuple(size)

    def forward(self, data, mask):
        n, c, h, w = data.shape
        plane = self.size[0] * self.size[1]
        data = data.reshape(n, c, h * w)
        index = mask.reshape(n, c, h * w).long()
        index = torch.where((index >= 0) & (index < plane), index, torch.full_like(index, plane))
        positions = torch.arange(h * w, device=data.device).expand(n, c, h * w)
        nobody = torch.full((n, c, plane + 1), -1, dtype=torch.long, device=data.device)
        winner = nobody.scatter_reduce(2, index, positions, reduce="amax")[:, :, :plane]
        values = torch.gather(data, 2, winner.clamp(min=0))
        return torch.where(winner >= 0, values, torch.zeros_like(values)).reshape(n, c, *self.size)

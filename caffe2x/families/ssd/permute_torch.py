"""The nn.Module a generated model.py copies for the SSD fork's Permute (imports torch only)."""

from torch import nn


class Permute(nn.Module):
    """x.permute(order), contiguous as Caffe's blob is."""

    def __init__(self, order):
        super().__init__()
        self.order = tuple(order)

    def forward(self, x):
        return x.permute(self.order).contiguous()

"""The nn.Module a generated model.py copies for SENet's Axpy (imports torch only)."""

from torch import nn

from .axpy import apply_axpy


class Axpy(nn.Module):
    """a * x + y, a (N x C or N x C x 1 x 1) broadcast over x's other axes (x has `rank` axes)."""

    def __init__(self, rank):
        super().__init__()
        self.rank = rank

    def forward(self, a, x, y):
        return apply_axpy(a.reshape(a.shape[0], a.shape[1], *(1,) * (self.rank - 2)), x, y)

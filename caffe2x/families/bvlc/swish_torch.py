"""The nn.Module a generated model.py copies for BVLC's Swish (imports torch only)."""

import torch
from torch import nn

from .swish import apply_swish


class Swish(nn.Module):
    """x * sigmoid(beta * x)."""

    def __init__(self, beta):
        super().__init__()
        self.beta = beta

    def forward(self, x):
        return apply_swish(x, self.beta, torch.sigmoid)

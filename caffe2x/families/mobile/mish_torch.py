"""The nn.Module a generated model.py copies for the forks' Mish (imports torch only)."""

import torch
from torch import nn

from .mish import apply_mish


class Mish(nn.Module):
    """x * tanh(softplus(x)); torch's softplus switches to x above 20, as the fork does."""

    def forward(self, x):
        return apply_mish(x, torch.nn.functional.softplus, torch.tanh)

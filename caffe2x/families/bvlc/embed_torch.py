"""The nn.Module a generated model.py copies for BVLC's Embed (imports torch only)."""

import torch
from torch import nn

from .embed import lookup


class Embed(nn.Module):
    """Rows of the (input_dim, num_output) table at the input values truncated to integers
    (as Caffe's static_cast<int>), plus the bias."""

    def __init__(self, input_dim, num_output, bias_term):
        super().__init__()
        self.register_buffer("weight", torch.zeros(input_dim, num_output))
        self.register_buffer("bias", torch.zeros(num_output) if bias_term else None)

    def forward(self, x):
        return lookup(self.weight, x.long(), self.bias, self.rows)

    @staticmethod
    def rows(table, indices):
        return torch.nn.functional.embedding(indices, table)

"""The nn.Module a generated model.py copies for FlowNet2's Resample (imports torch only)."""

import torch
from torch import nn


class Resample(nn.Module):
    """out = rows @ x @ cols over each image's height x width: the resampling weights of each
    axis, computed by caffe2x when the net was converted (they depend only on the sizes)."""

    def __init__(self, rows_shape, cols_shape):
        super().__init__()
        self.register_buffer("rows", torch.zeros(*rows_shape))
        self.register_buffer("cols", torch.zeros(*cols_shape))

    def forward(self, x, *size_reference):  # a second bottom only gives the output size
        return torch.matmul(torch.matmul(self.rows, x), self.cols)

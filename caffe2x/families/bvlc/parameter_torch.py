"""The nn.Module a generated model.py copies for BVLC's Parameter (imports torch only)."""

import torch
from torch import nn


class Parameter(nn.Module):
    """The layer's blob, as its top: Caffe's Parameter layer has no bottoms."""

    def __init__(self, shape):
        super().__init__()
        self.register_buffer("blob", torch.zeros(shape))

    def forward(self):
        return self.blob.clone()  # a copy: a later in-place layer must not change the buffer

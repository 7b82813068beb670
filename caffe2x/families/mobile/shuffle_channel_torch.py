"""The nn.Module a generated model.py copies for ShuffleNet's ShuffleChannel (imports torch only)."""

import torch
from torch import nn

from .shuffle_channel import channel_order


class ShuffleChannel(nn.Module):
    """Output channel j * group + i is input channel i * (C / group) + j; the top is 4-D
    (chw: its C, H, W) whatever the bottom's rank, as the fork's legacy Reshape makes it."""

    def __init__(self, channels, group, chw):
        super().__init__()
        self.chw = tuple(chw)
        self.register_buffer("order", torch.tensor(channel_order(channels, group)), persistent=False)

    def forward(self, x):
        return x.index_select(1, self.order).reshape((-1, *self.chw))

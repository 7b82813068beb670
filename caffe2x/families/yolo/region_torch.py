"""The nn.Module a generated model.py copies for the caffe-yolov2 ports' Region (imports torch only)."""

import torch
from torch import nn


class Region(nn.Module):
    """Each image's (H·W, C) transpose in the (N, C, H, W) top, records of `record` entries:
    entry 4 through the logistic, entries 5 .. 5 + classes through a softmax when asked."""

    def __init__(self, record, classes, softmax):
        super().__init__()
        self.record, self.classes, self.softmax = record, classes, softmax

    def forward(self, x):
        r = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1, self.record)
        classes = r[..., 5:5 + self.classes]
        if self.softmax:
            classes = torch.softmax(classes, dim=-1)
        r = torch.cat([r[..., :4], torch.sigmoid(r[..., 4:5]), classes, r[..., 5 + self.classes:]], dim=-1)
        return r.reshape(x.shape)

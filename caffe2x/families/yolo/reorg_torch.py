"""The nn.Module a generated model.py copies for YOLO's Reorg (imports torch only)."""

from torch import nn


class Reorg(nn.Module):
    """The fork's reorg_cpu index map: reshape the bottom to `view`, transpose by `perm`,
    reshape to `top` (each without the batch; reorg.plan computes them)."""

    def __init__(self, view, perm, top):
        super().__init__()
        self.view, self.perm, self.top = tuple(view), tuple(perm), tuple(top)

    def forward(self, x):
        return x.reshape((-1, *self.view)).permute(self.perm).reshape((-1, *self.top))

"""The PyTorch module a generated model.py copies for SSD's PriorBox (imports torch only)."""

import torch
from torch import nn


class PriorBox(nn.Module):
    """SSD's PriorBox: its (1, 2, count) top, computed by caffe2x when the net was converted
    (it depends only on the feature map's and the image's height and width), whatever the
    batch, as Caffe gives it. Other sizes would need other priors: they are refused."""

    def __init__(self, count, feature_hw, image_hw):
        super().__init__()
        self.feature_hw = tuple(feature_hw)
        self.image_hw = None if image_hw is None else tuple(image_hw)  # None: img_size/img_h/img_w given
        self.register_buffer("priors", torch.zeros(1, 2, count))

    def forward(self, feature, image):
        feature_hw, image_hw = _prior_box_hw(feature), _prior_box_hw(image)
        if feature_hw != self.feature_hw or (self.image_hw is not None and image_hw != self.image_hw):
            raise ValueError(f"PriorBox: the priors were computed for a {self.feature_hw} feature map on a "
                             f"{self.image_hw} image, not {feature_hw} on {image_hw}; convert the net "
                             "again at this input size")
        return self.priors.clone()  # a copy: a later in-place layer must not change the buffer


def _prior_box_hw(blob):
    """Caffe's height() and width() of a blob: axes 2 and 3, 1 where it has fewer axes."""
    height, width = (tuple(blob.shape[2:4]) + (1, 1))[:2]
    return int(height), int(width)

"""Intel's PriorBoxClustered (openvinotoolkit/training_toolbox_caffe, commit
5e543a49c73190a091fe6ff364444a9714962ec0, caffe/src/caffe/layers/prior_box_clustered_layer.cpp;
the Open Model Zoo's SSD detectors, e.g. face-detection-retail-0044). Source-derived: the fork
is not built here.

    layer { name: "mbox_priorbox" type: "PriorBoxClustered" bottom: "conv_fm" bottom: "data"
            top: "mbox_priorbox"
            prior_box_param { width: 38.0 width: 9.6 height: 28.1 height: 17.9 clip: false
                              variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2 step: 16 } }

SSD's PriorBox with the box sizes given outright: one prior of width[s] x height[s] per entry,
centred at ((w + offset) * step_w, (h + offset) * step_h) of every feature-map cell. The top is
1 x 2 x (H*W*P*4) whatever the batch: coordinates normalized by the image size (clipped with
clip), then the variances. Everything else of prior_box_param (min_size, aspect_ratio, flip) is
ignored by the fork. Placement, rounding, clipping and variances are the SSD fork's rule
(caffe2x.families.ssd.prior_box.grid_priors), which this layer's LayerSetUp and Forward_cpu
repeat line for line: image size from img_size/img_h/img_w unless 0, step from step/step_h/step_w
unless 0, else image / feature map in float; coordinates in double, stored as float.

Refused where the fork CHECK-fails (no width, a width or height <= 0, counts that differ,
2-3 or 5+ variances, img_size with img_h/img_w, ...) and where it reads past its own
arrays: a `width` list without `height` (the fork indexes an empty heights_ vector).
Every target gets the top as a constant computed at conversion time, as for PriorBox.
"""

from __future__ import annotations

from dataclasses import dataclass

import caffe2x
from caffe2x.extend import LayerDef, check, fork_params
from caffe2x.families.ssd.prior_box import constant_priors_emitters, grid_priors, legacy_hw, size_pair, variances_of


@dataclass(frozen=True)
class PriorBoxClusteredParams:
    widths: tuple[float, ...]  # float32 values as given, one per prior of a cell
    heights: tuple[float, ...]
    clip: bool
    variances: tuple[float, ...]  # 1 or 4 values
    img_h: int  # 0: the image bottom's height
    img_w: int
    step_h: float  # 0: image size / feature map size
    step_w: float
    offset: float


def build(value) -> PriorBoxClusteredParams:
    """prior_box_param -> PriorBoxClusteredParams, with the checks of the fork's LayerSetUp."""
    widths, heights = tuple(value.width), tuple(value.height)
    check(len(widths) > 0, "PriorBoxClustered needs at least one width (prior_box_param { width: ... })")
    check(all(w > 0 for w in widths), "every width must be larger than 0")
    # The fork allows no height at all and then reads heights_[s] of an empty vector: refused.
    check(len(heights) == len(widths), f"give one height per width ({len(widths)}), not {len(heights)}")
    check(all(h > 0 for h in heights), "every height must be larger than 0")
    img_h, img_w = size_pair(value, "img_size", "img_h", "img_w", 0)
    step_h, step_w = size_pair(value, "step", "step_h", "step_w", 0.0)
    return PriorBoxClusteredParams(widths, heights, value.clip, variances_of(value.variance),
                                   img_h, img_w, step_h, step_w, value.offset)


def infer(params: PriorBoxClusteredParams, bottoms):
    height, width = legacy_hw(bottoms[0])
    legacy_hw(bottoms[1])
    size = height * width * len(params.widths) * 4
    check(size > 0, "the feature map is empty: no priors")
    return [(1, 2, size)]


def clustered_priors(params: PriorBoxClusteredParams, feature_shape, image_shape):
    """The PriorBoxClustered top (1, 2, H*W*P*4), float32: the one rule of the reference
    kernel and every target's emitter."""
    return grid_priors(params.widths, params.heights, params, feature_shape, image_shape)


# The same constant and runtime modules as the SSD PriorBox, with this layer's sizes.
reference, EMITTERS = constant_priors_emitters(clustered_priors)


PRIOR_BOX_CLUSTERED = LayerDef(fork_params("prior_box_param", build), infer, bottoms=(2, 2))

caffe2x.register_layer("PriorBoxClustered", PRIOR_BOX_CLUSTERED, reference, **EMITTERS)

"""SSD's PriorBox (weiliu89/caffe, branch ssd, src/caffe/layers/prior_box_layer.cpp).

    layer { name: "conv4_3_norm_mbox_priorbox" type: "PriorBox" bottom: "conv4_3_norm" bottom: "data"
            top: "conv4_3_norm_mbox_priorbox"
            prior_box_param { min_size: 30 max_size: 60 aspect_ratio: 2 flip: true variance: 0.1 ... } }

The top is 1 x 2 x (H*W*P*4) whatever the batch: channel 0 holds the P prior boxes
(xmin, ymin, xmax, ymax, normalized by the image size) of every cell of the H x W
feature map, channel 1 their variances. It depends only on the bottoms' shapes and
the parameters, so every target gets it as a constant computed at conversion time by
`prior_boxes`, the fork's arithmetic: the input's H and W are fixed in every converted
model (dynamic batch changes only N, which the top does not have).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import caffe2x
from caffe2x.extend import KerasLayer, LayerDef, ShapeError, TorchLayer, check, fork_params

F32 = np.float32
# The fork's defaults: one variance of 0.1; img/step 0 mean "from the bottoms".
DEFAULT_VARIANCE = 0.1
# The fork compares aspect ratios with fabs(a - b) < 1e-6 (duplicates, and 1.0).
SAME_RATIO = 1e-6


@dataclass(frozen=True)
class PriorBoxParams:
    min_sizes: tuple[float, ...]  # float32 values as given; the fork truncates them to int when it uses them
    max_sizes: tuple[float, ...]
    aspect_ratios: tuple[float, ...]  # the fork's list: 1.0 first, duplicates dropped, flips added
    clip: bool
    variances: tuple[float, ...]  # 1 or 4 values
    img_h: int  # 0: the image bottom's height
    img_w: int
    step_h: float  # 0: image size / feature map size
    step_w: float
    offset: float

    @property
    def num_priors(self) -> int:
        """Priors per feature-map cell (the fork's num_priors_)."""
        return len(self.aspect_ratios) * len(self.min_sizes) + len(self.max_sizes)


def fork_aspect_ratios(ratios, flip: bool) -> tuple[float, ...]:
    """PriorBoxLayer::LayerSetUp's list: 1.0, then each new ratio (float32 difference of
    1e-6 or more from every kept one) followed by its flip 1/r (computed in double, stored
    as float) when flip is set."""
    kept = [1.0]
    for ratio in ratios:
        ratio = F32(ratio)
        if any(float(abs(ratio - F32(other))) < SAME_RATIO for other in kept):
            continue
        kept.append(float(ratio))
        if flip:
            kept.append(float(F32(1.0 / float(ratio))))
    return tuple(kept)


def size_pair(value, name: str, h: str, w: str, zero):
    """The fork's `name` or `h` and `w` (both, never with `name`): (h, w), or (zero, zero)
    when none is given (img_size: take the image bottom's; step: derive it). The SSD fork's
    PriorBox and Intel's PriorBoxClustered (families/intel) check them alike."""
    if value.has(h) or value.has(w):
        check(not value.has(name), f"give either {name} or {h}/{w}, not both")
        check(getattr(value, h) > 0 and getattr(value, w) > 0, f"{h} and {w} must both be given and larger than 0")
        return getattr(value, h), getattr(value, w)
    if value.has(name):
        check(getattr(value, name) > 0, f"{name} must be larger than 0")
        return getattr(value, name), getattr(value, name)
    return zero, zero


def variances_of(values) -> tuple[float, ...]:
    check(len(values) in (0, 1, 4), f"give 1 or 4 variances, not {len(values)}")
    check(all(v > 0 for v in values), "every variance must be larger than 0")
    return tuple(values) or (float(F32(DEFAULT_VARIANCE)),)


def build(value) -> PriorBoxParams:
    """prior_box_param -> PriorBoxParams, with the checks of the fork's LayerSetUp."""
    mins, maxs = tuple(value.min_size), tuple(value.max_size)
    check(len(mins) > 0, "prior_box_param needs at least one min_size")
    check(all(m > 0 for m in mins), "every min_size must be larger than 0")
    check(not maxs or len(maxs) == len(mins), f"give one max_size per min_size ({len(mins)}), not {len(maxs)}")
    check(all(high > low for low, high in zip(mins, maxs)), "every max_size must be larger than its min_size")
    # Caffe would go on with inf/NaN boxes (sqrt of a negative ratio, 1/0): refused instead.
    check(all(r > 0 for r in value.aspect_ratio), "every aspect_ratio must be larger than 0")
    img_h, img_w = size_pair(value, "img_size", "img_h", "img_w", 0)
    step_h, step_w = size_pair(value, "step", "step_h", "step_w", 0.0)
    return PriorBoxParams(mins, maxs, fork_aspect_ratios(value.aspect_ratio, value.flip), value.clip,
                          variances_of(value.variance), img_h, img_w, step_h, step_w, value.offset)


def legacy_hw(shape) -> tuple[int, int]:
    """Blob::height() and width(): axes 2 and 3, 1 where the blob has fewer axes."""
    if len(shape) > 4:
        raise ShapeError(f"a {len(shape)}-D bottom has no height and width (Caffe allows at most 4 axes)")
    return (shape[2] if len(shape) > 2 else 1), (shape[3] if len(shape) > 3 else 1)


def infer(params: PriorBoxParams, bottoms):
    height, width = legacy_hw(bottoms[0])
    legacy_hw(bottoms[1])
    size = height * width * params.num_priors * 4
    check(size > 0, "the feature map is empty: no priors")
    return [(1, 2, size)]


def box_sizes(params: PriorBoxParams) -> tuple[np.ndarray, np.ndarray]:
    """Width and height (float32) of each prior of a cell, in the fork's order: per
    min_size (truncated to int, as the fork's `int min_size_ = min_sizes_[s]`), the min
    box, the sqrt(min*max) box (integer product, double sqrt), then each ratio r != 1
    as min*sqrt(r) by min/sqrt(r) in float."""
    widths, heights = [], []
    for index, min_value in enumerate(params.min_sizes):
        low = int(min_value)
        widths.append(F32(low))
        heights.append(F32(low))
        if params.max_sizes:
            side = F32(math.sqrt(low * int(params.max_sizes[index])))
            widths.append(side)
            heights.append(side)
        for ratio in params.aspect_ratios:
            if abs(ratio - 1.0) < SAME_RATIO:
                continue
            root = np.sqrt(F32(ratio))  # float sqrt: the fork calls sqrt on a float
            widths.append(F32(low) * root)
            heights.append(F32(low) / root)
    return np.array(widths, F32), np.array(heights, F32)


def prior_boxes(params: PriorBoxParams, feature_shape, image_shape) -> np.ndarray:
    """The PriorBox top (1, 2, H*W*P*4), float32, as PriorBoxLayer::Forward_cpu computes it.
    The one rule the reference kernel and every target's emitter use."""
    return grid_priors(*box_sizes(params), params, feature_shape, image_shape)


def grid_priors(box_widths, box_heights, params, feature_shape, image_shape) -> np.ndarray:
    """Boxes of the given float32 sizes centred on every cell of the feature map, as the SSD
    fork's PriorBox and Intel's PriorBoxClustered (families/intel) place them: centers
    (w + offset) * step in float; each coordinate (center -/+ size / 2.) / image in double,
    stored as float; clipped to [0, 1] with clip; then the variances. `params` gives img_h,
    img_w, step_h, step_w (0: from the bottoms), offset, clip and variances."""
    height, width = legacy_hw(feature_shape)
    img_h, img_w = (params.img_h, params.img_w) if params.img_h and params.img_w else legacy_hw(image_shape)
    if params.step_h and params.step_w:
        step_h, step_w = F32(params.step_h), F32(params.step_w)
    else:
        step_h, step_w = F32(img_h) / F32(height), F32(img_w) / F32(width)
    offset = F32(params.offset)
    center_x = ((np.arange(width, dtype=F32) + offset) * step_w).astype(np.float64)
    center_y = ((np.arange(height, dtype=F32) + offset) * step_h).astype(np.float64)
    box_w, box_h = (np.asarray(size, F32).astype(np.float64) / 2.0 for size in (box_widths, box_heights))
    boxes = np.empty((height, width, len(box_w), 4), np.float64)
    boxes[..., 0] = (center_x[None, :, None] - box_w) / img_w
    boxes[..., 1] = (center_y[:, None, None] - box_h) / img_h
    boxes[..., 2] = (center_x[None, :, None] + box_w) / img_w
    boxes[..., 3] = (center_y[:, None, None] + box_h) / img_h
    coordinates = boxes.astype(F32).reshape(-1)
    if params.clip:
        coordinates = np.minimum(np.maximum(coordinates, F32(0)), F32(1))
    variances = np.resize(np.array(params.variances, F32), coordinates.size)
    return np.stack([coordinates, variances])[None]


def constant_priors_emitters(compute):
    """The reference and every target's emitter of a layer whose top is a constant of its bottoms'
    shapes, `compute(params, feature_shape, image_shape)`: PriorBox, and Intel's PriorBoxClustered
    (another rule for the sizes, the same placement and the same runtime modules)."""

    def priors(node, shape_of) -> np.ndarray:
        return compute(node.params, shape_of(node.inputs[0]), shape_of(node.inputs[1]))

    def reference(node, inputs):
        return [compute(node.params, inputs[0].shape, inputs[1].shape)]

    def onnx(node, inputs, outputs, builder):
        constant = builder.const(node.name, "priors", priors(node, builder.shape))
        return [builder.op("Identity", [constant], node.name, output=outputs[0])]

    def pytorch(node, ctx):
        values = priors(node, ctx.shape)
        feature_hw = legacy_hw(ctx.shape(node.inputs[0]))
        # The image bottom's size matters only when img_size/img_h/img_w do not replace it.
        image_hw = None if node.params.img_h and node.params.img_w else legacy_hw(ctx.shape(node.inputs[1]))
        return TorchLayer(f"PriorBox({values.shape[2]}, {feature_hw}, {image_hw})", state={"priors": values},
                          helpers=("caffe2x.families.ssd.prior_box_torch:PriorBox",))

    def tensorflow(node, args, ctx):
        values = priors(node, ctx.shape)
        return KerasLayer(f"PriorBox({values.shape[2]}, name={ctx.name(node)})([{args[0]}, {args[1]}])",
                          weights={ctx.raw_name(node): [values]},
                          custom=("caffe2x.families.ssd.prior_box_keras:PriorBox",), layouts=["caffe"])

    return reference, {"onnx": onnx, "pytorch": pytorch, "tensorflow": tensorflow}


reference, EMITTERS = constant_priors_emitters(prior_boxes)


PRIOR_BOX = LayerDef(fork_params("prior_box_param", build), infer, bottoms=(2, 2))

caffe2x.register_layer("PriorBox", PRIOR_BOX, reference, **EMITTERS)

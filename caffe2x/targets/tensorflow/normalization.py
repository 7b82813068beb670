"""LRN, BatchNorm (Keras BatchNormalization from Caffe's statistics) and MVN."""

from __future__ import annotations

import numpy as np

from ...layers.normalization import batch_norm_statistics, mvn_first_axis
from .base import KERAS_EMITTERS, NHWC, NHWC_AXIS, KerasLayer, num


@KERAS_EMITTERS.register("LRN")
def lrn(node, args, ctx):
    p = node.params
    if p.across_channels:
        return KerasLayer(f"LRN({p.local_size}, {num(p.alpha)}, {num(p.beta)}, {num(p.k)}, "
                          f"name={ctx.name(node)})({args[0]})", custom=("LRN",), layouts=[NHWC])
    return KerasLayer(f"LRNWithinChannel({p.local_size}, {num(p.alpha)}, {num(p.beta)}, "
                      f"name={ctx.name(node)})({args[0]})", custom=("LRNWithinChannel",), layouts=[NHWC])


@KERAS_EMITTERS.register("BatchNorm")
def batch_norm(node, args, ctx):
    p = node.params
    if not p.use_global_stats:
        raise ctx.unsupported(node, "use_global_stats: false (batch statistics at inference)")
    layout = ctx.layout(node.inputs[0])
    axis = -1 if layout == NHWC else 1
    stats = [s.astype(np.float32) for s in batch_norm_statistics(node.weights)]
    weights = [np.asarray(node.weights[3]), np.asarray(node.weights[4]), *stats] if p.affine else stats
    affine = "" if p.affine else ", center=False, scale=False"
    return KerasLayer(f"layers.BatchNormalization({axis}, momentum={num(1.0 - p.momentum)}, epsilon={num(p.eps)}"
                      f"{affine}, name={ctx.name(node)})({args[0]})",
                      {ctx.raw_name(node): weights}, layouts=[layout])


@KERAS_EMITTERS.register("MVN")
def mvn(node, args, ctx):
    p = node.params
    rank = len(ctx.shape(node.inputs[0]))
    layout = ctx.layout(node.inputs[0])
    axes = list(range(mvn_first_axis(p.across_channels), rank))
    if layout == NHWC:  # Caffe axes 1 (C), 2 (H), 3 (W) -> NHWC 3, 1, 2
        axes = sorted(NHWC_AXIS[a] for a in axes)
    return KerasLayer(f"MVN({p.normalize_variance}, {axes}, {num(p.eps)}, name={ctx.name(node)})({args[0]})",
                      custom=("MVN",), layouts=[layout])

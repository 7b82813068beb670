"""LRN, BatchNorm and MVN, following Caffe's CPU code step by step."""

from __future__ import annotations

import numpy as np

from ..layers.normalization import (
    BatchNormParams,
    LRNParams,
    MVNParams,
    apply_mvn,
    batch_norm_statistics,
    lrn_half_window,
    lrn_shift,
    mvn_first_axis,
)
from .base import REFERENCE, channel_view, f64


def _window_sum(values: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Sum over a centred window of `size` along `axis`, zero padded (size is odd)."""
    half = lrn_half_window(size)
    pad = [(0, 0)] * values.ndim
    pad[axis] = (half, half)
    padded = np.pad(values, pad)
    csum = np.cumsum(padded, axis=axis)
    csum = np.concatenate([np.zeros_like(np.take(csum, [0], axis=axis)), csum], axis=axis)
    n = values.shape[axis]
    return np.take(csum, range(size, size + n), axis=axis) - np.take(csum, range(n), axis=axis)


@REFERENCE.register("LRN")
def lrn(node, inputs):
    p: LRNParams = node.params
    x = f64(inputs[0])
    squares = x * x
    if p.across_channels:
        mean = _window_sum(squares, p.local_size, axis=1) / p.local_size
    else:
        # Caffe's AVE pooling of x^2 over local_size^2, stride 1, pad half the window:
        # every window lies inside the padded input, so its divisor is local_size^2.
        mean = _window_sum(_window_sum(squares, p.local_size, 2), p.local_size, 3) / (p.local_size * p.local_size)
    scale = lrn_shift(p.across_channels, p.k) + p.alpha * mean
    return [x * np.power(scale, -p.beta)]


@REFERENCE.register("BatchNorm")
def batch_norm(node, inputs):
    p: BatchNormParams = node.params
    x = f64(inputs[0])
    if p.use_global_stats:
        mean, var = (channel_view(s, x.ndim) for s in batch_norm_statistics(node.weights))
    else:  # explicitly asked for batch statistics, as Caffe then computes at TEST too
        axes = tuple(a for a in range(x.ndim) if a != 1)
        mean = x.mean(axis=axes, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + p.eps)
    if p.affine:
        y = y * channel_view(f64(node.weights[3]), x.ndim) + channel_view(f64(node.weights[4]), x.ndim)
    return [y]


@REFERENCE.register("MVN")
def mvn(node, inputs):
    p: MVNParams = node.params
    x = f64(inputs[0])
    axes = tuple(range(mvn_first_axis(p.across_channels), x.ndim))
    return [apply_mvn(x, p.normalize_variance, p.eps, lambda t: t.mean(axis=axes, keepdims=True), np.sqrt)]

"""LRN, BatchNorm and MVN, following Caffe's CPU code step by step."""

from __future__ import annotations

import numpy as np

from ..layers.normalization import BatchNormParams, LRNParams, MVNParams
from .base import REFERENCE, channel_view, f64


def _window_sum(values: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Sum over a centred window of `size` along `axis`, zero padded (size is odd)."""
    half = (size - 1) // 2
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
        scale = p.k + (p.alpha / p.local_size) * _window_sum(squares, p.local_size, axis=1)
    else:
        # Caffe builds WITHIN_CHANNEL from layers: AVE pooling of x^2 over a
        # local_size^2 window (always divided by local_size^2 here), then
        # Power(shift=1, scale=alpha): k is not used.
        window = _window_sum(_window_sum(squares, p.local_size, 2), p.local_size, 3)
        scale = 1.0 + p.alpha * window / (p.local_size * p.local_size)
    return [x * np.power(scale, -p.beta)]


@REFERENCE.register("BatchNorm")
def batch_norm(node, inputs):
    p: BatchNormParams = node.params
    x = f64(inputs[0])
    if p.use_global_stats:
        stored = float(node.weights[2].reshape(-1)[0])
        factor = 0.0 if stored == 0 else 1.0 / stored
        mean = channel_view(f64(node.weights[0]) * factor, x.ndim)
        var = channel_view(f64(node.weights[1]) * factor, x.ndim)
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
    rows = x.reshape(x.shape[0] if p.across_channels else x.shape[0] * x.shape[1], -1)
    centred = rows - rows.mean(axis=1, keepdims=True)
    if p.normalize_variance:
        std = np.sqrt((centred * centred).mean(axis=1, keepdims=True))
        centred = centred / (std + p.eps)
    return [centred.reshape(x.shape)]

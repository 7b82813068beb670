"""LRN, BatchNorm (batch statistics; global ones are folded by the passes) and MVN."""

from __future__ import annotations

import numpy as np

from ...layers.normalization import LRNParams, batch_norm_statistics, lrn_half_window, lrn_shift, mvn_first_axis
from .registry import ONNX_EMITTERS


@ONNX_EMITTERS.register("LRN")
def lrn(node, inputs, out, b):
    """x * (k + alpha * mean of x^2 over the window)^-beta, as Caffe computes it (its alpha/size
    times the window's sum is alpha times the mean, padded cells counted as zeros).

    ACROSS_CHANNELS: ONNX's own LRN op means the same, but onnxruntime's kernel for it
    took half of GoogLeNet's time; the channel window as a 3-D average pool is many
    times faster. WITHIN_CHANNEL: a 2-D average pool, and k is 1 in Caffe.
    """
    p: LRNParams = node.params
    x = inputs[0]
    half = lrn_half_window(p.local_size)
    squared = b.op("Mul", [x, x], node.name)
    if p.across_channels:
        stacked = b.op("Unsqueeze", [squared, b.ints(node.name, "axes", [1])], node.name)  # N,1,C,H,W
        pooled = b.op("AveragePool", [stacked], node.name, kernel_shape=[p.local_size, 1, 1], strides=[1, 1, 1],
                      pads=[half, 0, 0, half, 0, 0], count_include_pad=1)
        mean = b.op("Squeeze", [pooled, b.ints(node.name, "axes", [1])], node.name)
    else:
        mean = b.op("AveragePool", [squared], node.name, kernel_shape=[p.local_size] * 2,
                    strides=[1, 1], pads=[half] * 4, count_include_pad=1)
    scaled = b.op("Mul", [mean, b.const(node.name, "alpha", np.float32(p.alpha))], node.name)
    base = b.op("Add", [scaled, b.const(node.name, "k", np.float32(lrn_shift(p.across_channels, p.k)))], node.name)
    factor = b.op("Pow", [base, b.const(node.name, "neg_beta", np.float32(-p.beta))], node.name)
    return [b.op("Mul", [x, factor], node.name, output=out[0])]


def _normalize(node, b, x: str, axes: list[int], eps: float, out: str, eps_inside_sqrt: bool) -> str:
    mean = b.reduce("ReduceMean", x, axes, node.name, keepdims=True)
    centred = b.op("Sub", [x, mean], node.name)
    variance = b.reduce("ReduceMean", b.op("Mul", [centred, centred], node.name), axes, node.name, keepdims=True)
    epsilon = b.const(node.name, "eps", np.float32(eps))
    if eps_inside_sqrt:
        std = b.op("Sqrt", [b.op("Add", [variance, epsilon], node.name)], node.name)
    else:
        std = b.op("Add", [b.op("Sqrt", [variance], node.name), epsilon], node.name)
    return b.op("Div", [centred, std], node.name, output=out)


@ONNX_EMITTERS.register("BatchNorm")
def batch_norm(node, inputs, out, b):
    rank = len(b.shape(node.inputs[0]))
    if node.params.use_global_stats:  # only reached when passes are turned off
        mean, var = batch_norm_statistics(node.weights)
        channels = mean.size
        gamma, beta = node.weights[3:5] if node.params.affine else (np.ones(channels), np.zeros(channels))
        return [b.op("BatchNormalization", [
            inputs[0], b.const(node.name, "gamma", gamma), b.const(node.name, "beta", beta),
            b.const(node.name, "mean", mean), b.const(node.name, "var", var)],
            node.name, output=out[0], epsilon=float(node.params.eps))]
    axes = [a for a in range(rank) if a != 1]
    return [_normalize(node, b, inputs[0], axes, node.params.eps, out[0], eps_inside_sqrt=True)]


@ONNX_EMITTERS.register("MVN")
def mvn(node, inputs, out, b):
    p = node.params
    rank = len(b.shape(node.inputs[0]))
    axes = list(range(mvn_first_axis(p.across_channels), rank))
    if not p.normalize_variance:
        mean = b.reduce("ReduceMean", inputs[0], axes, node.name, keepdims=True)
        return [b.op("Sub", [inputs[0], mean], node.name, output=out[0])]
    return [_normalize(node, b, inputs[0], axes, p.eps, out[0], eps_inside_sqrt=False)]

"""Convolution (im2col + matmul per group) and Deconvolution (matmul + col2im)."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..layers.conv import ConvParams
from .base import REFERENCE, channel_view, f64


def _im2col(image: np.ndarray, p: ConvParams) -> np.ndarray:
    """(C, H, W) -> (C * kh * kw, Ho * Wo), rows ordered like Caffe's weights."""
    (ph, pw), (sh, sw), (dh, dw) = p.pad, p.stride, p.dilation
    padded = np.pad(image, ((0, 0), (ph, ph), (pw, pw)))
    windows = sliding_window_view(padded, (p.extent(0), p.extent(1)), axis=(1, 2))
    windows = windows[:, ::sh, ::sw, ::dh, ::dw]  # (C, Ho, Wo, kh, kw)
    channels, out_h, out_w = windows.shape[:3]
    return windows.transpose(0, 3, 4, 1, 2).reshape(channels * p.kernel[0] * p.kernel[1], out_h * out_w)


@REFERENCE.register("Convolution")
def convolution(node, inputs):
    p: ConvParams = node.params
    x = inputs[0]
    weight = f64(node.weights[0])
    g = p.group
    out_per_group = p.num_output // g
    w_groups = weight.reshape(g, out_per_group, -1)
    results = []
    for image in x:
        cols = _im2col(f64(image), p)
        cols = cols.reshape(g, cols.shape[0] // g, cols.shape[1])
        out = np.matmul(w_groups, cols).reshape(p.num_output, -1)
        results.append(out)
    y = np.stack(results)
    y = y.reshape(x.shape[0], p.num_output, *_conv_out_hw(x.shape, p))
    if p.bias_term:
        y += channel_view(f64(node.weights[1]), 4)
    return [y]


def _conv_out_hw(shape, p: ConvParams):
    return tuple((shape[2 + a] + 2 * p.pad[a] - p.extent(a)) // p.stride[a] + 1 for a in (0, 1))


@REFERENCE.register("Deconvolution")
def deconvolution(node, inputs):
    p: ConvParams = node.params
    x = inputs[0]
    n, cin, h, w = x.shape
    g = p.group
    kh, kw = p.kernel
    (sh, sw), (dh, dw), (ph, pw) = p.stride, p.dilation, p.pad
    weight = f64(node.weights[0]).reshape(g, cin // g, -1)  # (g, Cin/g, Cout/g*kh*kw)
    full_h, full_w = sh * (h - 1) + p.extent(0), sw * (w - 1) + p.extent(1)
    out_h, out_w = full_h - 2 * ph, full_w - 2 * pw
    y = np.empty((n, p.num_output, out_h, out_w))
    for b in range(n):
        xg = f64(x[b]).reshape(g, cin // g, h * w)
        cols = np.matmul(weight.transpose(0, 2, 1), xg)  # (g, Cout/g*kh*kw, H*W)
        cols = cols.reshape(p.num_output, kh, kw, h, w)
        full = np.zeros((p.num_output, full_h, full_w))
        for i in range(kh):
            for j in range(kw):
                full[:, i * dh: i * dh + sh * (h - 1) + 1: sh,
                     j * dw: j * dw + sw * (w - 1) + 1: sw] += cols[:, i, j]
        y[b] = full[:, ph: ph + out_h, pw: pw + out_w]
    if p.bias_term:
        y += channel_view(f64(node.weights[1]), 4)
    return [y]

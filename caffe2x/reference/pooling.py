"""Pooling with Caffe's exact window rules.

MAX ignores padding (windows are clipped to the input). AVE divides by the
window's size clipped to the *padded* input, so border windows that reach
into the zero padding on the top/left count it, while ceil-mode windows that
run past the bottom/right padding do not.
"""

from __future__ import annotations

import numpy as np

from ..layers.pooling import LOWEST_FLOAT32, PoolParams, ave_pool_window_sizes, pool_tail_pad, pooled_size
from .base import REFERENCE, f64


@REFERENCE.register("Pooling")
def pooling(node, inputs):
    p: PoolParams = node.params
    x = f64(inputs[0])
    if p.method not in ("MAX", "AVE"):
        raise NotImplementedError(f"{p.method} pooling")  # rejected earlier by shape rules
    if p.global_pooling:
        return [x.max(axis=(2, 3), keepdims=True) if p.method == "MAX" else x.mean(axis=(2, 3), keepdims=True)]
    h, w = x.shape[2:]
    out_h = pooled_size(h, p.kernel[0], p.stride[0], p.pad[0], p.ceil_mode)
    out_w = pooled_size(w, p.kernel[1], p.stride[1], p.pad[1], p.ceil_mode)
    return [_pool(x, p, out_h, out_w)]


def _pool(x: np.ndarray, p: PoolParams, out_h: int, out_w: int) -> np.ndarray:
    (kh, kw), (sh, sw), (ph, pw) = p.kernel, p.stride, p.pad
    n, c, h, w = x.shape
    extra_h = max(0, pool_tail_pad(h, out_h, kh, sh, ph))
    extra_w = max(0, pool_tail_pad(w, out_w, kw, sw, pw))
    fill = LOWEST_FLOAT32 if p.method == "MAX" else 0.0
    padded = np.pad(x, ((0, 0), (0, 0), (ph, extra_h), (pw, extra_w)), constant_values=fill)
    acc = np.full((n, c, out_h, out_w), fill)
    for i in range(kh):
        for j in range(kw):
            window = padded[:, :, i: i + sh * (out_h - 1) + 1: sh, j: j + sw * (out_w - 1) + 1: sw]
            if p.method == "MAX":
                np.maximum(acc, window, out=acc)
            else:
                acc += window
    if p.method == "AVE":
        acc /= np.outer(ave_pool_window_sizes(h, out_h, kh, sh, ph), ave_pool_window_sizes(w, out_w, kw, sw, pw))
    return acc

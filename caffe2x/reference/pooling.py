"""Pooling with Caffe's exact window rules.

MAX ignores padding (windows are clipped to the input). AVE divides by the
window's size clipped to the *padded* input, so border windows that reach
into the zero padding on the top/left count it, while ceil-mode windows that
run past the bottom/right padding do not.
"""

from __future__ import annotations

import numpy as np

from ..layers.pooling import (
    LOWEST_FLOAT32,
    NO_MASK,
    PoolParams,
    ave_pool_window_sizes,
    mask_index,
    max_mask_windows,
    pool_tail_pad,
    pooled_size,
)
from .base import REFERENCE, f64


@REFERENCE.register("Pooling")
def pooling(node, inputs):
    p: PoolParams = node.params
    x = f64(inputs[0])
    if p.mask:
        return _max_with_mask(x, p)
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


def _max_with_mask(x: np.ndarray, p: PoolParams) -> list[np.ndarray]:
    """MAX pooling and its argmax mask, as Caffe's loop: each window starts at LOWEST_FLOAT32
    with mask -1 and takes a cell that is strictly greater, in row-major order (so the first
    of equal maxima wins; a window with nothing above LOWEST_FLOAT32 keeps -1)."""
    n, c, h, w = x.shape
    kernel, stride, pads = max_mask_windows(p, (h, w))
    padded = np.pad(x, ((0, 0), (0, 0), *pads), constant_values=LOWEST_FLOAT32)
    out_h = (h + sum(pads[0]) - kernel[0]) // stride[0] + 1
    out_w = (w + sum(pads[1]) - kernel[1]) // stride[1] + 1
    best = np.full((n, c, out_h, out_w), LOWEST_FLOAT32)
    mask = np.full((n, c, out_h, out_w), NO_MASK)
    rows, cols = np.arange(out_h)[:, None] * stride[0], np.arange(out_w)[None, :] * stride[1]
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            window = padded[:, :, i: i + stride[0] * (out_h - 1) + 1: stride[0],
                            j: j + stride[1] * (out_w - 1) + 1: stride[1]]
            greater = window > best
            best = np.where(greater, window, best)
            mask = np.where(greater, mask_index(rows + i, cols + j, pads, w), mask)
    return [best, mask]

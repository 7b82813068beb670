"""Softmax, ArgMax and Reduction."""

from __future__ import annotations

import numpy as np

from ..layers.base import canonical_axis
from ..layers.reduction import ArgMaxParams, ReductionParams, SoftmaxParams, apply_reduction, reduction_first_axis
from .base import REFERENCE, f64, inferred_shapes


@REFERENCE.register("Softmax")
def softmax(node, inputs):
    p: SoftmaxParams = node.params
    x = f64(inputs[0])
    axis = canonical_axis(p.axis, x.ndim)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return [e / e.sum(axis=axis, keepdims=True)]


def _top_k(values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top k along the last axis, ordered like Caffe's partial_sort of
    (value, index) pairs with std::greater: ties go to the larger index."""
    index = np.broadcast_to(np.arange(values.shape[-1]), values.shape)
    order = np.lexsort((-index, -values), axis=-1)[..., :k]
    return np.take_along_axis(values, order, axis=-1), order.astype(np.float64)


@REFERENCE.register("ArgMax")
def argmax(node, inputs):
    p: ArgMaxParams = node.params
    x = f64(inputs[0])
    if p.axis is not None:
        axis = canonical_axis(p.axis, x.ndim)
        values, indices = _top_k(np.moveaxis(x, axis, -1), p.top_k)
        chosen = values if p.out_max_val else indices
        return [np.moveaxis(chosen, -1, axis)]
    values, indices = _top_k(x.reshape(x.shape[0], -1), p.top_k)
    parts = [indices, values] if p.out_max_val else [indices]
    y = np.stack(parts, axis=1)  # (N, 1 or 2, top_k)
    return [y.reshape(inferred_shapes(node, inputs)[0])]


@REFERENCE.register("Reduction")
def reduction(node, inputs):
    p: ReductionParams = node.params
    x = f64(inputs[0])
    axis = reduction_first_axis(p.axis, x.ndim)
    rows = x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)
    y = apply_reduction(p.operation, rows, p.coeff, lambda t: t.sum(axis=1), lambda t: t.mean(axis=1))
    return [y.reshape(x.shape[:axis])]

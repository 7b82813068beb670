"""The reference stage: one NumPy forward function per Caffe layer type.

A kernel takes (node, list of input arrays) and returns a list of output
arrays. Kernels compute in float64 and the executor stores float32, as
Caffe stores every blob: what we reproduce is Caffe's math, with less
rounding error of our own than Caffe's fp32 BLAS has.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..ir.graph import Node
from ..registry import Registry

Kernel = Callable[[Node, list[np.ndarray]], list[np.ndarray]]

REFERENCE: Registry[Kernel] = Registry("reference executor")


def inferred_shapes(node: Node, inputs: list[np.ndarray]) -> list[tuple[int, ...]]:
    """The node's output shapes by its layer type's own shape rule."""
    from ..layers import LAYERS

    return LAYERS.get(node.type).infer(node.params, [x.shape for x in inputs])


def f64(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def channel_view(vector: np.ndarray, ndim: int, axis: int = 1) -> np.ndarray:
    """Reshape a per-channel vector so it broadcasts along `axis` of an ndim blob."""
    shape = [1] * ndim
    shape[axis] = -1
    return np.reshape(vector, shape)


def elementwise(fn: Callable[[Node, np.ndarray], np.ndarray]) -> Kernel:
    """Wrap a one-input, one-output function of a float64 array as a kernel."""
    def kernel(node: Node, inputs: list[np.ndarray]) -> list[np.ndarray]:
        return [fn(node, f64(inputs[0]))]
    kernel.__name__ = fn.__name__
    return kernel

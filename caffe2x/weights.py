"""Random weights shaped like a trained net, for testing without a caffemodel.

Convolution/InnerProduct weights are He-scaled, biases small, BatchNorm
statistics near (0, 1) with a moving-average factor that is not 1, Scale
near 1 and PReLU near 0.25, so activations stay in range through deep nets.
"""

from __future__ import annotations

import numpy as np

from .ir.graph import Graph, Node


def _fan_in(shape: tuple[int, ...], node: Node) -> int:
    if node.type == "Deconvolution":
        return max(1, shape[0] * int(np.prod(shape[2:], dtype=np.int64)) // 4)
    if node.type == "InnerProduct" and getattr(node.params, "transpose", False):
        return max(1, shape[0])
    return max(1, int(np.prod(shape[1:], dtype=np.int64)))


def _blobs_for(node: Node, rng: np.random.Generator) -> list[np.ndarray]:
    shapes = node.weight_shapes
    if node.type == "BatchNorm":
        factor = 0.999
        mean = rng.normal(0.0, 0.1, shapes[0]) * factor
        var = rng.uniform(0.5, 1.5, shapes[1]) * factor
        return [mean, var, np.full(shapes[2], factor)]
    if node.type in ("Scale", "Bias"):
        base = 1.0 if node.type == "Scale" and not node.params.two_bottoms else 0.0
        first = [base + rng.normal(0.0, 0.1, shapes[0])] if shapes else []
        return first + [rng.normal(0.0, 0.1, s) for s in shapes[1:]]
    if node.type == "PReLU":
        return [0.25 + rng.normal(0.0, 0.05, shapes[0])]
    weight = rng.normal(0.0, np.sqrt(2.0 / _fan_in(shapes[0], node)), shapes[0])
    return [weight] + [rng.normal(0.0, 0.05, s) for s in shapes[1:]]


def fill_random(graph: Graph, seed: int = 0) -> Graph:
    """Give every weighted node random float32 weights (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    for node in graph.nodes:
        if node.weight_shapes:
            node.weights = [np.asarray(b, dtype=np.float32) for b in _blobs_for(node, rng)]
    graph.has_weights = True
    return graph

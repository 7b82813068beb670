"""Random weights shaped like a trained net, for testing without a caffemodel.

Convolution/InnerProduct weights are He-scaled, biases small, BatchNorm
statistics near (0, 1) with a moving-average factor that is not 1, Scale
near 1, PReLU near 0.25, LSTM and RNN matrices scaled by their own fan-in.
`calibrate_batchnorm` then measures each
BatchNorm's statistics on a random forward pass, so activations stay in range
through deep residual nets. `synthetic_weights` does both: it is what
`synth-weights` writes and what `--random-weights` (run, convert, verify,
convert-all's `random_weights: true`) uses. "BatchNorm" here means every layer
type whose LayerDef names its statistics blobs (LayerDef.statistics,
caffe2x.layers.base.BatchStatistics), a fork's or a plugin's BN included.
"""

from __future__ import annotations

import numpy as np

from .frontend.input_values import random_inputs  # noqa: F401  (defined there; public here)
from .ir.graph import Graph, Node
from .layers.base import LAYERS, BatchStatistics


def synthetic_weights(graph: Graph, seed: int = 0) -> Graph:
    """Realistic random weights for every weighted node: He-scaled, then every BatchNorm-like
    layer's statistics measured on a random forward pass (seeded). The one recipe of
    `synth-weights` and `--random-weights`: uncalibrated statistics let a deep net's
    activations grow with depth until verify fails on rounding (an SE-ResNet-50 at 6e-2)."""
    return calibrate_batchnorm(fill_random(graph, seed), inputs=calibration_inputs(graph, seed))


def calibration_inputs(graph: Graph, seed: int = 0) -> dict:
    """The seeded random input synthetic weights measure statistics on: drawn like
    random_inputs(graph, seed), the input verify uses by default, but never equal to it. On
    its own calibration input a BatchNorm's output has a channel mean of exactly its shift, so
    a global pooling after it gives the difference of two equal numbers, and verify compared
    rounding noise (a 64 x 64 SE-ResNet-50 failed at 4e-2; on another input, 2e-3)."""
    return random_inputs(graph, (seed, 1))


def _statistics(node: Node) -> BatchStatistics | None:
    """The node's statistics blobs, if its type is BatchNorm-like (LayerDef.statistics)."""
    stats = LAYERS.get(node.type).statistics if node.type in LAYERS else None
    return stats(node.params) if callable(stats) else stats


def _measured(stats: BatchStatistics | None, node: Node) -> bool:
    """Whether the node keeps a mean and a variance blob that calibration can set."""
    return (stats is not None and stats.mean is not None and stats.variance is not None
            and max(stats.mean, stats.variance) < len(node.weights))


def _fan_in(shape: tuple[int, ...], node: Node) -> int:
    if node.type == "Deconvolution":
        return max(1, shape[0] * int(np.prod(shape[2:], dtype=np.int64)) // 4)
    if node.type == "InnerProduct" and getattr(node.params, "transpose", False):
        return max(1, shape[0])
    return max(1, int(np.prod(shape[1:], dtype=np.int64)))


# The moving-average factor of random BatchNorm statistics: not 1, so a target that forgets
# to divide by it is caught.
_FACTOR = 0.999


def _statistics_blobs(stats: BatchStatistics, shapes, rng: np.random.Generator) -> list[np.ndarray]:
    """Blobs of a BatchNorm-like layer, in its order: mean near 0, variance near 1 (both times
    the factor, as Caffe stores them), the factor, scale near 1, shift and others near 0."""
    factor = _FACTOR if stats.factor is not None else 1.0
    draw = {stats.mean: lambda shape: rng.normal(0.0, 0.1, shape) * factor,
            stats.variance: lambda shape: rng.uniform(0.5, 1.5, shape) * factor,
            stats.factor: lambda shape: np.full(shape, factor),
            stats.scale: lambda shape: 1.0 + rng.normal(0.0, 0.1, shape)}
    draw.pop(None, None)
    return [draw.get(index, lambda shape: rng.normal(0.0, 0.1, shape))(shape) for index, shape in enumerate(shapes)]


def _blobs_for(node: Node, rng: np.random.Generator) -> list[np.ndarray]:
    shapes = node.weight_shapes
    stats = _statistics(node)
    if stats is not None:
        return _statistics_blobs(stats, shapes, rng)
    if node.type in ("Scale", "Bias"):
        base = 1.0 if node.type == "Scale" and not node.params.two_bottoms else 0.0
        first = [base + rng.normal(0.0, 0.1, shapes[0])] if shapes else []
        return first + [rng.normal(0.0, 0.1, s) for s in shapes[1:]]
    if node.type == "PReLU":
        return [0.25 + rng.normal(0.0, 0.05, shapes[0])]
    if node.type in _RECURRENT:
        return [_recurrent_blob(shape, rng) for shape in shapes]
    weight = rng.normal(0.0, np.sqrt(2.0 / _fan_in(shapes[0], node)), shapes[0])
    return [weight] + [rng.normal(0.0, 0.05, s) for s in shapes[1:]]


# BVLC's LSTM and RNN: every matrix (W_x, W_x_static, W_hc / W_hh, W_ho) feeds sigmoid and tanh
# units, so each is scaled by its own fan-in (LeCun: pre-activations of unit variance, neither
# saturated nor vanishing over the steps). The generic recipe (He for W_x, N(0, 0.05) for the
# rest) gave an RNN (T 8, 32 outputs) a mean |o| of 0.16, the state changing it by 13%; with
# these, 0.44 and 52% (LSTM: 0.15 and 47%, either way), no output saturated.
_RECURRENT = frozenset({"LSTM", "RNN"})


def _recurrent_blob(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    if len(shape) == 2:
        return rng.normal(0.0, np.sqrt(1.0 / max(1, shape[1])), shape)
    return rng.normal(0.0, 0.05, shape)


def fill_random(graph: Graph, seed: int = 0) -> Graph:
    """Give every weighted node random float32 weights (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    for node in graph.nodes:
        if node.weight_shapes:
            node.weights = [np.asarray(b, dtype=np.float32) for b in _blobs_for(node, rng)]
    graph.has_weights = True
    return graph


def calibrate_batchnorm(graph: Graph, seed: int = 0, inputs: dict | None = None) -> Graph:
    """Set each BatchNorm-like layer's statistics (LayerDef.statistics) to those of its input
    on a random forward pass, so the layer normalizes as a trained one does. Random
    statistics alone let activations grow with depth (ResNet-50's logits reached 1.5e4, a
    one-hot softmax). A channel seen only once keeps its random statistics, and so does
    every layer of a net the reference cannot run (a plugin type registered without a
    kernel), which can still be converted. The forward pass runs on `inputs` (keyed by Caffe
    input name), by default random_inputs(graph, seed)."""
    from .reference import REFERENCE
    from .reference.executor import iter_forward

    batchnorms = {}
    for node in graph.nodes:
        if _measured(_statistics(node), node):
            batchnorms.setdefault(node.inputs[0], []).append(node)
    if not batchnorms or REFERENCE.missing([(n.name, n.type) for n in graph.nodes if n.type != "Input"]):
        return graph
    for node, outputs in iter_forward(graph, inputs or random_inputs(graph, seed), keep=set()):
        # The generator computes the next layer only when resumed: statistics set now are used.
        for value, blob in zip(node.outputs, outputs):
            for batchnorm in batchnorms.get(value, []):
                _set_statistics(batchnorm, blob)
    return graph


def _set_statistics(node: Node, blob: np.ndarray) -> None:
    stats = _statistics(node)
    axes = (0, *range(2, blob.ndim))
    if blob.ndim < 2 or blob.size // max(1, blob.shape[1]) < 2:
        return
    has_factor = stats.factor is not None and stats.factor < len(node.weights)
    factor = (float(node.weights[stats.factor].ravel()[0]) or 1.0) if has_factor else 1.0
    measured = {stats.mean: blob.mean(axis=axes, dtype=np.float64),
                stats.variance: np.maximum(blob.var(axis=axes, dtype=np.float64), 1e-4)}
    weights = list(node.weights)
    for index, value in measured.items():
        weights[index] = (value * factor).reshape(weights[index].shape).astype(np.float32)
    node.weights = weights


def save_weights(graph: Graph, path, force: bool = False) -> None:
    """Write the graph's weights as a caffemodel (every weighted layer, in net order)."""
    from .io.caffemodel_writer import write_caffemodel

    layers = [(node.name, node.type, list(zip(node.weights, node.weight_shapes)))
              for node in graph.nodes if node.weights]
    write_caffemodel(graph.name, layers, path, force)

"""Fold BatchNorm and Scale into one affine, and per-channel affines into
the Convolution or InnerProduct before them.

BatchNorm (global statistics) followed by a per-channel Scale becomes one
Scale with bias: y = a*x + b, a = gamma / sqrt(var + eps), b = beta - a*mean.
A per-channel Scale whose input comes only from a Convolution or
InnerProduct is then folded into its weights: W' = a*W, b' = a*bias + b.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..ir.graph import Graph, Node
from ..layers.affine import ScaleParams, operand_span
from ..layers.normalization import batch_norm_statistics
from .rewrite import clone, sole_reader


def _per_channel_scale(graph: Graph, node: Node | None) -> bool:
    if node is None or node.type != "Scale" or node.params.two_bottoms or not node.weights:
        return False
    shape = graph.shape(node.inputs[0])
    axis, operand = operand_span(node.params, [shape])
    return axis == 1 and len(shape) >= 2 and operand == (shape[1],)


def merge_scale_into_batchnorm(graph: Graph) -> Graph:
    """BatchNorm followed by a per-channel Scale becomes one affine BatchNorm
    (gamma, beta), as frameworks with trainable BatchNorm layers have it."""
    graph = clone(graph)
    for bn in [n for n in graph.nodes if n.type == "BatchNorm" and not n.params.affine]:
        follower = sole_reader(graph, bn.outputs[0])
        if not _per_channel_scale(graph, follower) or len(graph.shape(bn.inputs[0])) < 2:
            continue
        gamma, beta = (a.astype(np.float32) for a in _scale_affine(follower))
        merged = Node(bn.name, "BatchNorm", replace(bn.params, affine=True), list(bn.inputs),
                      list(follower.outputs), list(bn.bottoms), list(follower.tops),
                      weights=[*bn.weights, gamma, beta],
                      weight_shapes=[*bn.weight_shapes, gamma.shape, beta.shape],
                      fused=[*bn.fused, follower.name, *follower.fused])
        graph.values.pop(bn.outputs[0], None)
        graph.nodes[graph.nodes.index(bn)] = merged
        graph.nodes.remove(follower)
    return graph


def _bn_affine(node: Node) -> tuple[np.ndarray, np.ndarray]:
    mean, var = batch_norm_statistics(node.weights)
    scale = 1.0 / np.sqrt(var + node.params.eps)
    shift = -mean * scale
    if node.params.affine:
        gamma, beta = (np.asarray(w, np.float64) for w in node.weights[3:5])
        scale, shift = scale * gamma, shift * gamma + beta
    return scale, shift


def _scale_affine(node: Node) -> tuple[np.ndarray, np.ndarray]:
    gamma = np.asarray(node.weights[0], np.float64).reshape(-1)
    beta = np.asarray(node.weights[1], np.float64).reshape(-1) if node.params.bias_term else 0 * gamma
    return gamma, beta


def _affine_node(bn: Node, absorbed: list[Node], scale: np.ndarray, shift: np.ndarray) -> Node:
    last = absorbed[-1] if absorbed else bn
    node = Node(bn.name, "Scale", ScaleParams(1, 1, True, False), list(bn.inputs), list(last.outputs),
                list(bn.bottoms), list(last.tops),
                weights=[scale.astype(np.float32), shift.astype(np.float32)],
                weight_shapes=[scale.shape, shift.shape], fused=[*bn.fused, *[n.name for n in absorbed]])
    return node


def fold_batchnorm_scale(graph: Graph) -> Graph:
    """Every global-statistics BatchNorm becomes one affine Scale, absorbing a Scale after it."""
    graph = clone(graph)
    for bn in [n for n in graph.nodes if n.type == "BatchNorm"]:
        if not bn.params.use_global_stats or len(graph.shape(bn.inputs[0])) < 2:
            continue
        scale, shift = _bn_affine(bn)
        follower = sole_reader(graph, bn.outputs[0])
        absorbed = []
        if _per_channel_scale(graph, follower):
            gamma, beta = _scale_affine(follower)
            scale, shift = scale * gamma, shift * gamma + beta
            absorbed = [follower]
        merged = _affine_node(bn, absorbed, scale, shift)
        index = graph.nodes.index(bn)
        graph.nodes[index] = merged
        for node in absorbed:
            graph.nodes.remove(node)
            graph.values.pop(bn.outputs[0], None)
    return graph


def _fold_weights(producer: Node, scale: np.ndarray, shift: np.ndarray) -> list[np.ndarray]:
    weight = np.asarray(producer.weights[0], np.float64)
    if producer.type == "InnerProduct" and producer.params.transpose:
        weight = weight * scale[None, :]
    else:
        weight = weight * scale.reshape((-1,) + (1,) * (weight.ndim - 1))
    bias = np.asarray(producer.weights[1], np.float64) if producer.params.bias_term else 0.0
    return [weight.astype(np.float32), (bias * scale + shift).astype(np.float32)]


# Layers whose weights hold one row per output channel, bias after: a per-channel Scale folds in.
# The mobile forks' depthwise convolutions (caffe2x/families/mobile/depthwise.py) are
# Convolutions with Caffe's weight layout, their params a dataclass with bias_term.
FOLDS_A_SCALE = ("Convolution", "DepthwiseConvolution", "ConvolutionDepthwise", "InnerProduct")


def fold_into_convolution(graph: Graph) -> Graph:
    """A per-channel Scale right after a Convolution or InnerProduct goes into its weights."""
    graph = clone(graph)
    for producer in [n for n in graph.nodes if n.type in FOLDS_A_SCALE]:
        follower = sole_reader(graph, producer.outputs[0])
        if not producer.weights or not _per_channel_scale(graph, follower):
            continue
        if producer.type == "InnerProduct" and len(graph.shape(producer.outputs[0])) != 2:
            continue
        scale, shift = _scale_affine(follower)
        params = type(producer.params)(**{**producer.params.__dict__, "bias_term": True})
        weights = _fold_weights(producer, scale, shift)
        folded = Node(producer.name, producer.type, params, list(producer.inputs), list(follower.outputs),
                      list(producer.bottoms), list(follower.tops), weights=weights,
                      weight_shapes=[w.shape for w in weights],
                      fused=[*producer.fused, follower.name, *follower.fused])
        graph.values.pop(producer.outputs[0], None)
        graph.nodes[graph.nodes.index(producer)] = folded
        graph.nodes.remove(follower)
    return graph

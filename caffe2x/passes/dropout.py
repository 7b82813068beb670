"""Dropout is the identity at inference: remove it. A Dropout that scales at TEST
(Fast R-CNN's scale_train: false) becomes a Power layer y = scale * x instead."""

from __future__ import annotations

from ..ir.graph import Graph
from ..layers.activation import AffinePowerParams
from .rewrite import clone, drop_node, replace_uses


def scaling_dropout_as_power(graph: Graph) -> Graph:
    """Every Dropout that scales at TEST becomes Power(scale): a trainable target's own
    dropout layer would be the identity at inference."""
    graph = clone(graph)
    for node in graph.nodes:
        if node.type == "Dropout" and node.params.test_scale != 1.0:
            node.type, node.params = "Power", AffinePowerParams(power=1.0, scale=node.params.test_scale, shift=0.0)
    return graph


def remove_dropout(graph: Graph) -> Graph:
    graph = scaling_dropout_as_power(graph)
    for node in [n for n in graph.nodes if n.type == "Dropout"]:
        (source,), (result,) = node.inputs, node.outputs
        if result in graph.outputs and source in graph.inputs:
            continue  # input -> Dropout -> output: both names must survive, keep the node
        if result in graph.outputs:
            # Keep the output's name: the value feeding the Dropout takes it over.
            _rename_value(graph, source, result)
            replace_uses(graph, source, result)
        else:
            replace_uses(graph, result, source)
        drop_node(graph, node)
    return graph


def _rename_value(graph: Graph, old: str, new: str) -> None:
    for node in graph.nodes:
        node.outputs = [new if name == old else name for name in node.outputs]
    if old in graph.inputs:
        graph.inputs = [new if name == old else name for name in graph.inputs]
    value = graph.values.pop(old)
    graph.values[new] = type(value)(new, value.shape, value.top, value.producer, value.dtype)

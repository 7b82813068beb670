"""Dropout is the identity at inference: remove it."""

from __future__ import annotations

from ..ir.graph import Graph
from .rewrite import clone, drop_node, replace_uses


def remove_dropout(graph: Graph) -> Graph:
    graph = clone(graph)
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

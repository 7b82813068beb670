"""Helpers for passes: copy a graph and replace uses of a value."""

from __future__ import annotations

import copy

from ..ir.graph import Graph, Node


def clone(graph: Graph) -> Graph:
    """A copy whose node list, nodes and value table can be edited freely
    (weights arrays are shared; passes replace them, never write into them)."""
    fresh = copy.copy(graph)
    fresh.nodes = [copy.copy(node) for node in graph.nodes]
    for node in fresh.nodes:
        node.inputs, node.outputs = list(node.inputs), list(node.outputs)
        node.weights = list(node.weights)
    fresh.values = dict(graph.values)
    fresh.aliases = dict(graph.aliases)
    fresh.outputs = list(graph.outputs)
    return fresh


def replace_uses(graph: Graph, old: str, new: str) -> None:
    """Make every reader of value `old` read `new` instead (outputs and aliases too)."""
    for node in graph.nodes:
        node.inputs = [new if name == old else name for name in node.inputs]
    graph.outputs = [new if name == old else name for name in graph.outputs]
    graph.aliases = {key: new if value == old else value for key, value in graph.aliases.items()}


def sole_reader(graph: Graph, value: str) -> Node | None:
    """The only node reading `value`, or None if it has several readers or is a net output."""
    if value in graph.outputs:
        return None
    readers = [node for node in graph.nodes if value in node.inputs]
    return readers[0] if len(readers) == 1 else None


def drop_node(graph: Graph, node: Node) -> None:
    graph.nodes = [n for n in graph.nodes if n is not node]
    for name in node.outputs:
        if not any(name in n.inputs for n in graph.nodes) and name not in graph.outputs:
            graph.values.pop(name, None)

"""Cut a net at chosen layers (CLI --outputs): their tops become the net's outputs and
every layer they do not need is dropped, as if the prototxt ended there. Used to take
logits before a Softmax, or features for fine-tuning."""

from __future__ import annotations

import difflib

from ..errors import GraphError
from ..ir.graph import Graph
from .rewrite import clone


def cut_at(graph: Graph, layers: list[str]) -> Graph:
    """The graph whose outputs are the tops of `layers` (Caffe layer names), in that order,
    with only the layers and inputs they need. A layer name shared by several layers
    gives the tops of all of them."""
    chosen = _nodes_named(graph, layers)
    graph = clone(graph)
    outputs = list(dict.fromkeys(value for node in chosen for value in node.outputs))
    values, nodes = _ancestors(graph, outputs)
    graph.nodes = [node for node in graph.nodes if id(node) in nodes]
    graph.inputs = [name for name in graph.inputs if name in values]
    graph.outputs = outputs
    graph.output_tops = [graph.values[name].top for name in outputs]
    graph.values = {name: value for name, value in graph.values.items() if name in values}
    graph.aliases = {key: value for key, value in graph.aliases.items() if value in values}
    # What `inspect` lists: the kept layers, the input layers still read, the Splits kept as aliases.
    kept = {node.name for node in graph.nodes} | {layer for layer, _ in graph.aliases}
    input_tops = {graph.values[name].top for name in graph.inputs}
    graph.caffe_layers = [layer for layer in graph.caffe_layers
                          if layer.name in kept or set(layer.tops) & input_tops]
    return graph


def _nodes_named(graph: Graph, layers: list[str]):
    names = {node.name for node in graph.nodes}
    unknown = [name for name in layers if name not in names]
    if unknown:
        hints = [f"'{name}'" + (f" (did you mean '{close[0]}'?)" if (close := difflib.get_close_matches(name, names, 1))
                               else "") for name in unknown]
        raise GraphError(f"--outputs names no layer of the net: {', '.join(hints)}.")
    return [node for node in graph.nodes if node.name in layers]


def _ancestors(graph: Graph, outputs: list[str]) -> tuple[set[str], set[int]]:
    """The values and nodes (by identity: layers may share a name) the outputs depend on."""
    producer = {value: node for node in graph.nodes for value in node.outputs}
    values, nodes, todo = set(), set(), list(outputs)
    while todo:
        value = todo.pop()
        if value in values:
            continue
        values.add(value)
        node = producer.get(value)
        if node is not None:
            nodes.add(id(node))
            todo.extend(node.inputs)
            values.update(node.outputs)  # a kept layer keeps all its tops
    return values, nodes
